/**
 * Keyset pagination, one cursor format for every list of the platform. A cursor is the sort key of
 * the last item of a page (one or more values, e.g. a sequence number, or a timestamp and an id),
 * written as base64url of `p1:` + a JSON array of strings. Clients treat it as opaque. Anything else
 * (including the older per-list formats) is refused with `InvalidCursorError`, which every service
 * answers as a 400 validation problem on `query.cursor`.
 */
import { z } from 'zod';

const PREFIX = 'p1:';
const MAX_CURSOR_LENGTH = 512;

export type CursorKey = string | number | bigint;

/** The `cursor` query parameter (the decoding is done by `decodeCursor`). */
export const cursorParamSchema = z.string().min(1).max(MAX_CURSOR_LENGTH);

export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
  constructor() {
    super('The cursor is not one this list issued; ask for the first page again.');
  }
}

/** The cursor for the page after the item whose sort key is `keys`. */
export function encodeCursor(keys: readonly CursorKey[]): string {
  return Buffer.from(PREFIX + JSON.stringify(keys.map(String)), 'utf8').toString('base64url');
}

/** A sort key of one or two values (all our lists sort by at most two columns). */
export type DecodedCursor<N extends 1 | 2> = N extends 1 ? [string] : [string, string];

/** The sort key a cursor carries, `arity` values; throws InvalidCursorError for anything else. */
export function decodeCursor<N extends 1 | 2>(cursor: string, arity: N): DecodedCursor<N> {
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!text.startsWith(PREFIX)) throw new InvalidCursorError();
  let keys: unknown;
  try {
    keys = JSON.parse(text.slice(PREFIX.length));
  } catch {
    throw new InvalidCursorError();
  }
  if (!Array.isArray(keys) || keys.length !== arity || !keys.every((k) => typeof k === 'string')) {
    throw new InvalidCursorError();
  }
  return keys as DecodedCursor<N>;
}

const POSITIVE_BIGINT = /^[1-9][0-9]{0,18}$/;

/** A cursor whose key is one positive bigint (a sequence or version); undefined for the first page. */
export function decodeSeqCursor(cursor: string | undefined | null): bigint | undefined {
  if (cursor === undefined || cursor === null) return undefined;
  const [seq] = decodeCursor(cursor, 1);
  if (!seq || !POSITIVE_BIGINT.test(seq)) throw new InvalidCursorError();
  return BigInt(seq);
}

/**
 * One page from rows fetched with `limit + 1` (the extra row only says whether there is a next page):
 * at most `limit` items, and the cursor of the last one when more follow.
 */
export function keysetPage<Row, Item = Row>(
  rows: readonly Row[],
  limit: number,
  keyOf: (row: Row) => readonly CursorKey[],
  toItem: (row: Row) => Item = (row) => row as unknown as Item,
): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toItem),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  };
}
