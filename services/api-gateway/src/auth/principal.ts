/** Who is calling: an anonymous client, a signed-in user (bearer, browser session or signed partner request), or the payment provider. */
import type { Role } from '@wallet/contracts';
import type { WebSession } from '../web/sessions.ts';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'provider' }
  | {
      kind: 'user';
      via: 'bearer' | 'cookie' | 'signature';
      sub: string;
      sid: string | null;
      roles: Role[];
      acr: 'aal1' | 'aal2';
      webSession?: WebSession;
    };

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export class AuthenticationFailure extends Error {
  override name = 'AuthenticationFailure';
  readonly problem: 'unauthenticated' | 'invalid-signature';
  readonly clearSession: boolean;
  constructor(
    message: string,
    problem: 'unauthenticated' | 'invalid-signature' = 'unauthenticated',
    clearSession = false,
  ) {
    super(message);
    this.problem = problem;
    this.clearSession = clearSession;
  }
}
