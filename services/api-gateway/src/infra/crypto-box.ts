/** AES-256-GCM for tokens and secrets the gateway keeps at rest (web-session tokens, partner secrets). */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface CryptoBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

/** The key is SHA-256 of the configured secret, so any long random string works as configuration. */
export function createCryptoBox(secret: string, context: string): CryptoBox {
  const key = createHash('sha256').update(`${context}\0${secret}`).digest();
  const aad = Buffer.from(context);
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(aad);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64url')).join('.');
    },
    open(sealed) {
      const [iv, tag, data] = sealed.split('.').map((p) => Buffer.from(p, 'base64url'));
      if (!iv || !tag || !data) throw new Error('sealed value is malformed');
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    },
  };
}
