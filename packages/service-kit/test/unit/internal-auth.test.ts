import { SignJWT, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  createInternalTokenSigner,
  createInternalTokenVerifier,
  generateInternalSigningKey,
} from '../../src/internal-auth.ts';

describe('internal tokens', async () => {
  const gateway = await generateInternalSigningKey('api-gateway');
  const ledger = await generateInternalSigningKey('wallet-ledger');
  const jwks = { keys: [gateway.publicJwk, ledger.publicJwk] };
  const verifierForLedger = createInternalTokenVerifier({ audience: 'wallet-ledger', jwks, allowedIssuers: ['api-gateway'] });

  it('carries the caller from the gateway to the target app', async () => {
    const signer = await createInternalTokenSigner('api-gateway', gateway.privateJwk);
    const token = await signer.sign('wallet-ledger', { sub: 'user-1', sid: 's-1', roles: ['user'], acr: 'aal2' });
    const claims = await verifierForLedger.verify(token);
    expect(claims).toMatchObject({ iss: 'api-gateway', sub: 'user-1', sid: 's-1', roles: ['user'], acr: 'aal2' });
    expect(claims.exp - claims.iat).toBe(60);
  });

  it('refuses a token addressed to another app', async () => {
    const signer = await createInternalTokenSigner('api-gateway', gateway.privateJwk);
    const token = await signer.sign('risk', { sub: 'user-1' });
    await expect(verifierForLedger.verify(token)).rejects.toThrow();
  });

  it('refuses an issuer the target does not accept, and a key used for another app', async () => {
    const ledgerSigner = await createInternalTokenSigner('wallet-ledger', ledger.privateJwk);
    await expect(verifierForLedger.verify(await ledgerSigner.sign('wallet-ledger', { sub: 'u' }))).rejects.toThrow();
    // The ledger's key claiming to be the gateway: kid prefix does not match the issuer.
    const forged = await createInternalTokenSigner('api-gateway', ledger.privateJwk);
    await expect(verifierForLedger.verify(await forged.sign('wallet-ledger', { sub: 'u' }))).rejects.toThrow();
  });

  it('refuses expired and tampered tokens', async () => {
    const key = await importJWK(gateway.privateJwk, 'ES256');
    const expired = await new SignJWT({ roles: [] })
      .setProtectedHeader({ alg: 'ES256', kid: gateway.privateJwk.kid })
      .setIssuer('api-gateway')
      .setAudience('wallet-ledger')
      .setSubject('u')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(key);
    await expect(verifierForLedger.verify(expired)).rejects.toThrow();
    const signer = await createInternalTokenSigner('api-gateway', gateway.privateJwk);
    const good = await signer.sign('wallet-ledger', { sub: 'user-1', roles: ['user'] });
    const [h, p, s] = good.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload['roles'] = ['admin'];
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    await expect(verifierForLedger.verify(tampered)).rejects.toThrow();
  });

  it('reuses a token for the same caller and target until 15 s before it expires, then mints anew', async () => {
    let nowMs = Date.UTC(2026, 10, 28, 12, 0, 0);
    const signer = await createInternalTokenSigner('api-gateway', gateway.privateJwk, { now: () => nowMs });
    const subject = { sub: 'user-1', roles: ['user' as const], ip: '10.0.0.1' };
    const first = await signer.sign('wallet-ledger', subject);
    nowMs += 44_000;
    expect(await signer.sign('wallet-ledger', subject)).toBe(first);
    expect(await signer.sign('risk', subject)).not.toBe(first);
    expect(await signer.sign('wallet-ledger', { ...subject, ip: '10.0.0.2' })).not.toBe(first);
    expect(await signer.sign('wallet-ledger', { ...subject, acr: 'aal2' })).not.toBe(first);
    nowMs += 2_000;
    expect(await signer.sign('wallet-ledger', subject)).not.toBe(first);
  });

  it('never reuses a token that names its request', async () => {
    const signer = await createInternalTokenSigner('api-gateway', gateway.privateJwk);
    const subject = { sub: 'user-1', requestId: 'req-1' };
    expect(await signer.sign('wallet-ledger', subject)).not.toBe(await signer.sign('wallet-ledger', subject));
  });

  it('refuses a token it verified before once that token has expired', async () => {
    let nowMs = Date.now();
    const verifier = createInternalTokenVerifier({
      audience: 'wallet-ledger',
      jwks,
      allowedIssuers: ['api-gateway'],
      now: () => nowMs,
    });
    const signer = await createInternalTokenSigner('api-gateway', gateway.privateJwk, { now: () => nowMs });
    const token = await signer.sign('wallet-ledger', { sub: 'user-1', roles: ['user'] });
    expect((await verifier.verify(token)).sub).toBe('user-1');
    nowMs += 60_000;
    expect((await verifier.verify(token)).sub).toBe('user-1'); // within the 5 s tolerance
    nowMs += 6_000;
    await expect(verifier.verify(token)).rejects.toThrow();
  });
});
