/** kysely types of the passkey tables (migration 0006). */
import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface PasskeysTable {
  id: Generated<string>;
  user_id: string;
  /** base64url credential id, as the authenticator gave it. */
  credential_id: string;
  /** COSE public key. */
  public_key: Uint8Array;
  /** The authenticator's signature counter (0 for authenticators that keep none, as synced passkeys). */
  sign_count: ColumnType<bigint, bigint | number | undefined, bigint | number>;
  transports: ColumnType<string[], string[] | undefined, string[]>;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  aaguid: string;
  name: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
}

export type WebauthnPurpose = 'registration' | 'passwordless' | 'second-factor' | 'step-up';

export interface WebauthnChallengesTable {
  id: Generated<string>;
  purpose: WebauthnPurpose;
  /** base64url challenge the browser signs; single use. */
  challenge: string;
  user_id: string | null;
  session_id: string | null;
  mfa_challenge_id: string | null;
  expires_at: Timestamp;
  consumed_at: Timestamp | null;
  created_at: CreatedAt;
}
