/**
 * One-time codes for verification and recovery messages, fetched from identity at the moment of
 * sending (issue 17). The events name the code by a reference only; identity mints the code for that
 * reference when asked (`POST /internal/one-time-codes/{ref}/issue`, our internal token, in Dapr mode
 * through both sidecars over mTLS, admitted by identity's access list). The code lives in memory for
 * the one send and in the message itself: never in a delivery row, a log line or an event.
 *
 * Each call mints a new code and retires the previous one, so every retried send carries a code
 * that works. identity refusing the reference (used, replaced, expired, issued too often, another
 * address) is final for this delivery; anything else (unreachable, 5xx, a refused token during a key
 * rotation) is retried like a provider outage.
 */
import { INTERNAL_TOKEN_HEADER } from '@wallet/contracts';
import { InvocationError, type Platform } from '@wallet/platform';
import type { InternalTokenSigner } from '@wallet/service-kit';
import { z } from 'zod';
import { ProviderError } from '../providers/types.ts';

const issuedSchema = z.object({
  purpose: z.enum(['email-verification', 'recovery']),
  code: z.string().regex(/^[0-9]{4,12}$/),
  expiresAt: z.iso.datetime({ offset: true }),
});
export interface IssuedCode {
  purpose: string;
  code: string;
  expiresAt: string;
}

/** identity's answers that end the delivery: the reference is unknown, spent, or not for this address. */
const FINAL_REFUSALS = new Set([404, 409, 410]);

export interface OneTimeCodeSource {
  /** The code to put in the message to `recipient`; rejects with a ProviderError (transient or permanent). */
  issue(codeRef: string, recipient: string, timeoutMs: number): Promise<IssuedCode>;
}

export function createIdentityCodeSource(deps: {
  platform: Platform;
  signer: InternalTokenSigner;
}): OneTimeCodeSource {
  return {
    async issue(codeRef, recipient, timeoutMs) {
      const token = await deps.signer.sign('identity', { sub: 'notification' });
      let response;
      try {
        response = await deps.platform.invoke({
          appId: 'identity',
          method: 'POST',
          path: `/internal/one-time-codes/${encodeURIComponent(codeRef)}/issue`,
          headers: { [INTERNAL_TOKEN_HEADER]: token },
          body: { recipient },
          timeoutMs,
        });
      } catch (error) {
        const reason = error instanceof InvocationError ? error.reason : 'failed';
        throw new ProviderError(`one-time code: identity ${reason}`, 'transient', { cause: error });
      }
      if (response.status === 200) {
        const parsed = issuedSchema.safeParse(response.body);
        // Never quote the answer: it holds the code.
        if (!parsed.success)
          throw new ProviderError('one-time code: identity answer off contract', 'transient');
        return parsed.data;
      }
      const problem = z.object({ title: z.string().max(200) }).safeParse(response.body);
      const what = `one-time code: identity answered ${response.status}${problem.success ? ` (${problem.data.title})` : ''}`;
      throw new ProviderError(what, FINAL_REFUSALS.has(response.status) ? 'permanent' : 'transient');
    },
  };
}
