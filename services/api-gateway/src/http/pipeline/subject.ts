/** Who is calling, as the services behind the gateway are told in the internal token. */
import type { Request } from 'express';
import { ANONYMOUS_SUBJECT, PAYMENT_PROVIDER_SUBJECT } from '@wallet/contracts';
import type { InternalSubject } from '@wallet/service-kit';
import type { Principal } from '../../auth/principal.ts';

const DEVICE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's address (X-Forwarded-For only from TRUSTED_PROXIES, through Express's `trust proxy`). */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/**
 * The caller, not the request: the request id travels in `x-request-id` (the forwarder sets it), so
 * one person's token to one service is minted once and reused until shortly before it expires
 * (`createInternalTokenSigner`), and the service verifies it once (its verifier's cache).
 */
export function internalSubjectFor(req: Request, principal: Principal): InternalSubject {
  const deviceHeader = req.get('x-device-id');
  const context = {
    ip: clientIp(req),
    userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
    deviceId: deviceHeader && DEVICE_ID.test(deviceHeader) ? deviceHeader : null,
  };
  switch (principal.kind) {
    case 'anonymous':
      return { sub: ANONYMOUS_SUBJECT, ...context };
    case 'provider':
      return { sub: PAYMENT_PROVIDER_SUBJECT, ...context };
    case 'user':
      return {
        sub: principal.sub,
        sid: principal.sid,
        roles: principal.roles,
        acr: principal.acr,
        ...context,
      };
  }
}
