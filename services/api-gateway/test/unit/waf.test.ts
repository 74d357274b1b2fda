import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkContentType,
  checkHeaderSize,
  checkJsonShape,
  checkMethod,
  matchRules,
  normalisePath,
  scanPayload,
  type WafLimits,
} from '../../src/domain/waf.ts';
import { ATTACKS, LEGITIMATE } from '../fixtures/waf-corpora.ts';

const limits: WafLimits = {
  maxBodyBytes: 65536,
  maxJsonDepth: 8,
  maxJsonKeys: 100,
  maxArrayLength: 500,
  maxStringLength: 8192,
  maxHeaderBytes: 8192,
  maxUrlLength: 2048,
};

describe('WAF rules: attack corpus', () => {
  for (const payload of ATTACKS) {
    it(`blocks ${JSON.stringify(payload)}`, () => {
      expect(matchRules(payload)?.id).toBeDefined();
      expect(scanPayload({ description: payload }, 'body')?.location).toBe('body.description');
    });
  }
});

describe('WAF rules: legitimate corpus (false positives are failures)', () => {
  for (const value of LEGITIMATE) {
    it(`passes ${JSON.stringify(value)}`, () => {
      expect(matchRules(value)).toBeUndefined();
    });
  }

  it('never scans passwords: a password may contain anything', () => {
    expect(scanPayload({ email: 'a@example.com', password: "' OR '1'='1 <script>" }, 'body')).toBeUndefined();
    expect(scanPayload({ email: "' OR '1'='1", password: 'x' }, 'body')?.ruleId).toBe('sqli-001');
  });

  it('passes ordinary prose (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9]{1,12}$/);
    const sentence = fc
      .array(fc.tuple(word, fc.constantFrom(' ', ', ', '. ', ' - ', '! ', '? ')), {
        minLength: 1,
        maxLength: 12,
      })
      .map((parts) =>
        parts
          .map(([w, sep]) => w + sep)
          .join('')
          .trim(),
      );
    fc.assert(
      fc.property(sentence, (s) => matchRules(s) === undefined),
      { numRuns: 500 },
    );
  });
});

describe('WAF request shape', () => {
  it('allows only the API methods', () => {
    expect(checkMethod('TRACE')?.status).toBe(405);
    expect(checkMethod('PATCH')?.status).toBe(405);
    expect(checkMethod('GET')).toBeUndefined();
  });

  it('normalises paths and refuses traversal and encoded tricks', () => {
    expect(normalisePath('/v1/wallets/?limit=5', limits)).toEqual({ path: '/v1/wallets' });
    expect(normalisePath('/', limits)).toEqual({ path: '/' });
    for (const bad of [
      '/v1/../admin',
      '/v1/%2e%2e/admin',
      '/v1/wallets%2F1',
      '/v1//wallets',
      '/v1/./me',
      '/v1\\me',
      '/v1/%252e',
      '/v1/wal lets',
      '/v1/me%00',
    ]) {
      expect('block' in normalisePath(bad, limits), bad).toBe(true);
    }
    expect(normalisePath(`/v1/${'a'.repeat(3000)}`, limits)).toMatchObject({ block: { status: 414 } });
  });

  it('limits header size', () => {
    expect(checkHeaderSize(['x-big', 'a'.repeat(9000)], limits)?.status).toBe(431);
    expect(checkHeaderSize(['host', 'localhost'], limits)).toBeUndefined();
  });

  it('accepts only JSON bodies, and none on GET', () => {
    expect(checkContentType('POST', 'text/plain', true)?.status).toBe(415);
    expect(checkContentType('POST', 'application/x-www-form-urlencoded', true)?.status).toBe(415);
    expect(checkContentType('POST', 'application/json; charset=latin1', true)?.status).toBe(415);
    expect(checkContentType('POST', 'application/json; charset=utf-8', true)).toBeUndefined();
    expect(checkContentType('GET', 'application/json', true)?.status).toBe(400);
    expect(checkContentType('POST', undefined, false)).toBeUndefined();
  });

  it('limits JSON depth, width, array length and string length', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10; i++) deep = { a: deep };
    expect(checkJsonShape(deep, limits)?.ruleId).toBe('json-001');
    expect(
      checkJsonShape(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, i])), limits)?.ruleId,
    ).toBe('json-002');
    expect(checkJsonShape({ ids: Array.from({ length: 501 }, () => 1) }, limits)?.ruleId).toBe('json-003');
    expect(checkJsonShape({ s: 'x'.repeat(9000) }, limits)?.ruleId).toBe('json-004');
    expect(
      checkJsonShape({ fromWalletId: 'w1', toWalletId: 'w2', amount: '1050', currency: 'EUR' }, limits),
    ).toBeUndefined();
  });
});
