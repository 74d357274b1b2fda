/**
 * notification's HTTP routes (public API.md paths without `/v1`). Every route demands a verified
 * internal token; user routes act on the caller's own data only; admin routes check role and step-up
 * again on this side of the gateway.
 */
import type { Express, Response } from 'express';
import type { Kysely, Transaction } from 'kysely';
import { findDelivery, insertResend, listDeliveryHistory } from '../db/deliveries.ts';
import { listDevOutbox } from '../db/dev-outbox.ts';
import { ANONYMOUS_SUBJECT, type InternalClaims } from '@wallet/contracts';
import type { Platform } from '@wallet/platform';
import {
  getCaller,
  parseOrThrow,
  problems,
  requireInternalCaller,
  requireRole,
  requireStepUp,
  type InternalTokenVerifier,
  type Logger,
  mountDeadLetterRoutes,
} from '@wallet/service-kit';
import type { NotificationDatabase } from '../db/schema.ts';
import { loadPreferences, lockPreferences, savePreferences } from '../db/preferences.ts';
import { findRecipient, lockRecipient, setRecipientChannels, type Recipient } from '../db/recipients.ts';
import {
  closeOpenVerifications,
  confirmPhoneCode,
  phoneProblems,
  requestPhoneCode,
  type PhoneCodePolicy,
} from '../db/phone-verifications.ts';
import type { TemplateRenderer } from '../templates/renderer.ts';
import {
  applyPreferencesUpdate,
  describePreferences,
  preferencesUpdateSchema,
} from '../domain/preferences.ts';
import { replayServiceDeadLetters } from '../delivery/dead-letters.ts';
import { buildOpenApiDocument } from './openapi.ts';
import {
  channelsUpdateSchema,
  deliveryIdParamsSchema,
  devOutboxQuerySchema,
  emptyBodySchema,
  historyQuerySchema,
  phoneCodeConfirmSchema,
} from './schemas.ts';

export interface RouteDeps {
  verifier: InternalTokenVerifier;
  db: Kysely<NotificationDatabase>;
  readDb: Kysely<NotificationDatabase>;
  platform: Platform;
  logger: Logger;
  devOutbox: boolean;
  /** Renders the phone verification SMS (kept with the code masked). */
  renderer: TemplateRenderer;
  /** Phone verification codes: hash key, lifetime, guesses and request limits. */
  phoneCodes: PhoneCodePolicy;
  /** An SMS provider (or the dev outbox) is configured: phone numbers can be verified. */
  smsAvailable: boolean;
  /** Look for work now (after a resend). */
  wakeWorker(): void;
}

/** The caller must be a signed-in user (not the anonymous or a system subject). */
function requireUser(res: Response): InternalClaims {
  const caller = getCaller(res);
  if (caller.sub === ANONYMOUS_SUBJECT || caller.sub.startsWith('system:')) throw problems.unauthenticated();
  return caller;
}

function requireSupportStaff(res: Response): InternalClaims {
  requireRole(res, 'support');
  return requireStepUp(res);
}

function channelsView(recipient: Recipient | undefined) {
  return {
    phone: recipient?.phone ?? null,
    phoneVerified: recipient?.phoneVerified ?? false,
    pushTokens: recipient?.pushTokens ?? [],
  };
}

export function mountRoutes(app: Express, deps: RouteDeps): void {
  const { db, readDb } = deps;
  app.use(requireInternalCaller(deps.verifier));

  const openApi = buildOpenApiDocument({ devOutbox: deps.devOutbox });
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });

  app.get('/me/notifications', async (req, res) => {
    const caller = requireUser(res);
    const query = parseOrThrow(historyQuerySchema, req.query, 'query');
    res.json(await listDeliveryHistory(readDb, caller.sub, query));
  });

  app.get('/me/notification-preferences', async (_req, res) => {
    const caller = requireUser(res);
    res.json(describePreferences(await loadPreferences(readDb, caller.sub)));
  });

  app.put('/me/notification-preferences', async (req, res) => {
    const caller = requireUser(res);
    const update = parseOrThrow(preferencesUpdateSchema, req.body, 'body');
    const saved = await db.transaction().execute(async (trx) => {
      // Row lock on the user's preference rows: two concurrent PUTs apply one after the other.
      const current = await lockPreferences(trx, caller.sub);
      const changes = applyPreferencesUpdate(current, update);
      await savePreferences(trx, caller.sub, changes);
      return { ...current, ...changes };
    });
    req.log.info({ userId: caller.sub }, 'notification preferences changed');
    res.json(describePreferences(saved));
  });

  app.get('/me/notification-channels', async (_req, res) => {
    const caller = requireUser(res);
    // The primary: a code just confirmed must show as verified.
    res.json(channelsView(await findRecipient(db, caller.sub)));
  });

  const requestCode = (
    trx: Transaction<NotificationDatabase>,
    userId: string,
    phone: string,
    locale: string,
  ) => {
    // Without an SMS channel no code can reach the number, so it could never be verified.
    if (!deps.smsAvailable)
      throw problems.conflict('SMS is not offered here; a phone number cannot be verified.');
    return requestPhoneCode(trx, { userId, phone, locale, renderer: deps.renderer, policy: deps.phoneCodes });
  };

  app.put('/me/notification-channels', async (req, res) => {
    const caller = requireUser(res);
    const body = parseOrThrow(channelsUpdateSchema, req.body, 'body');
    const { recipient, codeSent } = await db.transaction().execute(async (trx) => {
      const current = await lockRecipient(trx, caller.sub);
      // A new number is stored unverified and gets a code; the same number keeps its state.
      const newPhone = body.phone != null && body.phone !== current?.phone ? body.phone : null;
      if (newPhone) await requestCode(trx, caller.sub, newPhone, current?.locale ?? 'en');
      else if (body.phone === null) await closeOpenVerifications(trx, caller.sub);
      const saved = await setRecipientChannels(trx, caller.sub, {
        ...(body.phone === undefined ? {} : { phone: body.phone }),
        ...(body.pushTokens === undefined ? {} : { pushTokens: [...new Set(body.pushTokens)] }),
      });
      return { recipient: saved, codeSent: newPhone !== null };
    });
    if (codeSent) {
      req.log.info({ userId: caller.sub }, 'phone number set; verification code queued');
      deps.wakeWorker();
    }
    res.json({ ...channelsView(recipient), codeSent });
  });

  app.post('/me/notification-channels/phone/verification', async (req, res) => {
    const caller = requireUser(res);
    parseOrThrow(emptyBodySchema, req.body ?? {}, 'body');
    await db.transaction().execute(async (trx) => {
      const current = await lockRecipient(trx, caller.sub);
      if (!current?.phone) throw problems.conflict('No phone number is set.');
      if (current.phoneVerified) throw problems.conflict('The phone number is already verified.');
      await requestCode(trx, caller.sub, current.phone, current.locale);
    });
    req.log.info({ userId: caller.sub }, 'phone verification code queued again');
    deps.wakeWorker();
    res.status(202).json({ codeSent: true });
  });

  app.post('/me/notification-channels/phone/verification/confirm', async (req, res) => {
    const caller = requireUser(res);
    const body = parseOrThrow(phoneCodeConfirmSchema, req.body, 'body');
    // A wrong guess is committed (it counts against the code) before the 400 is answered.
    const outcome = await db
      .transaction()
      .execute((trx) =>
        confirmPhoneCode(trx, { userId: caller.sub, code: body.code, policy: deps.phoneCodes }),
      );
    if (outcome === 'wrong') throw phoneProblems.invalidCode();
    req.log.info({ userId: caller.sub }, 'phone number verified');
    res.json(channelsView(await findRecipient(db, caller.sub)));
  });

  app.post('/admin/notifications/:deliveryId/resend', async (req, res) => {
    const caller = requireSupportStaff(res);
    const { deliveryId } = parseOrThrow(deliveryIdParamsSchema, req.params, 'params');
    const original = await findDelivery(db, deliveryId);
    if (!original) throw problems.notFound('No such delivery.');
    if (original.sensitive) {
      throw problems.conflict(
        'Messages with one-time codes are never resent; the user must request a new code.',
      );
    }
    if (original.status === 'pending' || original.status === 'sending') {
      throw problems.conflict('The delivery is still in progress.');
    }
    const id = await insertResend(db, original);
    req.log.info({ deliveryId: id, resendOf: original.id, by: caller.sub }, 'delivery resent by support');
    deps.wakeWorker();
    res.status(202).json({ deliveryId: id, resendOf: original.id, status: 'pending' });
  });

  mountDeadLetterRoutes(app, {
    appId: 'notification',
    db,
    platform: deps.platform,
    async replay(selector) {
      const result = await replayServiceDeadLetters(db, deps.platform, selector);
      if (result.replayed.length > 0) deps.wakeWorker();
      return result;
    },
  });
  if (deps.devOutbox) {
    // Non-production only (the config refuses it in production): the messages as users would get them.
    app.get('/dev/outbox', async (req, res) => {
      const query = parseOrThrow(devOutboxQuerySchema, req.query, 'query');
      res.json({ items: await listDevOutbox(db, query) });
    });
  }
}
