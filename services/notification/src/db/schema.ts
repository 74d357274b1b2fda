/** kysely types of notification's own database (no other service reads it). */
import type { ColumnType, Generated } from 'kysely';
import type { MessagingTables } from '@wallet/platform';

type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type OptionalTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** jsonb: read back parsed, written as a JSON string. */
type JsonColumn = ColumnType<unknown, string, string>;

export type Channel = 'email' | 'sms' | 'push';
/** `skipped`: never sent, for the reason in `last_error` (an SMS to a phone number not verified). */
export type DeliveryStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'dead' | 'skipped';

/** What we know of a user, built from identity events (and the user's own channel settings). */
export interface RecipientsTable {
  user_id: string;
  email: string | null;
  email_verified: ColumnType<boolean, boolean | undefined, boolean>;
  phone: ColumnType<string | null, string | null | undefined, string | null>;
  /** The user proved the number with a code; no SMS but the code goes to an unverified number. */
  phone_verified: ColumnType<boolean, boolean | undefined, boolean>;
  /** jsonb array of push registration tokens. */
  push_tokens: ColumnType<unknown, string | undefined, string>;
  locale: ColumnType<string, string | undefined, string>;
  display_name: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/** One request to prove a phone number: only the keyed hash of the code is kept. */
export interface PhoneVerificationsTable {
  id: string;
  user_id: string;
  phone: string;
  code_hash: ColumnType<string | null, string | null | undefined, string | null>;
  expires_at: OptionalTimestamp;
  issued_count: ColumnType<number, number | undefined, number>;
  failed_guesses: ColumnType<number, number | undefined, number>;
  closed_at: OptionalTimestamp;
  created_at: DefaultTimestamp;
}

export interface PreferencesTable {
  user_id: string;
  category: string;
  email: boolean;
  sms: boolean;
  push: boolean;
  updated_at: DefaultTimestamp;
}

/** One message to one address on one channel: the service's own outbox of outgoing messages. */
export interface DeliveriesTable {
  id: string;
  /** bigint identity (read as bigint): insertion order and the history cursor. */
  seq: Generated<bigint>;
  user_id: string | null;
  event_id: string;
  event_type: string;
  template: string;
  category: string;
  channel: Channel;
  /** E-mail address, E.164 phone number or push token. */
  recipient: string;
  locale: string;
  subject: string | null;
  body_text: string;
  body_html: string | null;
  /** Holds one-time codes: never resent, and its body is scrubbed once the delivery is final. */
  sensitive: boolean;
  /**
   * identity's reference of the one-time code this message carries: the worker has identity mint the
   * code when it sends and renders the message then (body_text holds the code masked until then).
   */
  code_ref: ColumnType<string | null, string | null | undefined, string | null>;
  /** Template variables (never a code) for rendering at send time; set with `code_ref`. */
  template_vars: ColumnType<unknown, string | null | undefined, string | null>;
  status: ColumnType<DeliveryStatus, DeliveryStatus | undefined, DeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  next_attempt_at: DefaultTimestamp;
  lease_until: OptionalTimestamp;
  provider: ColumnType<string | null, string | null | undefined, string | null>;
  provider_message_id: ColumnType<string | null, string | null | undefined, string | null>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  resend_of: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  sent_at: OptionalTimestamp;
}

export type AttemptOutcome = 'sent' | 'transient' | 'permanent';

export interface DeliveryAttemptsTable {
  id: Generated<bigint>;
  delivery_id: string;
  attempt: number;
  provider: string;
  outcome: AttemptOutcome;
  provider_message_id: string | null;
  error: string | null;
  duration_ms: number;
  created_at: DefaultTimestamp;
}

/** Non-production only: every message as it would have reached the user. */
export interface DevOutboxTable {
  id: Generated<bigint>;
  delivery_id: string;
  to: string;
  channel: Channel;
  subject: string | null;
  body: string;
  created_at: DefaultTimestamp;
}

export interface NotificationDatabase extends MessagingTables {
  recipients: RecipientsTable;
  phone_verifications: PhoneVerificationsTable;
  preferences: PreferencesTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  dev_outbox: DevOutboxTable;
}

export type { JsonColumn };
