/** Builds and checks CloudEvents 1.0 envelopes the way the Dapr sidecar does for a JSON publish. */
import { randomUUID } from 'node:crypto';
import type { CloudEvent } from '@wallet/contracts';
import type { OutgoingEvent, PublishOptions } from '../port.ts';

export const DEFAULT_PUBSUB_NAME = 'pubsub';

/** Refuses what neither transport can carry faithfully, before anything leaves the process. */
export function assertPublishable(topic: string, event: OutgoingEvent): void {
  if (topic.length === 0) throw new TypeError('publish: topic must not be empty');
  if (event.type.length === 0) throw new TypeError(`publish to ${topic}: event type must not be empty`);
  if (event.source.length === 0) throw new TypeError(`publish to ${topic}: event source must not be empty`);
  if (typeof event.data !== 'object' || event.data === null) {
    // Dapr wraps non-objects as text/plain and the SDK silently skips falsy bodies: only JSON objects
    // and arrays survive every transport unchanged, so that is the contract.
    throw new TypeError(`publish to ${topic}: event data must be a JSON object or array`);
  }
}

export function buildCloudEvent(
  topic: string,
  event: OutgoingEvent,
  options: PublishOptions,
  pubsubName: string,
): CloudEvent<unknown> {
  const envelope: CloudEvent<unknown> = {
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: event.source,
    type: event.type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: event.data,
    topic,
    pubsubname: pubsubName,
  };
  if (options.subject !== undefined) envelope.subject = options.subject;
  if (options.traceparent !== undefined) envelope.traceparent = options.traceparent;
  // A JSON round trip detaches the payload from the publisher's objects and fails on what a broker
  // could not carry (BigInt, cycles) exactly as a real serialisation would.
  return JSON.parse(JSON.stringify(envelope)) as CloudEvent<unknown>;
}
