import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidCursorError, decodeCursor, decodeSeqCursor, encodeCursor, keysetPage } from '../src/index.ts';

describe('keyset cursors', () => {
  it('round-trip one or two key values', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 2n ** 62n }), (seq) => {
        expect(decodeSeqCursor(encodeCursor([seq]))).toBe(seq);
      }),
    );
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(decodeCursor(encodeCursor([a, b]), 2)).toEqual([a, b]);
      }),
    );
  });

  it('refuse what this format did not issue, the former per-list formats included', () => {
    const formerFormats = [
      '42', // risk, notification, dead letters, audit: the bare number
      Buffer.from('v1:42').toString('base64url'), // ledger history
      Buffer.from('a1:42').toString('base64url'), // adjustment requests
      Buffer.from('2026-01-01T00:00:00.000Z|x').toString('base64url'), // identity sessions
      Buffer.from('user@example.com').toString('base64url'), // identity admin users
    ];
    for (const cursor of formerFormats) expect(() => decodeSeqCursor(cursor)).toThrow(InvalidCursorError);
    expect(() => decodeCursor(encodeCursor(['a']), 2)).toThrow(InvalidCursorError);
    expect(() => decodeSeqCursor(encodeCursor(['0']))).toThrow(InvalidCursorError);
    expect(() => decodeSeqCursor(encodeCursor(['1; drop table x']))).toThrow(InvalidCursorError);
    expect(() => decodeSeqCursor('not base64url!')).toThrow(InvalidCursorError);
    expect(decodeSeqCursor(undefined)).toBeUndefined();
  });

  it('pages rows fetched with limit + 1', () => {
    const rows = [{ seq: 9n }, { seq: 7n }, { seq: 4n }];
    const full = keysetPage(rows, 2, (r) => [r.seq]);
    expect(full.items).toEqual([{ seq: 9n }, { seq: 7n }]);
    expect(decodeSeqCursor(full.nextCursor)).toBe(7n);
    expect(keysetPage(rows, 3, (r) => [r.seq]).nextCursor).toBeNull();
  });
});
