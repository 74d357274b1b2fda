/** Request and response shapes of identity's HTTP API (zod: parsed at the edge, and the OpenAPI source). */
import { z } from 'zod';
import { paginationQuerySchema, roleSchema } from '@wallet/contracts';
import { emailSchema, normaliseEmail } from '../domain/email.ts';

/** Long enough for any acceptable password, short enough that nobody makes us argon2 a megabyte. */
const passwordInput = z.string().min(1).max(1024);
const deviceName = z.string().trim().min(1).max(100);
const opaque = z.string().min(1).max(256);

export const registerBody = z.object({
  email: emailSchema,
  password: passwordInput,
  displayName: z.string().trim().min(1).max(100).optional(),
});
export const verifyEmailBody = z.object({
  email: emailSchema,
  code: z.string().regex(/^[0-9]{6}$/, 'a 6-digit code'),
});
export const loginBody = z.object({
  email: emailSchema,
  password: passwordInput,
  deviceName: deviceName.optional(),
});
export const loginMfaBody = z.object({ mfaToken: opaque, code: z.string().trim().min(6).max(32) });
export const refreshBody = z.object({ refreshToken: opaque });
export const stepUpBody = z.object({ code: z.string().trim().min(6).max(32) });
export const recoveryBody = z.object({ email: emailSchema });
export const recoveryCompleteBody = z.object({
  email: emailSchema,
  code: z.string().regex(/^[0-9]{8}$/, 'an 8-digit code'),
  newPassword: passwordInput,
});
export const totpConfirmBody = z.object({
  code: z
    .string()
    .trim()
    .regex(/^[0-9]{6}$/, 'a 6-digit code'),
  signOutOtherSessions: z
    .boolean()
    .optional()
    .describe('Also end every other session of the account (the current one stays).'),
});
export const rolesBody = z.object({ roles: z.array(roleSchema).min(1).max(3) });
export const lockBody = z.object({ reason: z.string().trim().min(1).max(500).optional() }).default({});
export const adminUsersQuery = paginationQuerySchema.extend({
  email: z.string().max(254).transform(normaliseEmail).optional(),
});
export const sessionIdParam = z.object({ id: z.uuid() });
export const userIdParam = z.object({ id: z.uuid() });

export const tokenResponse = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int(),
  sessionId: z.uuid(),
});
export const mfaRequiredResponse = z.object({ mfaRequired: z.literal(true), mfaToken: z.string() });
export const stepUpResponse = z.object({ accessToken: z.string(), expiresIn: z.number().int() });
export const meResponse = z.object({
  userId: z.uuid(),
  email: z.email(),
  emailVerified: z.boolean(),
  roles: z.array(roleSchema),
  mfaEnabled: z.boolean(),
  displayName: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
export const totpEnrolmentResponse = z.object({ secret: z.string(), otpauthUrl: z.string() });
export const recoveryCodesResponse = z.object({
  recoveryCodes: z.array(z.string()).length(10),
  otherSessionsSignedOut: z.number().int().describe('Other sessions this change ended'),
  otherActiveSessions: z
    .number()
    .int()
    .describe('Other sessions still open (offer to end them: DELETE /v1/me/sessions)'),
});
export const sessionView = z.object({
  sessionId: z.uuid(),
  deviceName: z.string().nullable(),
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  current: z.boolean(),
});
export const sessionsResponse = z.object({ items: z.array(sessionView), nextCursor: z.string().nullable() });
export const revokedResponse = z.object({ revoked: z.number().int() });
export const adminUserView = z.object({
  userId: z.uuid(),
  email: z.email(),
  displayName: z.string().nullable(),
  emailVerified: z.boolean(),
  roles: z.array(roleSchema),
  mfaEnabled: z.boolean(),
  status: z.enum(['active', 'locked']),
  lockedReason: z.string().nullable(),
  createdAt: z.iso.datetime(),
});
export const adminUsersResponse = z.object({
  items: z.array(adminUserView),
  nextCursor: z.string().nullable(),
});
export const rolesResponse = z.object({ userId: z.uuid(), roles: z.array(roleSchema) });
/** notification -> identity: mint the one-time code of a pending reference for the message it sends. */
export const codeRefParam = z.object({ ref: z.uuid() });
export const issueCodeBody = z.object({ recipient: z.string().trim().min(3).max(254) });
export const issuedCodeResponse = z.object({
  purpose: z.enum(['email-verification', 'recovery']),
  code: z.string(),
  expiresAt: z.iso.datetime({ offset: true }),
});
export const sessionStatusResponse = z.object({
  active: z.boolean(),
  userId: z.uuid().nullable(),
  roles: z.array(roleSchema),
});
export const jwksResponse = z.object({
  keys: z.array(
    z.object({
      kty: z.string(),
      kid: z.string(),
      alg: z.string(),
      use: z.string(),
      crv: z.string(),
      x: z.string(),
      y: z.string(),
    }),
  ),
});
