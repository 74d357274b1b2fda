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

export const deadLetterQuery = z.object({
  topic: z.string().min(1).max(200).optional(),
  service: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(/^[1-9][0-9]{0,18}$/).optional(),
});

export const replayBody = z.union([
  z.strictObject({ ids: z.array(z.string().regex(/^[1-9][0-9]{0,18}$/)).min(1).max(1000) }),
  z.strictObject({ service: z.string().optional(), topic: z.string().min(1).max(200) }),
]);
