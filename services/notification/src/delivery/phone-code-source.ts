/**
 * The code of a phone verification SMS, minted by notification itself when the worker sends it (the
 * phone number is notification's, not identity's). Same contract as identity's codes: a fresh code
 * per send, only its keyed hash stored, a refused request final for the delivery.
 */
import type { Kysely } from 'kysely';
import { mintPhoneCode, type PhoneCodePolicy } from '../db/phone-verifications.ts';
import type { NotificationDatabase } from '../db/schema.ts';
import { ProviderError } from '../providers/types.ts';
import type { OneTimeCodeSource } from './one-time-codes.ts';

export function createPhoneCodeSource(
  db: Kysely<NotificationDatabase>,
  policy: PhoneCodePolicy,
): OneTimeCodeSource {
  return {
    async issue(codeRef, recipient) {
      let minted;
      try {
        minted = await db
          .transaction()
          .execute((trx) => mintPhoneCode(trx, { verificationId: codeRef, phone: recipient, policy }));
      } catch (error) {
        throw new ProviderError('phone code: database unavailable', 'transient', { cause: error });
      }
      if (!minted.ok) throw new ProviderError(`phone code: request ${minted.reason}`, 'permanent');
      return { purpose: 'phone-verification', code: minted.code, expiresAt: minted.expiresAt.toISOString() };
    },
  };
}
