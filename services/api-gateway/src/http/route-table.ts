// Longer than 400 lines: the one route table of the public API, one entry per route, on purpose in one place.
/**
 * The one route table of the public API (../shared/API.md): per route, the service behind it, who may
 * call it, whether a stepped-up session is needed, its rate-limit class, whether it moves money
 * (Idempotency-Key required) and whether it is audited. `decideAccess` is the gateway's coarse
 * authorisation; services still check ownership and roles on their side.
 */
import { hasRoleAtLeast, type AppId, type Role } from '@wallet/contracts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
/** Least privilege that may call: `user` = any signed-in principal, `support` = support or admin. */
export type Audience = 'anonymous' | 'user' | 'support' | 'admin';
/**
 * `signup` (registration, e-mail verification) and `login` (sign-in, second factor, refresh, recovery):
 * every attempt per client address, generous (many people share an address); failed attempts are
 * throttled by identity per account and source.
 */
export type RateLimitClass = 'default' | 'signup' | 'login' | 'webhook';
/** Where a route is answered: a service through the platform, or the gateway itself. */
export type RouteTarget = { kind: 'service'; appId: Exclude<AppId, 'api-gateway'> } | { kind: 'gateway' };
/** How the caller proves who it is: the usual principal, or the payment provider's webhook signature. */
export type RouteAuth = 'principal' | 'webhook-signature';

export interface RouteSpec {
  method: HttpMethod;
  /** Public path pattern, `{name}` for one segment. */
  path: string;
  target: RouteTarget;
  access: Audience;
  stepUp: boolean;
  rateLimit: RateLimitClass;
  /** Money-moving: demands an Idempotency-Key. */
  movesMoney: boolean;
  /** Written to the audit log (every admin and high-risk call). */
  audit: boolean;
  auth: RouteAuth;
  /** Served only outside production (the dev outbox). */
  devOnly?: boolean;
  /** For a browser session: keep the stepped-up token server-side (`adopt-step-up`), or end the session (`end`). */
  browserSession?: 'adopt-step-up' | 'end';
}

type RouteInit = Pick<RouteSpec, 'method' | 'path' | 'target' | 'access'> &
  Partial<Omit<RouteSpec, 'method' | 'path' | 'target' | 'access'>>;

function route(init: RouteInit): RouteSpec {
  const spec: RouteSpec = {
    stepUp: false,
    rateLimit: 'default',
    movesMoney: false,
    audit: false,
    auth: 'principal',
    ...init,
  };
  // Every admin route needs the role AND a stepped-up session, and is audited: enforced here, not by discipline.
  if (spec.path.startsWith('/v1/admin/')) {
    spec.stepUp = true;
    spec.audit = true;
    if (spec.access === 'anonymous' || spec.access === 'user')
      throw new Error(`${spec.path}: admin routes need support or admin`);
  }
  if (spec.movesMoney) spec.audit = true;
  return spec;
}

const identity = { kind: 'service', appId: 'identity' } as const;
const ledger = { kind: 'service', appId: 'wallet-ledger' } as const;
const risk = { kind: 'service', appId: 'risk' } as const;
const notification = { kind: 'service', appId: 'notification' } as const;
const gateway = { kind: 'gateway' } as const;

export const ROUTES: readonly RouteSpec[] = [
  // Identity
  route({
    method: 'POST',
    path: '/v1/auth/register',
    target: identity,
    access: 'anonymous',
    rateLimit: 'signup',
  }),
  route({
    method: 'POST',
    path: '/v1/auth/verify-email',
    target: identity,
    access: 'anonymous',
    rateLimit: 'signup',
  }),
  // Beyond API.md (docs/api/identity-account-security.md): resend of the verification code.
  route({
    method: 'POST',
    path: '/v1/auth/verify-email/resend',
    target: identity,
    access: 'anonymous',
    rateLimit: 'signup',
  }),
  route({
    method: 'POST',
    path: '/v1/auth/login',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({
    method: 'POST',
    path: '/v1/auth/login/mfa',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({
    method: 'POST',
    path: '/v1/auth/refresh',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({ method: 'POST', path: '/v1/auth/logout', target: identity, access: 'user', browserSession: 'end' }),
  route({
    method: 'POST',
    path: '/v1/auth/step-up',
    target: identity,
    access: 'user',
    audit: true,
    browserSession: 'adopt-step-up',
  }),
  route({
    method: 'POST',
    path: '/v1/web/login',
    target: gateway,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({ method: 'POST', path: '/v1/web/logout', target: gateway, access: 'user' }),
  route({
    method: 'POST',
    path: '/v1/auth/recovery',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({
    method: 'POST',
    path: '/v1/auth/recovery/complete',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
    audit: true,
  }),
  route({ method: 'GET', path: '/v1/me', target: identity, access: 'user' }),
  route({
    method: 'POST',
    path: '/v1/me/mfa/totp',
    target: identity,
    access: 'user',
    audit: true,
  }),
  route({
    method: 'POST',
    path: '/v1/me/mfa/totp/confirm',
    target: identity,
    access: 'user',
    audit: true,
  }),
  route({
    method: 'DELETE',
    path: '/v1/me/mfa/totp',
    target: identity,
    access: 'user',
    stepUp: true,
    audit: true,
  }),
  // Beyond API.md (docs/api/identity-account-security.md): re-authentication, password change, recovery codes.
  route({
    method: 'POST',
    path: '/v1/auth/reauthenticate',
    target: identity,
    access: 'user',
    audit: true,
    browserSession: 'adopt-step-up',
  }),
  route({ method: 'POST', path: '/v1/me/password', target: identity, access: 'user', audit: true }),
  route({ method: 'POST', path: '/v1/me/mfa/recovery-codes', target: identity, access: 'user', audit: true }),
  route({ method: 'GET', path: '/v1/me/sessions', target: identity, access: 'user' }),
  route({ method: 'DELETE', path: '/v1/me/sessions/{id}', target: identity, access: 'user', audit: true }),
  // Beyond API.md: revoke every session but the current one.
  route({ method: 'DELETE', path: '/v1/me/sessions', target: identity, access: 'user', audit: true }),
  // Beyond API.md: passkeys (WebAuthn). Sign-in options and answers are anonymous attempts like a
  // password's; adding a passkey is audited, removing one needs step-up like removing the TOTP app.
  route({
    method: 'POST',
    path: '/v1/auth/passkey/options',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({
    method: 'POST',
    path: '/v1/auth/passkey/login',
    target: identity,
    access: 'anonymous',
    rateLimit: 'login',
  }),
  route({ method: 'POST', path: '/v1/auth/step-up/passkey/options', target: identity, access: 'user' }),
  route({
    method: 'POST',
    path: '/v1/auth/step-up/passkey',
    target: identity,
    access: 'user',
    audit: true,
    browserSession: 'adopt-step-up',
  }),
  route({ method: 'GET', path: '/v1/me/passkeys', target: identity, access: 'user' }),
  route({
    method: 'POST',
    path: '/v1/me/passkeys/registration/options',
    target: identity,
    access: 'user',
    audit: true,
  }),
  route({ method: 'POST', path: '/v1/me/passkeys', target: identity, access: 'user', audit: true }),
  route({
    method: 'DELETE',
    path: '/v1/me/passkeys/{id}',
    target: identity,
    access: 'user',
    stepUp: true,
    audit: true,
  }),
  route({ method: 'GET', path: '/.well-known/jwks.json', target: identity, access: 'anonymous' }),
  // Wallets and money
  route({ method: 'GET', path: '/v1/wallets', target: ledger, access: 'user' }),
  route({ method: 'POST', path: '/v1/wallets', target: ledger, access: 'user' }),
  route({ method: 'GET', path: '/v1/wallets/{walletId}', target: ledger, access: 'user' }),
  route({ method: 'GET', path: '/v1/wallets/{walletId}/transactions', target: ledger, access: 'user' }),
  route({ method: 'POST', path: '/v1/transfers', target: ledger, access: 'user', movesMoney: true }),
  route({ method: 'GET', path: '/v1/transfers/{transferId}', target: ledger, access: 'user' }),
  route({
    method: 'POST',
    path: '/v1/transfers/{transferId}/refunds',
    target: ledger,
    access: 'user',
    movesMoney: true,
  }),
  route({
    method: 'POST',
    path: '/v1/withdrawals',
    target: ledger,
    access: 'user',
    stepUp: true,
    movesMoney: true,
  }),
  // Idempotent on the provider's event id (the ledger's business), so no Idempotency-Key is demanded.
  route({
    method: 'POST',
    path: '/v1/webhooks/payments',
    target: ledger,
    access: 'anonymous',
    auth: 'webhook-signature',
    rateLimit: 'webhook',
    audit: true,
  }),
  // Notifications
  route({ method: 'GET', path: '/v1/me/notifications', target: notification, access: 'user' }),
  route({ method: 'PUT', path: '/v1/me/notification-preferences', target: notification, access: 'user' }),
  // Beyond API.md: read preferences back, and the phone number and push tokens SMS and push need.
  route({ method: 'GET', path: '/v1/me/notification-preferences', target: notification, access: 'user' }),
  route({ method: 'GET', path: '/v1/me/notification-channels', target: notification, access: 'user' }),
  route({
    method: 'PUT',
    path: '/v1/me/notification-channels',
    target: notification,
    access: 'user',
    audit: true,
  }),
  // Proving the phone number before any SMS goes to it (issue 20): a new code, and its confirmation.
  route({
    method: 'POST',
    path: '/v1/me/notification-channels/phone/verification',
    target: notification,
    access: 'user',
    audit: true,
  }),
  route({
    method: 'POST',
    path: '/v1/me/notification-channels/phone/verification/confirm',
    target: notification,
    access: 'user',
    audit: true,
  }),
  route({ method: 'GET', path: '/v1/dev/outbox', target: notification, access: 'anonymous', devOnly: true }),
  // Admin: role + step-up + audit (enforced by `route`)
  route({ method: 'GET', path: '/v1/admin/users', target: identity, access: 'support' }),
  route({ method: 'POST', path: '/v1/admin/users/{id}/lock', target: identity, access: 'support' }),
  route({ method: 'POST', path: '/v1/admin/users/{id}/unlock', target: identity, access: 'support' }),
  route({ method: 'PUT', path: '/v1/admin/users/{id}/roles', target: identity, access: 'admin' }),
  route({ method: 'POST', path: '/v1/admin/adjustments', target: ledger, access: 'admin', movesMoney: true }),
  // Beyond API.md: maker-checker adjustments. POST /v1/admin/adjustments only requests (202); a second
  // admin approves (the posting) or rejects. Approval is idempotent on the request id (no Idempotency-Key).
  route({ method: 'GET', path: '/v1/admin/adjustments', target: ledger, access: 'admin' }),
  route({ method: 'GET', path: '/v1/admin/adjustments/{requestId}', target: ledger, access: 'admin' }),
  route({
    method: 'POST',
    path: '/v1/admin/adjustments/{requestId}/approve',
    target: ledger,
    access: 'admin',
  }),
  route({
    method: 'POST',
    path: '/v1/admin/adjustments/{requestId}/reject',
    target: ledger,
    access: 'admin',
  }),
  route({ method: 'GET', path: '/v1/admin/dead-letters', target: gateway, access: 'support' }),
  route({ method: 'POST', path: '/v1/admin/dead-letters/replay', target: gateway, access: 'admin' }),
  route({ method: 'GET', path: '/v1/admin/audit-log', target: gateway, access: 'support' }),
  route({ method: 'GET', path: '/v1/admin/risk/flags', target: risk, access: 'support' }),
  // Beyond API.md: risk operations (close a flag, see its assessment, rules as data and their audit).
  route({ method: 'POST', path: '/v1/admin/risk/flags/{id}/close', target: risk, access: 'support' }),
  route({ method: 'GET', path: '/v1/admin/risk/assessments/{id}', target: risk, access: 'support' }),
  route({ method: 'GET', path: '/v1/admin/risk/rules', target: risk, access: 'support' }),
  route({ method: 'GET', path: '/v1/admin/risk/rules/changes', target: risk, access: 'support' }),
  route({ method: 'PUT', path: '/v1/admin/risk/rules', target: risk, access: 'admin' }),
  // Beyond API.md: the ledger's books check and the notification resend of API.md's notification section.
  route({ method: 'GET', path: '/v1/admin/ledger/reconcile', target: ledger, access: 'support' }),
  route({
    method: 'POST',
    path: '/v1/admin/notifications/{deliveryId}/resend',
    target: notification,
    access: 'support',
  }),
  // The merged OpenAPI document
  route({ method: 'GET', path: '/v1/openapi.json', target: gateway, access: 'anonymous' }),
];

export interface RouteMatch {
  route: RouteSpec;
  params: Record<string, string>;
}

/** Path parameters are opaque ids: no dots, slashes, percent signs or spaces ever reach a service. */
const PARAM_VALUE = /^[A-Za-z0-9_-]{1,128}$/;

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith('{') && w.endsWith('}')) {
      if (!PARAM_VALUE.test(g)) return undefined;
      params[w.slice(1, -1)] = g;
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

export type RouteLookup =
  | { kind: 'matched'; match: RouteMatch }
  | { kind: 'method-not-allowed'; allowed: HttpMethod[] }
  | { kind: 'not-found' };

/** Finds the route for a normalised path (no trailing slash, no query). HEAD is looked up as GET. */
export function lookupRoute(
  method: string,
  path: string,
  routes: readonly RouteSpec[] = ROUTES,
): RouteLookup {
  const effective = method === 'HEAD' ? 'GET' : method;
  const allowed: HttpMethod[] = [];
  for (const spec of routes) {
    const params = matchPattern(spec.path, path);
    if (!params) continue;
    if (spec.method === effective) return { kind: 'matched', match: { route: spec, params } };
    allowed.push(spec.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}

/** The path the target service serves: the public path minus `/v1`, parameters re-inserted. */
export function targetPath(match: RouteMatch): string {
  const publicPath = match.route.path.replace(/\{([^}]+)\}/g, (_all, name: string) =>
    encodeURIComponent(match.params[name] ?? ''),
  );
  return publicPath.startsWith('/v1/') ? publicPath.slice(3) : publicPath;
}

/** Who is calling, as far as authorisation cares. */
export interface AccessSubject {
  authenticated: boolean;
  roles: readonly Role[];
  acr: 'aal1' | 'aal2';
}

export type AccessDecision =
  | { allowed: true }
  | { allowed: false; status: 401; reason: 'unauthenticated' }
  | { allowed: false; status: 403; reason: 'forbidden' | 'step-up-required' };

function hasAudience(roles: readonly Role[], access: Audience): boolean {
  switch (access) {
    case 'anonymous':
    case 'user':
      return true;
    case 'support':
    case 'admin':
      return hasRoleAtLeast(roles, access);
  }
}

/** The gateway's coarse decision: 401 without a principal, 403 without the role, 403 step-up without aal2. */
export function decideAccess(route: RouteSpec, subject: AccessSubject): AccessDecision {
  if (route.access === 'anonymous') return { allowed: true };
  if (!subject.authenticated) return { allowed: false, status: 401, reason: 'unauthenticated' };
  if (!hasAudience(subject.roles, route.access)) return { allowed: false, status: 403, reason: 'forbidden' };
  if (route.stepUp && subject.acr !== 'aal2')
    return { allowed: false, status: 403, reason: 'step-up-required' };
  return { allowed: true };
}
