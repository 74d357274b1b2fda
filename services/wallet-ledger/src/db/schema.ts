/**
 * kysely types of wallet-ledger's own database (no other service reads it). numeric(38,0) money
 * columns come back as decimal strings and are converted to bigint at the repository edge; bigint
 * (int8) columns come back as bigint.
 */
import type { ColumnType, Generated } from 'kysely';
import type { MessagingTables } from '@wallet/platform';

type Money = ColumnType<string, string, string>;
type DefaultMoney = ColumnType<string, string | undefined, string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

export type AccountType = 'user_wallet' | 'system_funding' | 'payout_clearing' | 'fees' | 'suspense';
export type TransactionKind =
  | 'transfer'
  | 'refund'
  | 'deposit'
  | 'withdrawal_hold'
  | 'withdrawal_settle'
  | 'withdrawal_release'
  | 'adjustment';
export type HoldStatus = 'pending' | 'captured' | 'voided' | 'expired';

export interface AccountsTable {
  id: string;
  owner_id: string;
  currency: string;
  type: AccountType;
  shard: ColumnType<number, number | undefined, number>;
  allow_negative: ColumnType<boolean, boolean | undefined, boolean>;
  status: ColumnType<'active' | 'frozen', 'active' | 'frozen' | undefined, 'active' | 'frozen'>;
  balance: DefaultMoney;
  held: DefaultMoney;
  version: ColumnType<bigint, bigint | undefined, bigint>;
  last_hash: Nullable<Buffer>;
  created_at: DefaultTimestamp;
}

export interface TransactionsTable {
  id: string;
  kind: TransactionKind;
  status: ColumnType<'completed', 'completed' | undefined, 'completed'>;
  currency: string;
  amount: Money;
  from_account_id: Nullable<string>;
  to_account_id: Nullable<string>;
  original_transaction_id: Nullable<string>;
  refunded_amount: DefaultMoney;
  initiated_by: string;
  description: Nullable<string>;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  risk_assessment_id: Nullable<string>;
  risk: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  created_at: DefaultTimestamp;
}

export interface EntriesTable {
  id: Generated<bigint>;
  transaction_id: string;
  account_id: string;
  currency: string;
  amount: Money;
  balance_after: Money;
  account_version: bigint;
  hash: Buffer;
  created_at: DefaultTimestamp;
}

export interface HoldsTable {
  id: string;
  account_id: string;
  currency: string;
  amount: Money;
  purpose: ColumnType<'withdrawal', 'withdrawal' | undefined, 'withdrawal'>;
  status: ColumnType<HoldStatus, HoldStatus | undefined, HoldStatus>;
  destination: string;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  hold_transaction_id: string;
  final_transaction_id: Nullable<string>;
  failure_reason: Nullable<string>;
  initiated_by: string;
  created_at: DefaultTimestamp;
  resolved_at: Nullable<Date>;
}

export interface ProviderEventsTable {
  event_id: string;
  type: string;
  transaction_id: Nullable<string>;
  received_at: DefaultTimestamp;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_hash: string;
  status: 'in_flight' | 'completed';
  lease_token: string;
  locked_until: ColumnType<Date, Date | string, Date | string>;
  response_status: Nullable<number>;
  response_body: Nullable<string>;
  created_at: DefaultTimestamp;
  completed_at: Nullable<Date>;
}

export type AdjustmentRequestStatus = 'pending' | 'approved' | 'rejected' | 'expired';

export interface AdjustmentRequestsTable {
  id: string;
  seq: Generated<bigint>;
  wallet_id: string;
  currency: string;
  amount: Money;
  direction: 'credit' | 'debit';
  reason: string;
  status: ColumnType<AdjustmentRequestStatus, AdjustmentRequestStatus | undefined, AdjustmentRequestStatus>;
  requested_by: string;
  requested_at: DefaultTimestamp;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  decided_by: Nullable<string>;
  decided_at: Nullable<Date>;
  decision_reason: Nullable<string>;
  transaction_id: Nullable<string>;
}

export interface LedgerDatabase extends MessagingTables {
  accounts: AccountsTable;
  transactions: TransactionsTable;
  entries: EntriesTable;
  holds: HoldsTable;
  provider_events: ProviderEventsTable;
  idempotency_keys: IdempotencyKeysTable;
  adjustment_requests: AdjustmentRequestsTable;
}
