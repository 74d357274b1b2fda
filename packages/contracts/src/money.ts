/**
 * Money is integer minor units (bigint) with an ISO 4217 currency. JSON carries amounts as decimal
 * strings of minor units ("1050" = 10.50 EUR) so no float ever touches a balance.
 */
import { z } from 'zod';

/** ISO 4217 minor-unit exponents for the currencies the platform accepts. */
export const CURRENCY_EXPONENTS = {
  AED: 2,
  AUD: 2,
  BGN: 2,
  BHD: 3,
  BRL: 2,
  CAD: 2,
  CHF: 2,
  CLP: 0,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  HUF: 2,
  IDR: 2,
  ILS: 2,
  INR: 2,
  ISK: 0,
  JOD: 3,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  MXN: 2,
  NOK: 2,
  NZD: 2,
  OMR: 3,
  PLN: 2,
  RON: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TND: 3,
  TRY: 2,
  UGX: 0,
  USD: 2,
  VND: 0,
  XOF: 0,
  ZAR: 2,
} as const satisfies Record<string, number>;

export type CurrencyCode = keyof typeof CURRENCY_EXPONENTS;

export const currencySchema = z
  .string()
  .refine((c): c is CurrencyCode => Object.hasOwn(CURRENCY_EXPONENTS, c), {
    message: 'unsupported or invalid ISO 4217 currency code',
  })
  // A refinement is invisible to JSON Schema: the OpenAPI documents generated from this list the codes.
  .meta({ enum: Object.keys(CURRENCY_EXPONENTS) });

export function currencyExponent(currency: CurrencyCode): number {
  return CURRENCY_EXPONENTS[currency];
}

/**
 * Upper bound on any single amount entering the platform (a transfer, refund, withdrawal, deposit,
 * adjustment, risk assessment): at most 12 digits of major units, i.e. 10^(12 + exponent) - 1 minor
 * units (999,999,999,999.99 EUR; 999,999,999,999 JPY; 999,999,999,999.999 KWD). The largest, for
 * exponent-3 currencies, is 10^15 - 1: below 2^53, so even a client that reads amounts as doubles
 * keeps them exact, and int8 (9.2 * 10^18) holds the sum of more than 9,000 maximal amounts (92,000
 * for two-decimal currencies). The ledger's columns are numeric(38,0); the bound is about sanity at
 * the edge, not storage. Business limits (ceilings, risk) are far lower and live elsewhere.
 */
export const MAX_MAJOR_DIGITS = 12;

/** The largest amount of any currency (exponent 3): what a schema without a currency can check. */
export const MAX_AMOUNT = 10n ** 15n - 1n;

/** The largest single amount in `currency`, in minor units. */
export function maxAmount(currency: CurrencyCode): bigint {
  return 10n ** BigInt(MAX_MAJOR_DIGITS + currencyExponent(currency)) - 1n;
}

/** Why `amount` is out of bounds for `currency` (a message for a 400), or undefined when it is fine. */
export function amountBoundViolation(amount: bigint, currency: string): string | undefined {
  if (!Object.hasOwn(CURRENCY_EXPONENTS, currency)) return undefined; // the currency field reports it
  const max = maxAmount(currency as CurrencyCode);
  return amount > max ? `amount must not exceed ${max.toString()} minor units of ${currency}` : undefined;
}

/**
 * For `superRefine` on an object with `amount` (bigint) and `currency`: the per-currency maximum.
 * Use it wherever the request names its currency; the amount schema alone enforces MAX_AMOUNT.
 */
export function refineAmountForCurrency(
  value: { amount?: bigint | undefined; currency?: string | undefined },
  ctx: { addIssue(issue: { code: 'custom'; path: string[]; message: string }): void },
): void {
  if (value.amount === undefined || value.currency === undefined) return;
  const violation = amountBoundViolation(value.amount, value.currency);
  if (violation) ctx.addIssue({ code: 'custom', path: ['amount'], message: violation });
}

const DIGITS = /^(0|[1-9][0-9]*)$/;
const FORMAT_MESSAGE = 'amount must be a decimal string of integer minor units, e.g. "1050"';
const RANGE_MESSAGE = `amount must not exceed ${MAX_AMOUNT.toString()} minor units`;
/** Longer than any bound: refused before BigInt ever sees it. */
const MAX_AMOUNT_LENGTH = 40;

export class AmountFormatError extends Error {
  override name = 'AmountFormatError';
}

/** A well-formed amount above the platform's bound (a subclass, so format handlers still catch it). */
export class AmountRangeError extends AmountFormatError {
  override name = 'AmountRangeError';
}

/**
 * Parses a decimal string of minor units; refuses signs, decimals, exponents, leading zeros, and
 * anything above MAX_AMOUNT (or above `maxAmount(currency)` when the currency is given).
 */
export function parseMinorUnits(value: string, currency?: CurrencyCode): bigint {
  if (!DIGITS.test(value)) throw new AmountFormatError(FORMAT_MESSAGE);
  if (value.length > MAX_AMOUNT_LENGTH) throw new AmountRangeError(RANGE_MESSAGE);
  const amount = BigInt(value);
  if (amount > MAX_AMOUNT) throw new AmountRangeError(RANGE_MESSAGE);
  const violation = currency === undefined ? undefined : amountBoundViolation(amount, currency);
  if (violation) throw new AmountRangeError(violation);
  return amount;
}

export function formatMinorUnits(value: bigint): string {
  return value.toString(10);
}

/** A positive amount in minor units, decoded from its decimal string, at most MAX_AMOUNT. */
export const positiveAmountSchema = z
  .string()
  .max(MAX_AMOUNT_LENGTH, RANGE_MESSAGE)
  .regex(DIGITS, FORMAT_MESSAGE)
  .transform((s) => BigInt(s))
  .refine((n) => n > 0n, 'amount must be greater than zero')
  .refine((n) => n <= MAX_AMOUNT, RANGE_MESSAGE);

/** A non-negative amount string as it appears in answers and events (kept as a string). */
export const amountStringSchema = z
  .string()
  .regex(/^-?(0|[1-9][0-9]{0,37})$/, 'amount must be integer minor units');

/** Renders minor units as a human decimal ("1050", EUR -> "10.50"), for messages only, never for arithmetic. */
export function formatForDisplay(minor: bigint, currency: CurrencyCode): string {
  const exponent = currencyExponent(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const fraction = exponent === 0 ? '' : `.${digits.slice(-exponent)}`;
  return `${negative ? '-' : ''}${whole}${fraction} ${currency}`;
}

/** Converts a major-unit decimal ("10.50") to minor units exactly, refusing excess precision and the out-of-bounds. */
export function majorToMinor(major: string, currency: CurrencyCode): bigint {
  const exponent = currencyExponent(currency);
  const match = major.length > MAX_AMOUNT_LENGTH ? null : /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(major);
  if (!match) throw new AmountFormatError(`not a decimal amount: ${major}`);
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    throw new AmountFormatError(`${currency} has ${exponent} decimal places; got ${fraction.length}`);
  }
  const minor = BigInt(`${match[1]}${fraction.padEnd(exponent, '0')}`);
  const violation = amountBoundViolation(minor, currency);
  if (violation) throw new AmountRangeError(violation);
  return minor;
}
