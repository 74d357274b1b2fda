/**
 * Secrets at rest: AES-256-GCM with a key ring from configuration (`kid:base64key,...`, first key
 * current). Every ciphertext names the key that sealed it, so keys can rotate: new data is sealed with
 * the current key and old data stays readable while its key remains in the ring. The additional
 * authenticated data binds a ciphertext to its place (`totp:<userId>`, `signing-key:<kid>`), so a
 * ciphertext copied into another row does not decrypt.
 *
 * The same keys, through HKDF, key the HMAC that hashes one-time codes and recovery codes: a stolen
 * table of 6-digit code hashes cannot be brute-forced offline without the key.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';

const KID = /^[A-Za-z0-9._-]{1,64}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';

export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

export interface KeyRing {
  readonly currentKid: string;
  readonly kids: readonly string[];
  seal(plaintext: string, aad: string): string;
  open(sealed: string, aad: string): string;
  /** Keyed hash for codes: `<kid>:<hex>`. */
  hashCode(code: string): string;
  /** Constant-time check of `code` against a `hashCode` result (under whichever ring key made it). */
  codeMatches(code: string, stored: string): boolean;
}

export function parseKeyRing(spec: string): KeyRing {
  const keys = new Map<string, Buffer>();
  const order: string[] = [];
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new KeyRingError('key ring entries are kid:base64key');
    const kid = entry.slice(0, colon);
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (!KID.test(kid)) throw new KeyRingError(`key id must match ${KID.source}`);
    if (key.length !== 32) throw new KeyRingError(`key ${kid} must be 32 bytes (AES-256)`);
    if (keys.has(kid)) throw new KeyRingError(`duplicate key id ${kid}`);
    keys.set(kid, key);
    order.push(kid);
  }
  const currentKid = order[0];
  if (currentKid === undefined) throw new KeyRingError('the key ring is empty');
  const hmacKeys = new Map<string, Buffer>(
    [...keys].map(([kid, key]) => [
      kid,
      Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'wallet-identity/code-hmac/v1', 32)),
    ]),
  );

  const keyFor = (kid: string, from: Map<string, Buffer>): Buffer => {
    const key = from.get(kid);
    if (!key) throw new KeyRingError(`key ${kid} is not in the key ring`);
    return key;
  };

  const mac = (kid: string, code: string) =>
    createHmac('sha256', keyFor(kid, hmacKeys)).update(code, 'utf8').digest();

  return {
    currentKid,
    kids: order,
    seal(plaintext, aad) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', keyFor(currentKid, keys), iv, {
        authTagLength: TAG_BYTES,
      });
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [
        FORMAT,
        currentKid,
        iv.toString('base64url'),
        body.toString('base64url'),
        tag.toString('base64url'),
      ].join('.');
    },
    open(sealed, aad) {
      const [format, kid, iv, body, tag] = sealed.split('.');
      if (format !== FORMAT || !kid || iv === undefined || body === undefined || tag === undefined) {
        throw new KeyRingError('not a sealed value');
      }
      const decipher = createDecipheriv('aes-256-gcm', keyFor(kid, keys), Buffer.from(iv, 'base64url'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
    hashCode(code) {
      return `${currentKid}:${mac(currentKid, code).toString('hex')}`;
    },
    codeMatches(code, stored) {
      const colon = stored.lastIndexOf(':');
      if (colon <= 0) return false;
      const kid = stored.slice(0, colon);
      if (!hmacKeys.has(kid)) return false;
      const expected = Buffer.from(stored.slice(colon + 1), 'hex');
      const actual = mac(kid, code);
      return expected.length === actual.length && timingSafeEqual(expected, actual);
    },
  };
}

/** Every kid in the ring, for the production guard (a dev-only marker in any of them is refused). */
export function keyRingKids(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim().split(':')[0] ?? '')
    .filter(Boolean);
}
