/**
 * SMS through an HTTP API in the style of Twilio's Messages API:
 * `POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From`, `Body`,
 * HTTP Basic auth (account SID, auth token); answers 201 `{sid, status}` or an error `{code, message}`.
 */
import { z } from 'zod';
import { postToProvider, safeJson, trimSlash } from './http.ts';
import { ProviderError, type DeliveryProvider } from './types.ts';

export interface TwilioSmsOptions {
  baseUrl: string;
  accountSid: string;
  authToken: string;
  from: string;
}

const acceptedSchema = z.object({ sid: z.string().min(1) });
const errorSchema = z.object({ code: z.number().optional(), message: z.string().optional() });

export function createTwilioSmsProvider(options: TwilioSmsOptions): DeliveryProvider {
  const url = `${trimSlash(options.baseUrl)}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  return {
    name: 'twilio-sms',
    channel: 'sms',
    async send(message, signal) {
      const body = new URLSearchParams({ To: message.to, From: options.from, Body: message.text }).toString();
      const answer = await postToProvider(
        url,
        {
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            // Lets a provider (or proxy) that honours it drop a resent duplicate after a crash.
            'idempotency-key': message.deliveryId,
          },
          body,
          signal,
        },
        (status, text) => {
          const parsed = errorSchema.safeParse(safeJson(text));
          const code = parsed.success ? parsed.data.code : undefined;
          return {
            message:
              parsed.success && parsed.data.message
                ? `${parsed.data.message}${code ? ` (code ${code})` : ''}`
                : `status ${status}`,
          };
        },
      );
      const accepted = acceptedSchema.safeParse(answer);
      if (!accepted.success)
        throw new ProviderError('SMS provider accepted without a message sid', 'transient');
      return { providerMessageId: accepted.data.sid };
    },
  };
}
