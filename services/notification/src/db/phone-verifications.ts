/**
 * Proving a phone number (issue 20). Setting a number stores it unverified and opens a verification
 * request whose code SMS is the only message that may go to an unverified number; requests are
 * limited per user and per number, so the feature cannot be used to spam a stranger. The code is
 * minted when the SMS is sent (`mintPhoneCode`, by the delivery worker), like identity's codes: it
 * is never in a delivery row, an event, an outbox/inbox/dead-letter row or a log line, and this
 * database keeps only its keyed hash. Confirming the code marks the number verified.
 */
import { randomUUID } from 'node:crypto';
import { ProblemType } from '@wallet/contracts';
import { HttpProblem } from '@wallet/service-kit';
import { sql, type Kysely, type Transaction } from 'kysely';
import { CODE_MASK } from '../domain/catalog.ts';
import { newPhoneCode, phoneCodeHash, phoneCodeMatches } from '../domain/phone-codes.ts';
import type { TemplateRenderer } from '../templates/renderer.ts';
import type { NotificationDatabase } from './schema.ts';

type Trx = Transaction<NotificationDatabase>;

export const PHONE_VERIFICATION_TEMPLATE = 'phone-verification';
/** `event_type` of the code deliveries (they come from the user's request, not from an event). */
export const PHONE_VERIFICATION_EVENT_TYPE = 'notification.phone-verification.requested';

export interface PhoneCodePolicy {
  hashKey: string;
  ttlSeconds: number;
  maxGuesses: number;
  maxPerUser: number;
  maxPerNumber: number;
  windowSeconds: number;
  /** Send attempts of the code delivery (each mints a fresh code). */
  maxAttempts: number;
}

export const phoneProblems = {
  throttled: (retryAfterSeconds: number) =>
    new HttpProblem({
      status: 429,
      type: ProblemType.rateLimited,
      title: 'Too many codes',
      detail: 'Too many verification codes were requested for this account or number. Try again later.',
      headers: { 'Retry-After': String(retryAfterSeconds) },
      extensions: { retryAfter: retryAfterSeconds, policy: 'phone-verification-codes' },
    }),
  invalidCode: () =>
    new HttpProblem({
      status: 400,
      type: ProblemType.invalidCode,
      title: 'Invalid code',
      detail: 'The code is wrong, expired, already used or replaced by a newer one.',
    }),
};

/** Closes the user's open verification requests (a new number, a new request, or no number at all). */
export async function closeOpenVerifications(trx: Trx, userId: string): Promise<void> {
  await trx
    .updateTable('phone_verifications')
    .set({ closed_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('closed_at', 'is', null)
    .execute();
}

/** Seconds until a request slot frees up, if `count` recent requests already reach `max`. */
async function secondsUntilAllowed(
  trx: Trx,
  column: 'user_id' | 'phone',
  value: string,
  policy: PhoneCodePolicy,
  max: number,
): Promise<number | undefined> {
  const recent = await trx
    .selectFrom('phone_verifications')
    .select(
      sql<number>`extract(epoch from created_at + ${policy.windowSeconds} * interval '1 second' - now())`.as(
        'left',
      ),
    )
    .where(column, '=', value)
    .where('created_at', '>', sql<Date>`now() - ${policy.windowSeconds} * interval '1 second'`)
    .orderBy('created_at', 'desc')
    .limit(max)
    .execute();
  if (recent.length < max) return undefined;
  // The oldest of the `max` newest requests leaves the window first.
  return Math.max(1, Math.ceil(Number(recent[recent.length - 1]!.left)));
}

/**
 * Opens a verification request for `phone` and queues its code SMS, or throws 429 when the user or
 * the number has had too many codes in the window. Serialised per user and per number (advisory
 * locks) so concurrent requests cannot both pass the count.
 */
export async function requestPhoneCode(
  trx: Trx,
  input: {
    userId: string;
    phone: string;
    locale: string;
    renderer: TemplateRenderer;
    policy: PhoneCodePolicy;
  },
): Promise<{ verificationId: string; deliveryId: string }> {
  const { userId, phone, policy } = input;
  // Fixed order (user, then number) so two transactions never wait on each other crosswise.
  await sql`select pg_advisory_xact_lock(hashtextextended(${`phone-code:user:${userId}`}, 0))`.execute(trx);
  await sql`select pg_advisory_xact_lock(hashtextextended(${`phone-code:number:${phone}`}, 0))`.execute(trx);
  const wait = Math.max(
    (await secondsUntilAllowed(trx, 'user_id', userId, policy, policy.maxPerUser)) ?? 0,
    (await secondsUntilAllowed(trx, 'phone', phone, policy, policy.maxPerNumber)) ?? 0,
  );
  if (wait > 0) throw phoneProblems.throttled(wait);

  await closeOpenVerifications(trx, userId);
  const verificationId = randomUUID();
  await trx
    .insertInto('phone_verifications')
    .values({ id: verificationId, user_id: userId, phone })
    .execute();
  // Kept with the code masked; the worker renders the real message when it sends (mintPhoneCode).
  const vars = { minutes: Math.ceil(policy.ttlSeconds / 60) };
  const rendered = input.renderer.render(PHONE_VERIFICATION_TEMPLATE, 'sms', input.locale, {
    ...vars,
    code: CODE_MASK,
  });
  const deliveryId = randomUUID();
  await trx
    .insertInto('deliveries')
    .values({
      id: deliveryId,
      user_id: userId,
      event_id: verificationId,
      event_type: PHONE_VERIFICATION_EVENT_TYPE,
      template: PHONE_VERIFICATION_TEMPLATE,
      category: 'account',
      channel: 'sms',
      recipient: phone,
      locale: rendered.locale,
      subject: rendered.subject,
      body_text: rendered.text,
      body_html: null,
      sensitive: true,
      code_ref: verificationId,
      template_vars: JSON.stringify(vars),
      max_attempts: policy.maxAttempts,
    })
    .execute();
  return { verificationId, deliveryId };
}

export type MintRefusal = 'unknown' | 'closed' | 'number-changed' | 'issued-too-often';

/**
 * Mints the code of an open request at send time, replacing the previous one (a retried send carries
 * a working code), and returns it. Refuses a request that is closed, whose number is no longer the
 * user's, or that was issued too often.
 */
export async function mintPhoneCode(
  trx: Trx,
  input: { verificationId: string; phone: string; policy: PhoneCodePolicy },
): Promise<{ ok: true; code: string; expiresAt: Date } | { ok: false; reason: MintRefusal }> {
  const row = await trx
    .selectFrom('phone_verifications')
    .leftJoin('recipients', 'recipients.user_id', 'phone_verifications.user_id')
    .select([
      'phone_verifications.id',
      'phone_verifications.phone',
      'phone_verifications.closed_at',
      'phone_verifications.issued_count',
      'recipients.phone as current_phone',
    ])
    .where('phone_verifications.id', '=', input.verificationId)
    .forUpdate('phone_verifications')
    .executeTakeFirst();
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.closed_at) return { ok: false, reason: 'closed' };
  if (row.phone !== input.phone || row.current_phone !== row.phone)
    return { ok: false, reason: 'number-changed' };
  if (row.issued_count >= input.policy.maxAttempts) return { ok: false, reason: 'issued-too-often' };
  const code = newPhoneCode();
  const updated = await trx
    .updateTable('phone_verifications')
    .set({
      code_hash: phoneCodeHash(input.policy.hashKey, row.id, row.phone, code),
      expires_at: sql<Date>`now() + ${input.policy.ttlSeconds} * interval '1 second'`,
      issued_count: row.issued_count + 1,
      failed_guesses: 0,
    })
    .where('id', '=', row.id)
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return { ok: true, code, expiresAt: updated.expires_at! };
}

/**
 * Checks a code for the user's current number. Right: the request closes and the number is verified.
 * Wrong: the guess is counted (and the request burnt at the limit) and committed by the caller's
 * transaction, then the caller answers 400.
 */
export async function confirmPhoneCode(
  trx: Trx,
  input: { userId: string; code: string; policy: PhoneCodePolicy },
): Promise<'verified' | 'wrong'> {
  const recipient = await trx
    .selectFrom('recipients')
    .select(['phone', 'phone_verified'])
    .where('user_id', '=', input.userId)
    .forUpdate()
    .executeTakeFirst();
  if (!recipient?.phone) return 'wrong';
  const open = await trx
    .selectFrom('phone_verifications')
    .select(['id', 'phone', 'code_hash', 'failed_guesses'])
    .where('user_id', '=', input.userId)
    .where('phone', '=', recipient.phone)
    .where('closed_at', 'is', null)
    .where('code_hash', 'is not', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .orderBy('created_at', 'desc')
    .forUpdate()
    .executeTakeFirst();
  if (!open?.code_hash) return 'wrong';
  if (
    phoneCodeMatches(
      input.policy.hashKey,
      { id: open.id, phone: open.phone, codeHash: open.code_hash },
      input.code,
    )
  ) {
    await trx
      .updateTable('phone_verifications')
      .set({ closed_at: sql<Date>`now()` })
      .where('id', '=', open.id)
      .execute();
    await trx
      .updateTable('recipients')
      .set({ phone_verified: true, updated_at: sql<Date>`now()` })
      .where('user_id', '=', input.userId)
      .execute();
    return 'verified';
  }
  const guesses = open.failed_guesses + 1;
  await trx
    .updateTable('phone_verifications')
    .set({
      failed_guesses: guesses,
      ...(guesses >= input.policy.maxGuesses ? { closed_at: sql<Date>`now()` } : {}),
    })
    .where('id', '=', open.id)
    .execute();
  return 'wrong';
}

/** Whether an SMS (other than a code SMS) may go to `phone` for `userId`: it must be their verified number. */
export async function phoneVerifiedFor(
  db: Trx | Kysely<NotificationDatabase>,
  userId: string,
  phone: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('recipients')
    .select(['phone', 'phone_verified'])
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return row?.phone === phone && row.phone_verified;
}

export const SKIPPED_UNVERIFIED_PHONE = 'skipped: phone number not verified';
