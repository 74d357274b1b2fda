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
  // What the OpenAPI document promises (its input side): the address form the pipe below checks. A
  // pattern, not `format: email`: validators' e-mail formats differ from zod's (a label ending in `-`).
  .meta({ pattern: z.regexes.email.source })
  .transform(normaliseEmail)
  .pipe(z.email({ message: 'must be an e-mail address' }).max(254));
