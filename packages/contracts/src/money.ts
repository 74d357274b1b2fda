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
  });

export function currencyExponent(currency: CurrencyCode): number {
  return CURRENCY_EXPONENTS[currency];
}

/** Upper bound on any single amount: 10^30 minor units fits numeric(38,0) with room for sums. */
export const MAX_AMOUNT = 10n ** 30n;

const MINOR_UNITS = /^(0|[1-9][0-9]{0,29})$/;

export class AmountFormatError extends Error {
  override name = 'AmountFormatError';
}

/** Parses a decimal string of minor units; refuses signs, decimals, exponents, leading zeros. */
export function parseMinorUnits(value: string): bigint {
  if (!MINOR_UNITS.test(value)) {
    throw new AmountFormatError('amount must be a decimal string of integer minor units, e.g. "1050"');
  }
  return BigInt(value);
}

export function formatMinorUnits(value: bigint): string {
  return value.toString(10);
}

/** A positive amount in minor units, decoded from its decimal string. */
export const positiveAmountSchema = z
  .string()
  .regex(MINOR_UNITS, 'amount must be a decimal string of integer minor units, e.g. "1050"')
  .transform((s) => BigInt(s))
  .refine((n) => n > 0n, 'amount must be greater than zero');

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

/** Converts a major-unit decimal ("10.50") to minor units exactly, refusing excess precision. */
export function majorToMinor(major: string, currency: CurrencyCode): bigint {
  const exponent = currencyExponent(currency);
  const match = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(major);
  if (!match) throw new AmountFormatError(`not a decimal amount: ${major}`);
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    throw new AmountFormatError(`${currency} has ${exponent} decimal places; got ${fraction.length}`);
  }
  return BigInt(`${match[1]}${fraction.padEnd(exponent, '0')}`);
}
