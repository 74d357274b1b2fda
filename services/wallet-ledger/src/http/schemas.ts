/** Request schemas of the ledger's API (also the source of its OpenAPI document). */
import {
  currencySchema,
  paginationQuerySchema,
  positiveAmountSchema,
  refineAmountForCurrency,
} from '@wallet/contracts';
import { z } from 'zod';

export const walletIdParams = z.object({ walletId: z.uuid() });
export const transferIdParams = z.object({ transferId: z.uuid() });

export const openWalletBody = z.strictObject({ currency: currencySchema });

export const walletQuery = z.object({ at: z.iso.datetime({ offset: true }).optional() });

export const historyQuery = paginationQuerySchema;

export const transferBody = z
  .strictObject({
    fromWalletId: z.uuid(),
    toWalletId: z.uuid(),
    amount: positiveAmountSchema,
    currency: currencySchema,
    description: z.string().trim().min(1).max(280).optional(),
  })
  .superRefine(refineAmountForCurrency);

export const refundBody = z.strictObject({
  amount: positiveAmountSchema,
  reason: z.string().trim().min(1).max(280).optional(),
});

export const withdrawalBody = z
  .strictObject({
    walletId: z.uuid(),
    amount: positiveAmountSchema,
    currency: currencySchema,
    destination: z.string().trim().min(1).max(140),
  })
  .superRefine(refineAmountForCurrency);

export const adjustmentBody = z.strictObject({
  walletId: z.uuid(),
  amount: positiveAmountSchema,
  direction: z.enum(['credit', 'debit']),
  reason: z.string().trim().min(3).max(500),
});

export const adjustmentRequestIdParams = z.object({ requestId: z.uuid() });

export const adjustmentDecisionBody = z.strictObject({
  comment: z.string().trim().min(1).max(500).optional(),
});

export const adjustmentListQuery = z.object({
  status: z.enum(['pending', 'approved', 'rejected', 'expired']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).max(64).optional(),
});
