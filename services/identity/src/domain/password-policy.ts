/**
 * Password rules (OWASP ASVS V2.1 / NIST 800-63B): 12 to 128 characters, any characters, no
 * composition rules, refused when it is a known common password or a strength estimator (zxcvbn)
 * rates it weak, counting the user's own e-mail and name against it.
 */
import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { adjacencyGraphs, dictionary } from '@zxcvbn-ts/language-common';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;
/** zxcvbn score 0..4; 3 = "safely unguessable: moderate protection from offline slow-hash scenario". */
export const PASSWORD_MIN_SCORE = 3;

const zxcvbn = new ZxcvbnFactory({ dictionary: { ...dictionary }, graphs: adjacencyGraphs });
const commonPasswords = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));

/**
 * Context-specific words (ASVS 6.1.2 / 6.2.11): the product, its services and its operator, counted by
 * the strength estimator as if they were dictionary words, so `WalletLedger2026!` is rated as weak as it is.
 */
export const CONTEXT_WORDS: readonly string[] = [
  'wallet',
  'walletplatform',
  'wallet-platform',
  'ledger',
  'identity',
  'payments',
  'payout',
  'transfer',
];

/** NFKC so that the same password typed on two keyboards hashes the same (NIST 800-63B 5.1.1.2). */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

/**
 * A password holding a context word must keep 8 letters of its own besides the context words, digits and
 * symbols (a password with no context word is not judged here: no composition rule, ASVS 6.2.5).
 */
function mostlyContextWords(lowered: string): boolean {
  let rest = lowered;
  for (const word of [...CONTEXT_WORDS].sort((a, b) => b.length - a.length)) rest = rest.split(word).join('');
  if (rest === lowered) return false;
  return [...rest.replace(/[\p{N}\p{P}\p{S}\s]/gu, '')].length < 8;
}

export type PasswordVerdict = { ok: true } | { ok: false; reason: string };

export function checkPasswordPolicy(password: string, userInputs: readonly string[] = []): PasswordVerdict {
  const normalised = normalisePassword(password);
  const length = [...normalised].length;
  if (length < PASSWORD_MIN_LENGTH)
    return { ok: false, reason: `must be at least ${PASSWORD_MIN_LENGTH} characters` };
  if (length > PASSWORD_MAX_LENGTH)
    return { ok: false, reason: `must be at most ${PASSWORD_MAX_LENGTH} characters` };
  if (commonPasswords.has(normalised.toLowerCase()))
    return { ok: false, reason: 'is a commonly used password' };
  const lowered = normalised.toLowerCase();
  const personal = userInputs
    .flatMap((i) => [i, i.split('@')[0] ?? ''])
    .map((i) => i.toLowerCase())
    .filter((i) => i.length >= 4);
  if (personal.some((i) => lowered.includes(i)))
    return { ok: false, reason: 'must not contain your e-mail address or name' };
  if (mostlyContextWords(lowered))
    return { ok: false, reason: 'is made mostly of words about this service; add words of your own' };
  const inputs = [...userInputs, ...CONTEXT_WORDS]
    .flatMap((i) => [i, ...i.split(/[@.\s_+-]+/)])
    .filter((i) => i.length >= 3);
  const result = zxcvbn.check(normalised, inputs);
  if (result.score < PASSWORD_MIN_SCORE) {
    const hint = result.feedback.warning ? ` (${result.feedback.warning})` : '';
    return {
      ok: false,
      reason: `is too easy to guess${hint}; a longer phrase of unrelated words works well`,
    };
  }
  return { ok: true };
}
