/** Web sessions, the append-only audit log and partner API clients. */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table web_sessions (
      id_hash text primary key,
      user_id text not null,
      identity_session_id text not null,
      access_token_enc text not null,
      refresh_token_enc text not null,
      access_expires_at timestamptz not null,
      created_at timestamptz not null default now(),
      last_seen_at timestamptz not null default now(),
      expires_at timestamptz not null
    )`.execute(db);
  await sql`create index web_sessions_identity_session_idx on web_sessions (identity_session_id)`.execute(db);
  await sql`create index web_sessions_expires_idx on web_sessions (expires_at)`.execute(db);

  await sql`
    create table audit_log (
      id bigint generated always as identity primary key,
      occurred_at timestamptz not null default now(),
      actor text not null,
      actor_roles jsonb not null default '[]',
      session_id text,
      action text not null,
      target jsonb not null default '{}',
      outcome text not null check (outcome in ('allowed', 'denied', 'failed')),
      status integer not null,
      ip text,
      user_agent text,
      request_id text not null,
      upstream_app text
    )`.execute(db);
  await sql`create index audit_log_actor_idx on audit_log (actor, id desc)`.execute(db);
  await sql`create index audit_log_action_idx on audit_log (action, id desc)`.execute(db);
  await sql`
    create function audit_log_is_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
    end $$`.execute(db);
  await sql`
    create trigger audit_log_append_only before update or delete on audit_log
    for each row execute function audit_log_is_append_only()`.execute(db);
  await sql`
    create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_is_append_only()`.execute(db);

  await sql`
    create table api_clients (
      key_id text primary key,
      owner_user_id text not null,
      secret_enc text not null,
      description text not null default '',
      active boolean not null default true,
      created_at timestamptz not null default now(),
      revoked_at timestamptz
    )`.execute(db);
}
