/** The platform contract against the embedded transport (one EmbeddedBus, HTTP apps on 127.0.0.1). */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EmbeddedBus, createEmbeddedPlatform } from '../../src/embedded/index.ts';
import { silentLogger } from '../../src/logger.ts';
import type { Platform } from '../../src/port.ts';
import { runPlatformContract } from './platform-contract.ts';

const MAX_ATTEMPTS = 4;

runPlatformContract(
  async (setup) => {
    const bus = new EmbeddedBus({ logger: silentLogger, startPaused: true });
    const platforms: Record<string, Platform> = {};
    for (const appId of setup.appIds) {
      platforms[appId] = createEmbeddedPlatform({
        appId,
        bus,
        logger: silentLogger,
        retry: { maxAttempts: MAX_ATTEMPTS, initialBackoffMs: 5, maxBackoffMs: 20 },
      });
    }
    const servers: Server[] = [];
    for (const [appId, listener] of Object.entries(setup.httpApps)) {
      const server = createServer(listener);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      bus.registerApp(appId, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
    setup.subscribe(platforms);
    bus.start();
    return {
      platforms,
      maxDeliveryAttempts: MAX_ATTEMPTS,
      exactDeliveryCounts: true,
      timeoutMs: 5_000,
      async close() {
        await Promise.all(Object.values(platforms).map((p) => p.close()));
        await bus.close();
        for (const server of servers) {
          server.closeAllConnections();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        }
      },
    };
  },
  { label: 'platform contract: embedded transport' },
);
