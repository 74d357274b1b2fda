/**
 * Notification categories and the user's per-category channel choices. Security alerts and account
 * messages (verification codes) are mandatory: no preference can switch them off.
 */
import { z } from 'zod';

export const CHANNELS = ['email', 'sms', 'push'] as const;
export type Channel = (typeof CHANNELS)[number];

export const CATEGORIES = ['security', 'account', 'payments', 'balance'] as const;
export type Category = (typeof CATEGORIES)[number];

export const MANDATORY_CATEGORIES: ReadonlySet<Category> = new Set<Category>(['security', 'account']);

export type ChannelSwitches = Record<Channel, boolean>;
export type PreferenceSet = Record<Category, ChannelSwitches>;

export const DEFAULT_PREFERENCES: PreferenceSet = {
  security: { email: true, sms: true, push: true },
  account: { email: true, sms: false, push: false },
  payments: { email: true, sms: false, push: true },
  balance: { email: true, sms: false, push: true },
};

export function isMandatory(category: Category): boolean {
  return MANDATORY_CATEGORIES.has(category);
}

/** Stored rows over the defaults. Rows for mandatory categories are ignored (they cannot be switched off). */
export function effectivePreferences(
  rows: readonly { category: string; email: boolean; sms: boolean; push: boolean }[],
): PreferenceSet {
  const result: PreferenceSet = structuredClone(DEFAULT_PREFERENCES);
  for (const row of rows) {
    if (!(CATEGORIES as readonly string[]).includes(row.category)) continue;
    const category = row.category as Category;
    if (isMandatory(category)) continue;
    result[category] = { email: row.email, sms: row.sms, push: row.push };
  }
  return result;
}

/** Whether `channel` may carry a message of `category` for a user with these preferences. */
export function channelAllowed(preferences: PreferenceSet, category: Category, channel: Channel): boolean {
  return isMandatory(category) || preferences[category][channel];
}

const switchesSchema = z.strictObject({ email: z.boolean(), sms: z.boolean(), push: z.boolean() });
const partialSwitchesSchema = z.strictObject({
  email: z.boolean().optional(),
  sms: z.boolean().optional(),
  push: z.boolean().optional(),
});

/**
 * PUT body: either `{email, sms, push}` (applies to every category that can be switched off) or
 * per category `{payments: {email, sms, push}, balance: {...}}` (each channel optional).
 * Turning a channel of a mandatory category off is refused, not silently ignored.
 */
export const preferencesUpdateSchema = z.union([
  switchesSchema,
  z
    .strictObject({
      security: partialSwitchesSchema.optional(),
      account: partialSwitchesSchema.optional(),
      payments: partialSwitchesSchema.optional(),
      balance: partialSwitchesSchema.optional(),
    })
    .superRefine((value, ctx) => {
      for (const category of MANDATORY_CATEGORIES) {
        const switches = value[category];
        for (const channel of CHANNELS) {
          if (switches?.[channel] === false) {
            ctx.addIssue({
              code: 'custom',
              path: [category, channel],
              message: `${category} messages cannot be switched off`,
            });
          }
        }
      }
    }),
]);
export type PreferencesUpdate = z.infer<typeof preferencesUpdateSchema>;

/** Applies an update to the current preferences; returns the categories whose switches changed. */
export function applyPreferencesUpdate(
  current: PreferenceSet,
  update: PreferencesUpdate,
): Partial<Record<Category, ChannelSwitches>> {
  const changed: Partial<Record<Category, ChannelSwitches>> = {};
  const isFlat = 'email' in update && typeof update.email === 'boolean' && !('payments' in update);
  for (const category of CATEGORIES) {
    if (isMandatory(category)) continue;
    const patch: Partial<ChannelSwitches> | undefined = isFlat
      ? update
      : (update as Partial<Record<Category, Partial<ChannelSwitches>>>)[category];
    if (!patch) continue;
    changed[category] = { ...current[category], ...stripUndefined(patch) };
  }
  return changed;
}

function stripUndefined(patch: Partial<ChannelSwitches>): Partial<ChannelSwitches> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
}

/** The answer of GET/PUT: every category with its switches and whether it can be switched off. */
export function describePreferences(
  preferences: PreferenceSet,
): Record<Category, ChannelSwitches & { mandatory: boolean }> {
  return Object.fromEntries(
    CATEGORIES.map((c) => [c, { ...preferences[c], mandatory: isMandatory(c) }]),
  ) as Record<Category, ChannelSwitches & { mandatory: boolean }>;
}
