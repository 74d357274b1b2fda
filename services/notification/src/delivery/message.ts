/**
 * One send attempt of a delivery: the message (a code message rendered now, with the code minted for
 * its reference; the code exists only in this object and in what the provider sends), then the
 * provider call under a timeout. Never throws: a failure comes back as a ProviderError.
 */
import { z } from 'zod';
import { PHONE_VERIFICATION_TEMPLATE } from '../db/phone-verifications.ts';
import type { DeliveryRow } from '../db/deliveries.ts';
import type { TemplateName } from '../domain/catalog.ts';
import type { DeliveryProvider } from '../providers/types.ts';
import { asProviderError, type OutgoingMessage, type ProviderError } from '../providers/types.ts';
import type { TemplateRenderer } from '../templates/renderer.ts';
import type { OneTimeCodeSource } from './one-time-codes.ts';

const NEVER_ABORTED = new AbortController().signal;

const templateVarsSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

export type Attempt =
  | { result: { ok: true; providerMessageId: string }; message: OutgoingMessage }
  | { result: { ok: false; error: ProviderError }; message: OutgoingMessage | null };

export function createMessageSender(options: {
  renderer: TemplateRenderer;
  codes: OneTimeCodeSource;
  phoneCodes: OneTimeCodeSource;
  timeoutMs: number;
}): (row: DeliveryRow, provider: DeliveryProvider) => Promise<Attempt> {
  /**
   * The message to send. A code message is rendered now, with the code identity mints for its
   * reference: the code exists only in this object and in what the provider sends.
   */
  async function messageFor(row: DeliveryRow): Promise<OutgoingMessage> {
    const stored: OutgoingMessage = {
      deliveryId: row.id,
      channel: row.channel,
      to: row.recipient,
      subject: row.subject,
      text: row.body_text,
      html: row.body_html,
      template: row.template,
    };
    if (!row.code_ref) return stored;
    const source = row.template === PHONE_VERIFICATION_TEMPLATE ? options.phoneCodes : options.codes;
    const issued = await source.issue(row.code_ref, row.recipient, options.timeoutMs);
    const vars = { ...templateVarsSchema.parse(row.template_vars ?? {}), code: issued.code };
    const rendered = options.renderer.render(row.template as TemplateName, row.channel, row.locale, vars);
    return { ...stored, subject: rendered.subject, text: rendered.text, html: rendered.html };
  }

  async function sendOnce(row: DeliveryRow, provider: DeliveryProvider): Promise<Attempt> {
    let message: OutgoingMessage;
    try {
      message = await messageFor(row);
    } catch (error) {
      // identity refused or could not be reached (a ProviderError saying which), or no rendering.
      return { result: { ok: false, error: asProviderError(error, NEVER_ABORTED) }, message: null };
    }
    const signal = AbortSignal.timeout(options.timeoutMs);
    try {
      const receipt = await provider.send(message, signal);
      return { result: { ok: true, providerMessageId: receipt.providerMessageId }, message };
    } catch (error) {
      return { result: { ok: false, error: asProviderError(error, signal) }, message };
    }
  }

  return sendOnce;
}
