/**
 * E-mail over SMTP through nodemailer (pooled connections). The Message-ID is derived from the
 * delivery id, so a message that is sent again after a crash carries the same id and receiving
 * systems can recognise the duplicate.
 */
import nodemailer from 'nodemailer';
import { classifySmtpResponse } from '../domain/retry.ts';
import { ProviderError, type DeliveryProvider } from './types.ts';

export interface SmtpProviderOptions {
  url: string;
  from: string;
  timeoutMs: number;
  /** Demand STARTTLS on smtp:// (production). */
  requireTls: boolean;
  messageIdDomain?: string;
}

interface SmtpError {
  responseCode?: number;
  permanent?: boolean;
  code?: string;
  message?: string;
}

export function createSmtpProvider(options: SmtpProviderOptions): DeliveryProvider {
  const transport = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: 3,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    requireTLS: options.requireTls,
  });
  const domain = options.messageIdDomain ?? 'notification.wallet';
  return {
    name: 'smtp',
    channel: 'email',
    async send(message, signal) {
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject ?? '',
          text: message.text,
          ...(message.html === null ? {} : { html: message.html }),
          messageId: `<${message.deliveryId}@${domain}>`,
          headers: { 'X-Wallet-Template': message.template },
          signal,
        });
        if (info.rejected.length > 0) {
          throw new ProviderError(`recipient rejected: ${info.response}`, 'permanent');
        }
        return { providerMessageId: info.messageId };
      } catch (error) {
        if (error instanceof ProviderError) throw error;
        const e = error as SmtpError;
        const kind =
          e.permanent === true
            ? 'permanent'
            : e.permanent === false
              ? 'transient'
              : classifySmtpResponse(e.responseCode);
        const what = e.responseCode === undefined ? (e.code ?? 'connection error') : `SMTP ${e.responseCode}`;
        throw new ProviderError(`${what}: ${e.message ?? 'send failed'}`, kind, { cause: error });
      }
    },
    close() {
      transport.close();
      return Promise.resolve();
    },
  };
}
