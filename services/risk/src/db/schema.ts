/** kysely types of risk's own database (no other service reads it). */
import type { ColumnType, Generated } from 'kysely';
import type { MessagingTables } from '@wallet/platform';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** jsonb: read back parsed, written as a JSON string. */
type Json = ColumnType<unknown, string, string>;
/** numeric(38,0): read as a decimal string, written from a decimal string. */
type Numeric = ColumnType<string, string, string>;
type NullableNumeric = ColumnType<string | null, string | null | undefined, string | null>;

export interface AssessmentsTable {
  id: string;
  user_id: string;
  action: string;
  amount: NullableNumeric;
  currency: string | null;
  counterparty: string | null;
  session_id: string | null;
  device_id: string | null;
  ip: string | null;
  /** The internal-token issuer that asked (wallet-ledger, api-gateway) and the session's assurance. */
  caller: string;
  acr: string;
  decision: 'allow' | 'challenge' | 'deny';
  score: number;
  reasons: Json;
  /** The signals the rules saw (velocity totals, history, ...), for explaining a decision later. */
  signals: Json;
  rules_version: string;
  created_at: CreatedAt;
}

export interface AnomalyFlagsTable {
  id: string;
  /** Insertion order (bigint identity, read as bigint): the list cursor. */
  seq: Generated<bigint>;
  user_id: string;
  assessment_id: string | null;
  action: string;
  score: number;
  reasons: Json;
  status: ColumnType<'open' | 'closed', 'open' | 'closed' | undefined, 'open' | 'closed'>;
  created_at: CreatedAt;
  closed_by: ColumnType<string | null, string | null | undefined, string | null>;
  closed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  close_note: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface RuleChangesTable {
  /** The override version (bigint identity). The newest row holds the overrides in force. */
  version: Generated<bigint>;
  overrides: Json;
  previous_overrides: Json;
  reason: string;
  changed_by: string;
  changed_by_roles: Json;
  ip: string | null;
  request_id: string | null;
  created_at: CreatedAt;
}

export interface AmountStatsTable {
  user_id: string;
  currency: string;
  /** The newest amounts (decimal strings), oldest first. */
  recent_amounts: Json;
  sample_count: number;
  median: Numeric;
  mad: Numeric;
  updated_at: Timestamp;
}

export interface KnownCounterpartiesTable {
  user_id: string;
  counterparty: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
  times: number;
}

export interface KnownDevicesTable {
  user_id: string;
  device_id: string;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface SessionsTable {
  session_id: string;
  user_id: string;
  new_device: boolean;
  ip: string | null;
  created_at: Timestamp;
}

export interface LoginFailuresTable {
  event_id: string;
  user_id: string;
  ip: string | null;
  failed_attempts: number;
  occurred_at: Timestamp;
}

export interface RefundsTable {
  refund_id: string;
  transfer_id: string;
  payer_user_id: string;
  payee_user_id: string;
  amount: Numeric;
  currency: string;
  occurred_at: Timestamp;
}

export interface DepositsTable {
  deposit_id: string;
  user_id: string;
  amount: Numeric;
  currency: string;
  occurred_at: Timestamp;
}

export interface RiskDatabase extends MessagingTables {
  assessments: AssessmentsTable;
  anomaly_flags: AnomalyFlagsTable;
  rule_changes: RuleChangesTable;
  amount_stats: AmountStatsTable;
  known_counterparties: KnownCounterpartiesTable;
  known_devices: KnownDevicesTable;
  sessions: SessionsTable;
  login_failures: LoginFailuresTable;
  refunds: RefundsTable;
  deposits: DepositsTable;
}
