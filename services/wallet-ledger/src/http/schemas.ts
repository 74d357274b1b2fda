/** Request schemas of the ledger's API (also the source of its OpenAPI document). */
import { currencySchema, paginationQuerySchema, positiveAmountSchema } from '@wallet/contracts';
import { z } from 'zod';

export const walletIdParams = z.object({ walletId: z.uuid() });
export const transferIdParams = z.object({ transferId: z.uuid() });

export const openWalletBody = z.strictObject({ currency: currencySchema });

export const walletQuery = z.object({ at: z.iso.datetime({ offset: true }).optional() });

export const historyQuery = paginationQuerySchema;

export const transferBody = z.strictObject({
  fromWalletId: z.uuid(),
  toWalletId: z.uuid(),
  amount: positiveAmountSchema,
  currency: currencySchema,
  description: z.string().trim().min(1).max(280).optional(),
});

export const refundBody = z.strictObject({
  amount: positiveAmountSchema,
  reason: z.string().trim().min(1).max(280).optional(),
});

export const withdrawalBody = z.strictObject({
  walletId: z.uuid(),
  amount: positiveAmountSchema,
  currency: currencySchema,
  destination: z.string().trim().min(1).max(140),
});

export const adjustmentBody = z.strictObject({
  walletId: z.uuid(),
  amount: positiveAmountSchema,
  direction: z.enum(['credit', 'debit']),
  reason: z.string().trim().min(3).max(500),
});
