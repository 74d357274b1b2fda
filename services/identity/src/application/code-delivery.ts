/**
 * Delivery of one-time codes by reference (issue 17). Registration and recovery open a pending code
 * row and publish only its id (`codeRef`); the notification service, when it sends the message, asks
 * identity over an authorised service call to mint the code for that reference. The code exists in
 * plain text only in that answer and in the message that reaches the user: never in an event, an
 * outbox/inbox/dead-letter row, a broker, a log line, or this database (which keeps its keyed hash).
 *
 * Each call mints a new code and replaces the previous one (a send retried after a failure carries a
 * fresh code; an earlier copy stops working). The reference stays usable until the code is used,
 * replaced by a newer request, burnt by wrong guesses, expired, or issued CODE_MAX_ISSUES times.
 */
import { sql } from 'kysely';
import { HttpProblem, problems } from '@wallet/service-kit';
import { ProblemType } from '@wallet/contracts';
import type { CodePurpose } from '../db/schema.ts';
import { numericCode } from '../domain/codes.ts';
import type { IdentityDeps } from './context.ts';

/** Digits per purpose: a recovery code guards more (it resets the password), so it is longer. */
export const CODE_DIGITS: Record<CodePurpose, number> = { 'email-verification': 6, recovery: 8 };

/** What the keyed hash is computed over: the purpose is bound in, so a code of one purpose never serves another. */
export function codeHashInput(purpose: CodePurpose, code: string): string {
  return `${purpose}:${code}`;
}

export interface IssuedCode {
  purpose: CodePurpose;
  code: string;
  expiresAt: Date;
}

const unavailable = (detail: string) =>
  new HttpProblem({ status: 410, type: ProblemType.codeUnavailable, title: 'Code unavailable', detail });

/**
 * Mints the code for a pending reference, for the notification service to put in the message it is
 * sending to `recipient`. Refuses (410) a reference that can no longer be used and (409) a recipient
 * other than the account's own address, so a forged or stale event cannot route a code elsewhere.
 */
export async function issueCodeForDelivery(
  deps: IdentityDeps,
  input: { codeRef: string; recipient: string },
): Promise<IssuedCode> {
  return deps.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('one_time_codes')
      .innerJoin('users', 'users.id', 'one_time_codes.user_id')
      .select([
        'one_time_codes.id',
        'one_time_codes.purpose',
        'one_time_codes.expires_at',
        'one_time_codes.consumed_at',
        'one_time_codes.issued_count',
        'users.email',
      ])
      .where('one_time_codes.id', '=', input.codeRef)
      .forUpdate('one_time_codes')
      .executeTakeFirst();
    if (!row) throw problems.notFound('No such one-time code reference.');
    if (row.consumed_at !== null)
      throw unavailable('The code was used, replaced by a newer request, or burnt by wrong guesses.');
    if (row.expires_at.getTime() <= Date.now()) throw unavailable('The code request has expired.');
    if (row.issued_count >= deps.config.CODE_MAX_ISSUES)
      throw unavailable('The code was issued too many times.');
    if (row.email !== input.recipient.trim().toLowerCase()) {
      throw problems.conflict('The recipient is not the address of the account.');
    }
    const code = numericCode(CODE_DIGITS[row.purpose]);
    await trx
      .updateTable('one_time_codes')
      .set((eb) => ({
        code_hash: deps.ring.hashCode(codeHashInput(row.purpose, code)),
        issued_count: eb('issued_count', '+', 1),
        issued_at: sql<Date>`now()`,
      }))
      .where('id', '=', row.id)
      .execute();
    return { purpose: row.purpose, code, expiresAt: row.expires_at };
  });
}
