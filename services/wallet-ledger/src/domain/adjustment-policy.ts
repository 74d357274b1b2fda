/**
 * Four eyes on admin adjustments, as rules with no I/O: who may request or approve which amount,
 * and on which wallet. The routes apply them; the database re-checks maker != checker.
 */
import { currencyExponent, ROLES, type CurrencyCode, type Role } from '@wallet/contracts';

/**
 * Per role, the largest adjustment (in MAJOR units of the wallet's currency: `admin=10000` is
 * 10,000.00 EUR, 10,000 JPY, 10,000.000 KWD; there are no exchange rates in the ledger) a holder of
 * that role may request or approve. A role without an entry may do neither. A caller with several
 * roles gets the highest of their ceilings.
 */
export type AdjustmentCeilings = ReadonlyMap<Role, bigint>;

/** Parses `role=majorUnits[,role=majorUnits...]`, e.g. `admin=10000`. */
export function parseAdjustmentCeilings(text: string): AdjustmentCeilings {
  const ceilings = new Map<Role, bigint>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([a-z]+)=(0|[1-9][0-9]{0,11})$/.exec(part);
    const role = match?.[1] as Role | undefined;
    if (!match || !role || !ROLES.includes(role)) {
      throw new Error(
        `"${part}": expected role=major-units with a role of ${ROLES.join('|')} (at most 12 digits)`,
      );
    }
    ceilings.set(role, BigInt(match[2]!));
  }
  return ceilings;
}

/** The caller's ceiling in minor units of `currency` (0n: may not adjust at all). */
export function ceilingFor(
  ceilings: AdjustmentCeilings,
  roles: readonly Role[],
  currency: CurrencyCode,
): bigint {
  const scale = 10n ** BigInt(currencyExponent(currency));
  return roles.reduce((best, role) => {
    const major = ceilings.get(role);
    return major !== undefined && major * scale > best ? major * scale : best;
  }, 0n);
}

export type AdjustmentRefusal =
  | { reason: 'own-wallet'; detail: string }
  | { reason: 'ceiling'; detail: string; ceiling: bigint }
  | { reason: 'four-eyes'; detail: string };

interface Actor {
  sub: string;
  roles: readonly Role[];
}

interface RequestFacts {
  walletOwnerId: string;
  currency: CurrencyCode;
  amount: bigint;
}

function withinCeiling(
  ceilings: AdjustmentCeilings,
  actor: Actor,
  request: RequestFacts,
  step: 'request' | 'approve',
): AdjustmentRefusal | undefined {
  const ceiling = ceilingFor(ceilings, actor.roles, request.currency);
  if (request.amount <= ceiling) return undefined;
  return {
    reason: 'ceiling',
    ceiling,
    detail: `Your roles may ${step} adjustments of at most ${ceiling.toString()} minor units of ${request.currency}.`,
  };
}

/** May `maker` ask for this adjustment? Never on their own wallet, never above their ceiling. */
export function checkRequest(
  ceilings: AdjustmentCeilings,
  maker: Actor,
  request: RequestFacts,
): AdjustmentRefusal | undefined {
  if (request.walletOwnerId === maker.sub)
    return { reason: 'own-wallet', detail: 'An adjustment may not be requested on your own wallet.' };
  return withinCeiling(ceilings, maker, request, 'request');
}

/**
 * May `checker` approve `maker`'s request? Not the maker; not on the checker's own wallet (nor the
 * maker's, checked again as defence in depth); within the checker's own ceiling.
 */
export function checkApproval(
  ceilings: AdjustmentCeilings,
  checker: Actor,
  makerSub: string,
  request: RequestFacts,
): AdjustmentRefusal | undefined {
  if (checker.sub === makerSub)
    return { reason: 'four-eyes', detail: 'A second admin must approve: you requested this adjustment.' };
  if (request.walletOwnerId === checker.sub || request.walletOwnerId === makerSub)
    return {
      reason: 'own-wallet',
      detail:
        'An adjustment may not be approved on your own wallet or on the wallet of the admin who requested it.',
    };
  return withinCeiling(ceilings, checker, request, 'approve');
}
