/** kysely types of identity's own database (no other service reads it). */
import type { ColumnType, Generated } from 'kysely';
import type { MessagingTables } from '@wallet/platform';
import type { Role } from '@wallet/contracts';
import type { PasskeysTable, WebauthnChallengesTable } from './passkey-schema.ts';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type UserStatus = 'active' | 'locked';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  display_name: string | null;
  password_hash: string;
  email_verified_at: Timestamp | null;
  roles: ColumnType<Role[], Role[] | undefined, Role[]>;
  /** `locked` = locked by an administrator (failed sign-ins only slow down their sources: sign_in_failures). */
  status: ColumnType<UserStatus, UserStatus | undefined, UserStatus>;
  locked_reason: string | null;
  mfa_enabled: Generated<boolean>;
  /** Sealed (AES-256-GCM) base32 TOTP secret once confirmed. */
  totp_secret_sealed: string | null;
  /** Sealed secret of an enrolment not yet confirmed. */
  totp_pending_sealed: string | null;
  /** Last accepted TOTP time step: a code of this step or earlier is a replay. */
  totp_last_step: ColumnType<bigint | null, bigint | number | null, bigint | number | null>;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
}

export type CodePurpose = 'email-verification' | 'recovery';

export interface OneTimeCodesTable {
  id: Generated<string>;
  user_id: string;
  purpose: CodePurpose;
  /** Keyed hash of the code last issued to the notification service; null until the first issue. */
  code_hash: string | null;
  expires_at: Timestamp;
  attempts: Generated<number>;
  /** How many times a code was minted for this row (each mint replaces the previous code). */
  issued_count: Generated<number>;
  issued_at: Timestamp | null;
  consumed_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface RecoveryCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: string;
  used_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  device_key: string;
  device_name: string | null;
  user_agent: string | null;
  ip: string | null;
  auth_time: Timestamp;
  amr: ColumnType<string[], string[], string[]>;
  step_up_until: Timestamp | null;
  created_at: CreatedAt;
  last_seen_at: Generated<Date>;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
  /** Last full authentication (every factor the user has): sign-in or re-authentication. */
  reauthenticated_at: Timestamp | null;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  session_id: string;
  token_hash: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: CreatedAt;
  /** Device key of the client that spent it (a grace-window reuse must come from the same client). */
  used_by_device: string | null;
  /** Siblings minted for reuses within the grace window. */
  grace_uses: Generated<number>;
}

export interface MfaChallengesTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  device_name: string | null;
  expires_at: Timestamp;
  attempts: Generated<number>;
  consumed_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface KnownDevicesTable {
  user_id: string;
  device_key: string;
  first_seen_at: CreatedAt;
  last_seen_at: Generated<Date>;
}

/** Failure counters (see src/domain/throttle.ts): `source` = account+address, `account`, `ip` = address. */
export interface SignInFailuresTable {
  scope: 'source' | 'account' | 'ip';
  /** Keyed hash of what is counted (the normalised e-mail, the address, or both). */
  key: string;
  /**
   * `source`: attempts admitted and not proven right (counted before the check, so a parallel burst
   * cannot overshoot). `account`/`ip`: failures recorded in the window.
   */
  failures: Generated<number>;
  window_started_at: Generated<Date>;
  last_failure_at: Generated<Date>;
  /** `account`/`ip`: attempts admitted and not answered yet (forgotten after a minute without attempts). */
  pending: Generated<number>;
  last_attempt_at: Generated<Date>;
}

/** Addresses and devices an account signed in from (keyed hashes). */
export interface SignInSourcesTable {
  account_key: string;
  source_key: string;
  last_success_at: Generated<Date>;
}

/** `next`: published in the JWKS, signs nothing until `activates_at` (pre-publication). */
export type SigningKeyStatus = 'next' | 'active' | 'retired';

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  /** Sealed private JWK (the key ring's kid is inside the sealed value). */
  private_jwk_sealed: string;
  status: SigningKeyStatus;
  created_at: CreatedAt;
  retired_at: Timestamp | null;
  /** Published in the JWKS until then (tokens it signed have expired). */
  publish_until: Timestamp | null;
  activates_at: Timestamp | null;
}

export interface IdentityDatabase extends MessagingTables {
  users: UsersTable;
  one_time_codes: OneTimeCodesTable;
  recovery_codes: RecoveryCodesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  mfa_challenges: MfaChallengesTable;
  known_devices: KnownDevicesTable;
  sign_in_failures: SignInFailuresTable;
  sign_in_sources: SignInSourcesTable;
  signing_keys: SigningKeysTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebauthnChallengesTable;
}
