/** Reads of the users table shared by several use cases. */
import type { Kysely, Transaction } from 'kysely';
import type { IdentityDatabase } from './schema.ts';

/** The user with this (normalised) e-mail address: id and address only. */
export function findUserByEmail(
  db: Kysely<IdentityDatabase> | Transaction<IdentityDatabase>,
  email: string,
): Promise<{ id: string; email: string } | undefined> {
  return db.selectFrom('users').select(['id', 'email']).where('email', '=', email).executeTakeFirst();
}
