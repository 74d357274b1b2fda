/** API shapes shared by several services (pagination, internal identity of a caller). */
import { z } from 'zod';
import { cursorParamSchema } from './pagination.ts';

/** `?limit&cursor` of every list (cursors: pagination.ts). */
export const paginationQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: cursorParamSchema.optional(),
});
export type PaginationQuery = z.infer<typeof paginationQuerySchema>;

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * The role hierarchy, least to most: each role may do everything the roles before it may (support
 * what a user may, admin what support may). Services ask `hasRoleAtLeast`, never for a list of names.
 */
export const ROLES = ['user', 'support', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** True when one of `roles` is `minimum` or above it in the hierarchy. */
export function hasRoleAtLeast(roles: readonly Role[], minimum: Role): boolean {
  const floor = ROLES.indexOf(minimum);
  return roles.some((role) => ROLES.indexOf(role) >= floor);
}

/** `roles` plus the base role everyone holds, without duplicates, in hierarchy order. */
export function withBaseRole(roles: readonly Role[]): Role[] {
  const held = new Set<Role>(['user', ...roles]);
  return ROLES.filter((role) => held.has(role));
}

export const ACR_VALUES = ['aal1', 'aal2'] as const;
export const acrSchema = z.enum(ACR_VALUES);
export type Acr = z.infer<typeof acrSchema>;
export const APP_IDS = ['identity', 'wallet-ledger', 'risk', 'notification', 'api-gateway'] as const;
export type AppId = (typeof APP_IDS)[number];
export const appIdSchema = z.enum(APP_IDS);

/**
 * Claims of the short-lived internal JWT minted for every call into a service (audience = the target
 * app id, 60 s). The gateway mints one per client request (subject = the user); a service calling
 * another (the ledger asking risk) mints its own with itself as issuer and the user as subject.
 * Services trust a caller only through these claims, never through its network position.
 */
export const internalClaimsSchema = z.object({
  iss: appIdSchema,
  aud: z.string(),
  sub: z.string().min(1),
  sid: z.string().nullable().optional(),
  roles: z.array(roleSchema).default([]),
  acr: acrSchema.default('aal1'),
  /** Caller context that risk and audit need. */
  ip: z.string().nullable().optional(),
  deviceId: z.string().nullable().optional(),
  userAgent: z.string().nullable().optional(),
  requestId: z.string().optional(),
  exp: z.number(),
  iat: z.number(),
});
export type InternalClaims = z.infer<typeof internalClaimsSchema>;

/** Header carrying the internal JWT (the Authorization header stays free for the sidecar). */
export const INTERNAL_TOKEN_HEADER = 'x-internal-token';

/** Internal-token subject for calls on behalf of nobody (registration, login, public reads). */
export const ANONYMOUS_SUBJECT = 'anonymous';
/** Internal-token subject for a payment-provider webhook the gateway has verified. */
export const PAYMENT_PROVIDER_SUBJECT = 'system:payment-provider';

/**
 * Access tokens issued by identity and verified by the gateway against identity's JWKS.
 * ES256, `kid` in the header, 10 minutes (a step-up token lives no longer than its 5-minute window).
 */
export const ACCESS_TOKEN_ISSUER = 'wallet.identity';
export const ACCESS_TOKEN_AUDIENCE = 'wallet-api';
export const accessTokenClaimsSchema = z.object({
  iss: z.literal(ACCESS_TOKEN_ISSUER),
  aud: z.union([z.literal(ACCESS_TOKEN_AUDIENCE), z.array(z.string())]),
  sub: z.string().min(1),
  sid: z.string().min(1),
  roles: z.array(roleSchema),
  acr: acrSchema,
  amr: z.array(z.string()),
  auth_time: z.number(),
  exp: z.number(),
  iat: z.number(),
  jti: z.string(),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaimsSchema>;

/** Idempotency-Key as API.md defines it. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
