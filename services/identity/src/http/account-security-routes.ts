/**
 * Routes of the account-security use cases (ASVS 5.0 L2 chapters 6 and 7; application/account-security.ts):
 * re-authentication, password change, recovery-code regeneration, resend of the verification code.
 * Mounted by `mountRoutes` after the internal-caller checks; their schemas and OpenAPI operations live
 * here too.
 */
import type { Express, Request, Response } from 'express';
import { z } from 'zod';
import { parseOrThrow } from '@wallet/service-kit';
import { emailSchema } from '../domain/email.ts';
import {
  acceptVerificationResend,
  changePassword,
  reauthenticate,
  regenerateRecoveryCodes,
} from '../application/account-security.ts';
import type { BackgroundTasks } from '../application/background-tasks.ts';
import type { IdentityDeps, RequestMeta } from '../application/context.ts';
import type { UserSession } from '../application/account.ts';

const passwordInput = z.string().min(1).max(1024);

/** Offered after every factor change: end the other sessions too (ASVS 7.4.3). */
export const signOutOtherSessionsField = z
  .boolean()
  .optional()
  .describe('Also end every other session of the account (the current one stays).');

export const verificationResendBody = z.object({ email: emailSchema });
export const reauthenticateBody = z.object({
  password: passwordInput,
  code: z
    .string()
    .trim()
    .min(6)
    .max(32)
    .optional()
    .describe('TOTP or recovery code: required when the account has a second factor'),
});
export const changePasswordBody = z.object({
  currentPassword: passwordInput,
  newPassword: passwordInput,
  signOutOtherSessions: z
    .boolean()
    .optional()
    .describe('End every other session of the account; default true'),
});
export const regenerateRecoveryCodesBody = z
  .object({ signOutOtherSessions: signOutOtherSessionsField })
  .default({});
export const signOutOtherSessionsQuery = z.object({
  signOutOtherSessions: z.enum(['true', 'false']).optional(),
});

export const otherSessionsFields = {
  otherSessionsSignedOut: z.number().int().describe('Other sessions this change ended'),
  otherActiveSessions: z
    .number()
    .int()
    .describe('Other sessions still open (offer to end them: DELETE /v1/me/sessions)'),
};
export const otherSessionsResponse = z.object(otherSessionsFields);
export const reauthenticatedResponse = z.object({
  accessToken: z.string(),
  expiresIn: z.number().int(),
  reauthenticatedUntil: z.iso.datetime(),
});
export const regeneratedCodesResponse = z.object({
  recoveryCodes: z.array(z.string()).length(10),
  ...otherSessionsFields,
});

type MetaOf = (req: Request, res: Response) => RequestMeta;
type SessionOf = (res: Response) => Promise<UserSession>;

export function mountAccountSecurityRoutes(
  app: Express,
  deps: IdentityDeps & { background: BackgroundTasks },
  helpers: { metaOf: MetaOf; requireUserSession: SessionOf },
): void {
  const { metaOf, requireUserSession } = helpers;

  app.post('/auth/verify-email/resend', (req, res) => {
    const body = parseOrThrow(verificationResendBody, req.body, 'body');
    acceptVerificationResend(deps, deps.background, body, metaOf(req, res));
    res.status(202).end();
  });

  app.post('/auth/reauthenticate', async (req, res) => {
    const session = await requireUserSession(res);
    const body = parseOrThrow(reauthenticateBody, req.body, 'body');
    res.json(await reauthenticate(deps, session, body, metaOf(req, res)));
  });

  app.post('/me/password', async (req, res) => {
    const session = await requireUserSession(res);
    const body = parseOrThrow(changePasswordBody, req.body, 'body');
    res.json(
      await changePassword(
        deps,
        session,
        { ...body, signOutOtherSessions: body.signOutOtherSessions ?? true },
        metaOf(req, res),
      ),
    );
  });

  app.post('/me/mfa/recovery-codes', async (req, res) => {
    const session = await requireUserSession(res);
    const body = parseOrThrow(regenerateRecoveryCodesBody, req.body ?? {}, 'body');
    res.json(
      await regenerateRecoveryCodes(
        deps,
        session,
        { signOutOtherSessions: body.signOutOtherSessions ?? false },
        metaOf(req, res),
      ),
    );
  });
}

type OperationBuilder = (op: {
  summary: string;
  tags: string[];
  body?: z.ZodType;
  ok: { status: number; schema?: z.ZodType; description: string };
  errors: number[];
  security?: boolean;
  stepUp?: boolean;
  description?: string;
}) => Record<string, unknown>;

const REAUTH_NOTE =
  'Needs a full authentication (every factor of the account) within the last 5 minutes (`REAUTH_WINDOW_SECONDS`): the sign-in, or `POST /v1/auth/reauthenticate`; otherwise 403 `reauthentication-required`.';
const THROTTLE_NOTE =
  'A wrong password or code counts as a failed sign-in (throttled per account and client address; 429 `rate-limited` with Retry-After).';

/** OpenAPI paths of these routes (public paths, with `/v1`). */
export function accountSecurityPaths(operation: OperationBuilder): Record<string, unknown> {
  return {
    '/v1/auth/verify-email/resend': {
      post: operation({
        summary: 'Send a new e-mail verification code (always 202)',
        description:
          'Answered at once whatever the address; an unverified account gets a new code (the previous one stops working), at most one a minute and 5 an hour (`CODE_RESEND_INTERVAL_SECONDS`, `CODE_RESEND_MAX_PER_HOUR`); beyond, silently none.',
        tags: ['auth'],
        body: verificationResendBody,
        ok: { status: 202, description: 'Accepted' },
        errors: [400, 429],
        security: false,
      }),
    },
    '/v1/auth/reauthenticate': {
      post: operation({
        summary: 'Prove every factor again before changing one',
        description: `The password, and the code of the second factor when the account has one. Opens the window in which factors may change (and, with a second factor, the step-up window). ${THROTTLE_NOTE}`,
        tags: ['auth'],
        body: reauthenticateBody,
        ok: { status: 200, schema: reauthenticatedResponse, description: 'A fresh access token' },
        errors: [400, 401, 403, 429],
      }),
    },
    '/v1/me/password': {
      post: operation({
        summary: 'Change the password (the current one is required)',
        description: `The other sessions end unless \`signOutOtherSessions\` is false; the user is e-mailed (\`password.changed\`). ${THROTTLE_NOTE} Wrong current password: 403 \`invalid-credentials\`. A new password that breaks the rules or is in the breached-password list: 400.`,
        tags: ['me'],
        body: changePasswordBody,
        ok: { status: 200, schema: otherSessionsResponse, description: 'Changed' },
        errors: [400, 401, 403, 409, 429],
      }),
    },
    '/v1/me/mfa/recovery-codes': {
      post: operation({
        summary: 'Replace the recovery codes (shown once)',
        description: `Every previous code stops working; the user is e-mailed (\`mfa.changed\`). ${REAUTH_NOTE}`,
        tags: ['me'],
        body: regenerateRecoveryCodesBody,
        ok: { status: 200, schema: regeneratedCodesResponse, description: 'New recovery codes' },
        errors: [400, 401, 403],
      }),
    },
  };
}

export const REAUTHENTICATION_NOTE = REAUTH_NOTE;
