import { describe, expect, it } from 'vitest';
import {
  signPartnerRequest,
  signWebhook,
  verifyPartnerSignature,
  verifyWebhookSignature,
} from '../../src/domain/signatures.ts';

const body = Buffer.from(
  JSON.stringify({
    id: 'evt_1',
    type: 'payment.succeeded',
    data: { walletId: 'w1', amount: '1050', currency: 'EUR' },
  }),
);
const now = 1_800_000_000;

describe('webhook signatures', () => {
  const verify = (header: string | undefined, secrets = ['whsec_new'], raw = body, at = now) =>
    verifyWebhookSignature({ header, rawBody: raw, secrets, toleranceSeconds: 300, nowSeconds: at });

  it('accepts a fresh signature', () => {
    expect(verify(signWebhook('whsec_new', body, now)).ok).toBe(true);
  });

  it('refuses an expired or future timestamp (5-minute tolerance)', () => {
    expect(verify(signWebhook('whsec_new', body, now - 301))).toEqual({ ok: false, reason: 'expired' });
    expect(verify(signWebhook('whsec_new', body, now + 301))).toEqual({ ok: false, reason: 'expired' });
    expect(verify(signWebhook('whsec_new', body, now - 299)).ok).toBe(true);
  });

  it('refuses a tampered body or timestamp', () => {
    const header = signWebhook('whsec_new', body, now);
    expect(verify(header, undefined, Buffer.from(body.toString().replace('1050', '9050')))).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    expect(verify(header.replace(`t=${now}`, `t=${now - 1}`))).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('supports rotation: any active secret, any of several v1 entries', () => {
    expect(verify(signWebhook('whsec_old', body, now), ['whsec_new', 'whsec_old']).ok).toBe(true);
    expect(verify(signWebhook('whsec_old', body, now), ['whsec_new'])).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    const both = `${signWebhook('whsec_unknown', body, now)},v1=${signWebhook('whsec_new', body, now).split('v1=')[1]}`;
    expect(verify(both).ok).toBe(true);
  });

  it('refuses missing and malformed headers', () => {
    expect(verify(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(verify('t=abc,v1=00')).toEqual({ ok: false, reason: 'malformed' });
    expect(verify(`t=${now}`)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('gives the same nonce for the same signed message (replay detection key)', () => {
    const header = signWebhook('whsec_new', body, now);
    const a = verify(header);
    const b = verify(header);
    expect(a.ok && b.ok && a.nonce === b.nonce).toBe(true);
  });
});

describe('partner request signatures', () => {
  const secret = 'psk_partner_secret';
  const signed = (overrides: Partial<{ timestamp: number; nonce: string }> = {}) =>
    signPartnerRequest({
      keyId: 'pk_abcdefgh',
      secret,
      method: 'POST',
      pathWithQuery: '/v1/transfers',
      body,
      timestamp: overrides.timestamp ?? now,
      nonce: overrides.nonce ?? 'n'.repeat(20),
    });
  const verify = (
    headers: Record<string, string>,
    opts: { path?: string; raw?: Buffer; secret?: string | undefined } = {},
  ) =>
    verifyPartnerSignature({
      headers: {
        keyId: headers['x-api-key-id'],
        timestamp: headers['x-api-timestamp'],
        nonce: headers['x-api-nonce'],
        digest: headers['content-digest'],
        signature: headers['x-api-signature'],
      },
      method: 'POST',
      pathWithQuery: opts.path ?? '/v1/transfers',
      body: opts.raw ?? body,
      secret: 'secret' in opts ? opts.secret : secret,
      toleranceSeconds: 300,
      nowSeconds: now,
    });

  it('accepts a valid signature and refuses tampering of path, body, key and time', () => {
    expect(verify(signed()).ok).toBe(true);
    expect(verify(signed(), { path: '/v1/withdrawals' })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(signed(), { raw: Buffer.from('{}') })).toEqual({ ok: false, reason: 'digest-mismatch' });
    expect(verify(signed(), { secret: 'psk_other' })).toEqual({ ok: false, reason: 'mismatch' });
    expect(verify(signed(), { secret: undefined })).toEqual({ ok: false, reason: 'unknown-key' });
    expect(verify(signed({ timestamp: now - 600 }))).toEqual({ ok: false, reason: 'expired' });
  });
});
