/**
 * The platform contract, the outbox relay + inbox and the access proofs against real daprd sidecars,
 * once per broker: `PUBSUB=rabbitmq|kafka` runs one, unset runs both (one after the other: the two
 * brokers' pairs use the same app ids, and mDNS would mix them up if they ran at once).
 */
import { parsePubsub, PUBSUB_KINDS } from '@wallet/dapr-harness';
import type { PubsubKind } from '@wallet/dapr-harness';
import { afterAll, describe } from 'vitest';
import { runPlatformContract } from '../contract/platform-contract.ts';
import { APP_A, APP_B, SidecarPair, daprInfra } from './sidecars.ts';
import { accessProofs } from './access.ts';
import { relayThroughSidecars } from './relay.ts';

const brokers: readonly PubsubKind[] = process.env['PUBSUB']
  ? [parsePubsub(process.env['PUBSUB'])]
  : PUBSUB_KINDS;

for (const pubsub of brokers) {
  const infra = daprInfra(pubsub);
  describe.skipIf(!infra)(`dapr transport over real daprd + ${pubsub}`, () => {
    if (!infra) return;
    const pair = new SidecarPair(pubsub, infra);
    afterAll(async () => {
      await pair.stop();
    });
    runPlatformContract((setup) => pair.contractEnvironment(setup), {
      label: `platform contract: daprd + ${pubsub} + redis`,
      apps: { publisher: APP_A, consumerA: APP_A, consumerB: APP_B, callee: APP_B },
    });
    relayThroughSidecars(pair);
    accessProofs(pair);
  });
}
