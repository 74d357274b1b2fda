/**
 * A software WebAuthn authenticator for identity's suite: ES256 keys from node:crypto, `none`
 * attestation, CBOR from @simplewebauthn/server's helpers. It signs exactly what a browser would send
 * (clientDataJSON with the origin, authenticator data with the RP id hash, flags and counter), so the
 * server's real verification runs. The browser suite (packages/system-tests) uses Chromium's own
 * virtual authenticator instead.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

interface StoredKey {
  privateKey: KeyObject;
  userHandle: string;
  rpId: string;
  count: number;
}

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest();
const b64 = (data: Buffer | Uint8Array) => Buffer.from(data).toString('base64url');

function counterBytes(count: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(count);
  return out;
}

export interface CreationOptionsJson {
  challenge: string;
  rp: { id?: string };
  user: { id: string };
}
export interface RequestOptionsJson {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

export class SoftAuthenticator {
  readonly keys = new Map<string, StoredKey>();
  private readonly origin: string;
  private readonly options: { userVerified?: boolean; counts?: boolean };
  constructor(origin: string, options: { userVerified?: boolean; counts?: boolean } = {}) {
    this.origin = origin;
    this.options = options;
  }

  private flags(extra = 0): number {
    return UP | (this.options.userVerified === false ? 0 : UV) | extra;
  }

  /** What `navigator.credentials.create(...)` then `.toJSON()` gives. */
  create(options: CreationOptionsJson, overrides: { origin?: string; credentialIdBytes?: number } = {}) {
    const rpId = options.rp.id ?? 'localhost';
    const credentialId = randomBytes(overrides.credentialIdBytes ?? 16);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags(AT)]),
      counterBytes(0),
      Buffer.alloc(16),
      idLength,
      credentialId,
      Buffer.from(cose),
    ]);
    const attestation: [string, string | Uint8Array | Map<string, never>][] = [
      ['fmt', 'none'],
      ['attStmt', new Map<string, never>()],
      ['authData', new Uint8Array(authData)],
    ];
    const attestationObject = isoCBOR.encode(new Map(attestation));
    const clientDataJSON = JSON.stringify({
      type: 'webauthn.create',
      challenge: options.challenge,
      origin: overrides.origin ?? this.origin,
      crossOrigin: false,
    });
    this.keys.set(b64(credentialId), { privateKey, userHandle: options.user.id, rpId, count: 0 });
    return {
      id: b64(credentialId),
      rawId: b64(credentialId),
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64(Buffer.from(clientDataJSON)),
        attestationObject: b64(attestationObject),
        transports: ['internal'],
      },
      clientExtensionResults: {},
    };
  }

  /** What `navigator.credentials.get(...)` then `.toJSON()` gives, signed by one of our keys. */
  get(options: RequestOptionsJson, overrides: { origin?: string; credentialId?: string } = {}) {
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [...this.keys.keys()];
    const id = overrides.credentialId ?? allowed.find((c) => this.keys.has(c));
    const key = id === undefined ? undefined : this.keys.get(id);
    if (!id || !key) throw new Error('no credential of ours is allowed');
    if (this.options.counts !== false) key.count += 1;
    const authData = Buffer.concat([
      sha256(options.rpId ?? key.rpId),
      Buffer.from([this.flags()]),
      counterBytes(this.options.counts === false ? 0 : key.count),
    ]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: 'webauthn.get',
        challenge: options.challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), key.privateKey);
    return {
      id,
      rawId: id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64(clientDataJSON),
        authenticatorData: b64(authData),
        signature: b64(signature),
        userHandle: key.userHandle,
      },
      clientExtensionResults: {},
    };
  }
}
