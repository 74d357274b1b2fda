/** kysely types of api-gateway's own database (no other service reads it). */
import type { ColumnType, Generated } from 'kysely';
import type { MessagingTables } from '@wallet/platform';

type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type JsonColumn = ColumnType<unknown, string, string>;

/** A browser session: the tokens stay here (encrypted), the browser only holds the `__Host-session` cookie. */
export interface WebSessionsTable {
  /** SHA-256 (hex) of the cookie value: a database leak does not yield usable cookies. */
  id_hash: string;
  user_id: string;
  /** identity's session id (what revocation events name). */
  identity_session_id: string;
  /** AES-256-GCM ciphertexts (base64url `iv.tag.data`). */
  access_token_enc: string;
  refresh_token_enc: string;
  access_expires_at: Date;
  created_at: DefaultTimestamp;
  last_seen_at: DefaultTimestamp;
  expires_at: Date;
}

/** Append-only: a trigger refuses UPDATE and DELETE. */
export interface AuditLogTable {
  id: Generated<string>;
  occurred_at: DefaultTimestamp;
  actor: string;
  actor_roles: JsonColumn;
  session_id: string | null;
  /** `METHOD /v1/path/{pattern}` */
  action: string;
  /** The concrete path and parameters acted on. */
  target: JsonColumn;
  /** `allowed` (forwarded), `denied` (refused by the gateway) or `failed` (upstream unreachable). */
  outcome: string;
  status: number;
  ip: string | null;
  user_agent: string | null;
  request_id: string;
  upstream_app: string | null;
}

/** Partner API clients that sign their requests (HMAC key id + secret, encrypted at rest). */
export interface ApiClientsTable {
  key_id: string;
  /** The user the client acts for (its internal-token subject). */
  owner_user_id: string;
  secret_enc: string;
  description: string;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: DefaultTimestamp;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface GatewayDatabase extends MessagingTables {
  web_sessions: WebSessionsTable;
  audit_log: AuditLogTable;
  api_clients: ApiClientsTable;
}
