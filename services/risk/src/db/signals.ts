/** Reads, in one round trip, what risk's database knows about the user for one assessment. */
import { sql, type Kysely } from 'kysely';
import type { RiskDatabase } from './schema.ts';

export interface ProfileSignals {
  amountStats: { samples: number; median: bigint; mad: bigint } | null;
  counterpartyKnown: boolean | null;
  deviceKnown: boolean | null;
  sessionCreatedAt: Date | null;
  sessionOnNewDevice: boolean;
  otherDeviceKnown: boolean;
  earlierSession: boolean;
  failedLogins: number;
  recentRefunds: number;
  lastDepositAt: Date | null;
}

interface SignalsRow {
  stats_samples: number | null;
  stats_median: string | null;
  stats_mad: string | null;
  counterparty_known: boolean | null;
  device_known: boolean | null;
  session_created_at: Date | null;
  session_new_device: boolean | null;
  other_device_known: boolean;
  earlier_session: boolean;
  failed_logins: number;
  recent_refunds: number;
  last_deposit_at: Date | null;
}

export async function loadProfileSignals(
  db: Kysely<RiskDatabase>,
  query: {
    userId: string;
    currency: string | null;
    counterparty: string | null;
    deviceId: string | null;
    sessionId: string | null;
    failedLoginsSince: Date;
    refundsSince: Date;
    /** Sessions that began before this instant count as earlier (when the current one is unknown). */
    now: Date;
  },
): Promise<ProfileSignals> {
  const { userId } = query;
  const result = await sql<SignalsRow>`
    select
      s.sample_count as stats_samples, s.median::text as stats_median, s.mad::text as stats_mad,
      case when ${query.counterparty}::text is null then null else exists(
        select 1 from known_counterparties k where k.user_id = ${userId} and k.counterparty = ${query.counterparty}
      ) end as counterparty_known,
      case when ${query.deviceId}::text is null then null else exists(
        select 1 from known_devices d where d.user_id = ${userId} and d.device_id = ${query.deviceId}
      ) end as device_known,
      ses.created_at as session_created_at,
      ses.new_device as session_new_device,
      exists(
        select 1 from known_devices d where d.user_id = ${userId}
          and d.device_id is distinct from ${query.deviceId}::text
      ) as other_device_known,
      exists(
        select 1 from sessions e where e.user_id = ${userId}
          and e.session_id is distinct from ${query.sessionId}::text
          and e.created_at < coalesce(ses.created_at, ${query.now}::timestamptz)
      ) as earlier_session,
      (select count(*)::int from login_failures f where f.user_id = ${userId} and f.occurred_at >= ${query.failedLoginsSince}) as failed_logins,
      (select count(*)::int from refunds r
        where (r.payer_user_id = ${userId} or r.payee_user_id = ${userId}) and r.occurred_at >= ${query.refundsSince}) as recent_refunds,
      (select max(dep.occurred_at) from deposits dep where dep.user_id = ${userId}) as last_deposit_at
    from (select 1) as one
    left join amount_stats s on s.user_id = ${userId} and s.currency = ${query.currency}
    left join sessions ses on ses.session_id = ${query.sessionId} and ses.user_id = ${userId}
  `.execute(db);
  const row = result.rows[0];
  if (!row) throw new Error('profile signals query returned no row');
  return {
    amountStats:
      row.stats_samples !== null && row.stats_median !== null && row.stats_mad !== null
        ? { samples: row.stats_samples, median: BigInt(row.stats_median), mad: BigInt(row.stats_mad) }
        : null,
    counterpartyKnown: row.counterparty_known,
    deviceKnown: row.device_known,
    sessionCreatedAt: row.session_created_at,
    sessionOnNewDevice: row.session_new_device === true,
    otherDeviceKnown: row.other_device_known,
    earlierSession: row.earlier_session,
    failedLogins: row.failed_logins,
    recentRefunds: row.recent_refunds,
    lastDepositAt: row.last_deposit_at,
  };
}
