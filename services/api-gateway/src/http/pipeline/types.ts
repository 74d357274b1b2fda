/** What the pipeline's stages and the gateway's own handlers share. */
import type { Request, Response } from 'express';
import type { Kysely } from 'kysely';
import type { InternalSubject, Logger } from '@wallet/service-kit';
import type { Config } from '../../config.ts';
import type { GatewayDatabase } from '../../db/schema.ts';
import type { AccessTokenVerifier } from '../../auth/access-tokens.ts';
import type { ApiClientStore } from '../../auth/api-clients.ts';
import type { Principal } from '../../auth/principal.ts';
import type { RevocationList } from '../../auth/revocation.ts';
import type { NonceStore } from '../../infra/nonce-store.ts';
import type { RateLimits } from '../../infra/rate-limits.ts';
import type { WebSessionStore } from '../../web/sessions.ts';
import type { RouteMatch } from '../route-table.ts';
import type { Forwarder } from '../forward.ts';

export interface GatewayDeps {
  config: Config;
  logger: Logger;
  db: Kysely<GatewayDatabase>;
  forwarder: Forwarder;
  accessTokens: AccessTokenVerifier;
  revocations: RevocationList;
  webSessions: WebSessionStore;
  apiClients: ApiClientStore;
  rateLimits: RateLimits;
  nonces: NonceStore;
  /** Routes the gateway answers itself, by route path. */
  localHandlers: Record<string, LocalHandler>;
}

export interface CsrfUtilities {
  /** Issues a CSRF token bound to the browser session (and sets its cookie). */
  issue(req: Request, res: Response, sessionIdHash: string): string;
  valid(req: Request, sessionIdHash: string): boolean;
}

export interface LocalContext {
  req: Request;
  res: Response;
  match: RouteMatch;
  principal: Principal;
  subject: InternalSubject;
  deps: GatewayDeps;
  csrf: CsrfUtilities;
}

/** Answers the request and returns the status for the audit log. */
export type LocalHandler = (ctx: LocalContext) => Promise<number>;
