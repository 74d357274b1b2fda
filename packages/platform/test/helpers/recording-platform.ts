/** A Platform double for relay tests: records publishes, can fail on demand, implements nothing else. */
import type { OutgoingEvent, Platform, PublishOptions } from '../../src/port.ts';

export interface PublishCall {
  topic: string;
  event: OutgoingEvent;
  options: PublishOptions;
}

export interface RecordingPlatform extends Platform {
  readonly calls: PublishCall[];
  /** Successful publishes only. */
  readonly published: PublishCall[];
  /** Decides per call whether the broker refuses it (return an Error to throw). */
  failWith: ((call: PublishCall, attemptOfThisId: number) => Error | undefined) | undefined;
}

export function createRecordingPlatform(
  appId: string,
  options: { delayMs?: number } = {},
): RecordingPlatform {
  const attemptsById = new Map<string, number>();
  const notUsed = (): never => {
    throw new Error('not used by this test');
  };
  const platform: RecordingPlatform = {
    transport: 'embedded',
    appId,
    calls: [],
    published: [],
    failWith: undefined,
    async publish(topic, event, publishOptions = {}) {
      const call = { topic, event, options: publishOptions };
      platform.calls.push(call);
      const id = publishOptions.id ?? '';
      const attempt = (attemptsById.get(id) ?? 0) + 1;
      attemptsById.set(id, attempt);
      // Yield like a real network call so concurrent relays interleave.
      await new Promise<void>((resolve) => setTimeout(resolve, options.delayMs ?? 0));
      const failure = platform.failWith?.(call, attempt);
      if (failure) throw failure;
      platform.published.push(call);
    },
    subscribe: notUsed,
    invoke: notUsed,
    state: { get: notUsed, set: notUsed, delete: notUsed },
    ready: () => Promise.resolve(true),
    close: () => Promise.resolve(),
  };
  return platform;
}
