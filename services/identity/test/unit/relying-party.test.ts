import { describe, expect, it } from 'vitest';
import { ConfigError } from '@wallet/service-kit';
import { relyingPartyFrom, relyingPartyProductionProblems } from '../../src/security/relying-party.ts';

const base = { APP_ENV: 'development', WEBAUTHN_RP_NAME: 'Wallet', WEBAUTHN_CHALLENGE_TTL_SECONDS: 300 };

describe('the WebAuthn relying party settings', () => {
  it('defaults to the public origin (embedded and Dapr modes set PUBLIC_BASE_URL) and its host', () => {
    expect(relyingPartyFrom({ ...base, PUBLIC_BASE_URL: 'https://localhost:28444/' })).toEqual({
      id: 'localhost',
      name: 'Wallet',
      origins: ['https://localhost:28444'],
      challengeTtlSeconds: 300,
    });
    expect(relyingPartyFrom(base).origins).toEqual(['https://localhost:8443']);
  });

  it('accepts web-app origins on the RP id or its subdomains, and refuses others and plain http', () => {
    const rp = relyingPartyFrom({
      ...base,
      WEBAUTHN_RP_ID: 'Wallet.Example.com',
      WEBAUTHN_ORIGINS: 'https://app.wallet.example.com, https://wallet.example.com',
    });
    expect(rp.id).toBe('wallet.example.com');
    expect(rp.origins).toEqual(['https://app.wallet.example.com', 'https://wallet.example.com']);
    expect(() =>
      relyingPartyFrom({
        ...base,
        WEBAUTHN_RP_ID: 'wallet.example.com',
        WEBAUTHN_ORIGINS: 'https://evilwallet.example.com',
      }),
    ).toThrow(ConfigError);
    expect(() =>
      relyingPartyFrom({
        ...base,
        WEBAUTHN_RP_ID: 'wallet.example.com',
        WEBAUTHN_ORIGINS: 'http://app.wallet.example.com',
      }),
    ).toThrow(/plain http/);
    expect(() => relyingPartyFrom({ ...base, WEBAUTHN_ORIGINS: 'not a url' })).toThrow(/not a URL/);
  });

  it('production demands explicit https settings off localhost', () => {
    const production = { ...base, APP_ENV: 'production' };
    expect(relyingPartyProductionProblems(production).join()).toMatch(/required in production/);
    expect(
      relyingPartyProductionProblems({
        ...production,
        WEBAUTHN_RP_ID: 'localhost',
        WEBAUTHN_ORIGINS: 'http://localhost:8443',
      }).join(),
    ).toMatch(/localhost in production.*not https/);
    expect(
      relyingPartyProductionProblems({
        ...production,
        WEBAUTHN_RP_ID: 'wallet.example.com',
        WEBAUTHN_ORIGINS: 'https://app.wallet.example.com',
      }),
    ).toEqual([]);
  });
});
