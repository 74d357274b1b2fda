/** Opaque history cursors: the account version of the last item shown, base64url-encoded. */
export function encodeVersionCursor(version: bigint): string {
  return Buffer.from(`v1:${version.toString()}`, 'utf8').toString('base64url');
}

/** Returns undefined for anything that is not a cursor we issued. */
export function decodeVersionCursor(cursor: string): bigint | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) return undefined;
  const match = /^v1:([1-9][0-9]{0,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? BigInt(match[1]!) : undefined;
}
