/**
 * The passkey routes (public paths without `/v1`). Mounted after `mountRoutes`, so the internal-token
 * check, the caller allow-list and `Cache-Control: no-store` already apply.
 */
import type { Express, Response } from 'express';
import { getCaller, parseOrThrow, requireStepUp } from '@wallet/service-kit';
import {
  deletePasskey,
  finishPasskeyRegistration,
  finishPasskeySignIn,
  finishPasskeyStepUp,
  listPasskeys,
  startPasskeyRegistration,
  startPasskeySignIn,
  startPasskeyStepUp,
  type PasskeyDeps,
  type PasskeySession,
} from '../application/passkeys.ts';
import { metaOf, requireUserSession as liveSession } from './routes.ts';
import * as s from './passkey-schemas.ts';

/** The caller's live session, with its token's assurance (for the step-up checks). */
async function requireUserSession(deps: PasskeyDeps, res: Response): Promise<PasskeySession> {
  const session = await liveSession(deps, res);
  return { ...session, acr: session.caller.acr };
}

export function mountPasskeyRoutes(app: Express, deps: PasskeyDeps): void {
  // --- signing in: passwordless, or the second step after a password ----------------------------
  app.post('/auth/passkey/options', async (req, res) => {
    const body = parseOrThrow(s.passkeySignInOptionsBody, req.body ?? {}, 'body');
    res.json(await startPasskeySignIn(deps, body));
  });
  app.post('/auth/passkey/login', async (req, res) => {
    const body = parseOrThrow(s.passkeySignInBody, req.body, 'body');
    res.json(
      await finishPasskeySignIn(
        deps,
        { ...body, deviceName: body.deviceName ?? null },
        metaOf(req, getCaller(res)),
      ),
    );
  });

  // --- step-up -----------------------------------------------------------------------------------
  app.post('/auth/step-up/passkey/options', async (_req, res) => {
    const session = await requireUserSession(deps, res);
    res.json(await startPasskeyStepUp(deps, session));
  });
  app.post('/auth/step-up/passkey', async (req, res) => {
    const session = await requireUserSession(deps, res);
    const body = parseOrThrow(s.passkeyStepUpBody, req.body, 'body');
    res.json(await finishPasskeyStepUp(deps, session, body));
  });

  // --- the user's passkeys -------------------------------------------------------------------------
  app.get('/me/passkeys', async (_req, res) => {
    const session = await requireUserSession(deps, res);
    res.json(await listPasskeys(deps, session.userId));
  });
  app.post('/me/passkeys/registration/options', async (_req, res) => {
    const session = await requireUserSession(deps, res);
    res.json(await startPasskeyRegistration(deps, session));
  });
  app.post('/me/passkeys', async (req, res) => {
    const session = await requireUserSession(deps, res);
    const body = parseOrThrow(s.passkeyRegistrationBody, req.body, 'body');
    const created = await finishPasskeyRegistration(deps, session, { ...body, name: body.name ?? null });
    res.status(201).json(created);
  });
  app.delete('/me/passkeys/:id', async (req, res) => {
    requireStepUp(res);
    const session = await requireUserSession(deps, res);
    const { id } = parseOrThrow(s.passkeyIdParam, req.params, 'params');
    await deletePasskey(deps, session, id);
    res.status(204).end();
  });
}
