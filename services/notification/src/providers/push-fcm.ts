/**
 * Push through an HTTP API in the style of FCM HTTP v1:
 * `POST {base}/v1/projects/{project}/messages:send` with `Authorization: Bearer <token>` and
 * `{message: {token, notification: {title, body}, data}}`; answers `{name}` or a Google error
 * `{error: {code, status, message}}`. `UNREGISTERED` / 404 means the token is gone for good.
 */
import { z } from 'zod';
import { postToProvider, safeJson, trimSlash } from './http.ts';
import { ProviderError, type DeliveryProvider } from './types.ts';

export interface FcmPushOptions {
  baseUrl: string;
  projectId: string;
  bearerToken: string;
}

const acceptedSchema = z.object({ name: z.string().min(1) });
const errorSchema = z.object({
  error: z.object({
    status: z.string().optional(),
    message: z.string().optional(),
    details: z.array(z.object({ errorCode: z.string().optional() }).loose()).optional(),
  }),
});

export function createFcmPushProvider(options: FcmPushOptions): DeliveryProvider {
  const url = `${trimSlash(options.baseUrl)}/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`;
  return {
    name: 'fcm',
    channel: 'push',
    async send(message, signal) {
      const answer = await postToProvider(
        url,
        {
          headers: {
            authorization: `Bearer ${options.bearerToken}`,
            'content-type': 'application/json; charset=utf-8',
            'idempotency-key': message.deliveryId,
          },
          body: JSON.stringify({
            message: {
              token: message.to,
              notification: { title: message.subject ?? '', body: message.text },
              data: { template: message.template, deliveryId: message.deliveryId },
            },
          }),
          signal,
        },
        (status, text) => {
          const parsed = errorSchema.safeParse(safeJson(text));
          const codes = parsed.success
            ? [parsed.data.error.status, ...(parsed.data.error.details ?? []).map((d) => d.errorCode)]
            : [];
          const gone = status === 404 || codes.includes('UNREGISTERED');
          return {
            message: parsed.success
              ? `${parsed.data.error.status ?? ''} ${parsed.data.error.message ?? ''}`.trim()
              : `status ${status}`,
            addressGone: gone,
            ...(gone || codes.includes('INVALID_ARGUMENT') ? { permanent: true } : {}),
          };
        },
      );
      const accepted = acceptedSchema.safeParse(answer);
      if (!accepted.success)
        throw new ProviderError('push provider accepted without a message name', 'transient');
      return { providerMessageId: accepted.data.name };
    },
  };
}
