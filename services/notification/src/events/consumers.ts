/**
 * Subscriptions to identity, ledger and risk events. Each event is applied once (inbox row and
 * deliveries commit together) and turned into delivery rows; the worker sends them.
 *
 * Answers: a payload that breaks its contract is DROPped (to the dead-letter topic, listed and
 * replayable); a recipient we do not know yet (identity's event not arrived) and any database error
 * are RETRYed, and dead-lettered by the transport when the retries run out. Nothing is acked unsent.
 */
import { randomUUID } from 'node:crypto';
import type { EventData } from '@wallet/contracts';
import { consumeOnce, subscribeToEvent, type Platform } from '@wallet/platform';
import type { Logger } from '@wallet/service-kit';
import type { Kysely, Transaction } from 'kysely';
import {
  CODE_MASK,
  CONSUMED_EVENTS,
  planMessages,
  recipientFactsOf,
  type ConsumedEvent,
  type PlannedMessage,
} from '../domain/catalog.ts';
import { channelAllowed, type Channel } from '../domain/preferences.ts';
import { loadPreferences } from '../db/preferences.ts';
import { findRecipient, upsertRecipient } from '../db/recipients.ts';
import { SKIPPED_UNVERIFIED_PHONE } from '../db/phone-verifications.ts';
import type { NotificationDatabase } from '../db/schema.ts';
import type { ProviderSet } from '../providers/index.ts';
import type { TemplateRenderer } from '../templates/renderer.ts';

export const CONSUMER = 'notification';

export class RecipientUnknownError extends Error {
  override name = 'RecipientUnknownError';
}

export interface EventApplierDeps {
  renderer: TemplateRenderer;
  providers: ProviderSet;
  maxAttempts: number;
}

function addressesFor(
  channel: Channel,
  plan: PlannedMessage,
  recipient: { email: string | null; phone: string | null; pushTokens: string[] } | undefined,
): string[] {
  if (channel === 'email') {
    const email = plan.email ?? recipient?.email;
    return email ? [email] : [];
  }
  if (channel === 'sms') return recipient?.phone ? [recipient.phone] : [];
  return recipient?.pushTokens ?? [];
}

/** The effect of one event inside its inbox transaction. Returns how many deliveries were created. */
export async function applyEvent<N extends ConsumedEvent>(
  trx: Transaction<NotificationDatabase>,
  deps: EventApplierDeps,
  name: N,
  data: EventData<N>,
  event: { id: string; type: string },
): Promise<number> {
  const facts = recipientFactsOf(name, data);
  if (facts) await upsertRecipient(trx, facts);
  let created = 0;
  for (const plan of planMessages(name, data)) {
    const recipient = await findRecipient(trx, plan.userId);
    if (!recipient && !plan.email) {
      throw new RecipientUnknownError(`no recipient record for user ${plan.userId} yet`);
    }
    const preferences = await loadPreferences(trx, plan.userId);
    for (const channel of plan.channels) {
      if (!deps.providers[channel]) continue;
      if (!deps.renderer.supports(plan.template, channel)) continue;
      if (!channelAllowed(preferences, plan.category, channel)) continue;
      for (const address of addressesFor(channel, plan, recipient)) {
        // A code message is rendered again at send time with the code identity mints then; what is
        // kept now shows the code masked (and proves the template renders with these variables).
        const vars = plan.codeRef ? { ...plan.vars, code: CODE_MASK } : plan.vars;
        const rendered = deps.renderer.render(plan.template, channel, recipient?.locale, vars);
        // An SMS to a number its owner has not proved is recorded, never sent (the worker checks again).
        const skipped = channel === 'sms' && !recipient?.phoneVerified;
        const inserted = await trx
          .insertInto('deliveries')
          .values({
            id: randomUUID(),
            user_id: plan.userId,
            event_id: event.id,
            event_type: event.type,
            template: plan.template,
            category: plan.category,
            channel,
            recipient: address,
            locale: rendered.locale,
            subject: rendered.subject,
            body_text: rendered.text,
            body_html: rendered.html,
            sensitive: plan.sensitive,
            code_ref: plan.codeRef ?? null,
            template_vars: plan.codeRef ? JSON.stringify(plan.vars) : null,
            max_attempts: deps.maxAttempts,
            ...(skipped ? { status: 'skipped' as const, last_error: SKIPPED_UNVERIFIED_PHONE } : {}),
          })
          .onConflict((oc) =>
            oc
              .columns(['event_id', 'template', 'channel', 'recipient'])
              .where('resend_of', 'is', null)
              .doNothing(),
          )
          .returning('id')
          .executeTakeFirst();
        if (inserted) created += 1;
      }
    }
  }
  return created;
}

export interface SubscribeDeps extends EventApplierDeps {
  platform: Platform;
  db: Kysely<NotificationDatabase>;
  logger: Logger;
  /** Called after a commit that created deliveries (wakes the worker). */
  onDeliveriesCreated(): void;
}

export function subscribeToDomainEvents(deps: SubscribeDeps): void {
  const subscription = { platform: deps.platform, db: deps.db, logger: deps.logger, consumerAppId: CONSUMER };
  for (const name of CONSUMED_EVENTS) {
    subscribeToEvent(subscription, name, async (data, event) => {
      let created = 0;
      const outcome = await consumeOnce(deps.db, CONSUMER, event, async (trx) => {
        created = await applyEvent(trx, deps, name, data, event);
      });
      if (outcome === 'duplicate') deps.logger.debug({ eventId: event.id }, 'event already applied');
      else if (created > 0) deps.onDeliveriesCreated();
      return 'SUCCESS';
    });
  }
}
