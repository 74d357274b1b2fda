/** E-mail addresses as identity keys: one account per address, whatever its case or Unicode form. */
import { z } from 'zod';

/**
 * Trimmed, Unicode NFC, lower-cased. Lower-casing the local part is not what RFC 5321 promises, but
 * every mailbox provider users meet treats it case-insensitively, and two accounts differing only by
 * case are an account-takeover and support hazard.
 */
export function normaliseEmail(raw: string): string {
  return raw.trim().normalize('NFC').toLowerCase();
}

export const emailSchema = z
  .string()
  .max(254)
  .transform(normaliseEmail)
  .pipe(z.email({ message: 'must be an e-mail address' }).max(254));
