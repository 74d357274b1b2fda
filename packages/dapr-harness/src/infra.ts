/**
 * Where things are: the repository, the local infrastructure's addresses (`infra/local.sh env`) and
 * the component folder of each broker.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export type PubsubKind = 'rabbitmq' | 'kafka';
export const PUBSUB_KINDS: readonly PubsubKind[] = ['rabbitmq', 'kafka'];

/** The monorepo root (this package lives in packages/dapr-harness/src). */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export function parsePubsub(value: string | undefined, fallback: PubsubKind = 'rabbitmq'): PubsubKind {
  if (value === undefined || value === '') return fallback;
  if ((PUBSUB_KINDS as readonly string[]).includes(value)) return value as PubsubKind;
  throw new Error(`PUBSUB must be one of ${PUBSUB_KINDS.join(', ')} (got "${value}")`);
}

/** The Dapr component folder for a broker: `pubsub` on it plus `statestore` on Redis. */
export function componentsFolder(pubsub: PubsubKind, root = REPO_ROOT): string {
  return join(root, 'components', 'local', pubsub);
}

/** Parses `export NAME='value'` lines as `infra/local.sh env` prints them (POSIX single quoting). */
export function parseExportLines(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^export ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, name, raw] = match as unknown as [string, string, string];
    let value = '';
    // Concatenated 'quoted' and \x pieces: 'it'\''s' -> it's
    const piece = /'([^']*)'|\\(.)|([^'\\]+)/g;
    for (let m = piece.exec(raw); m !== null; m = piece.exec(raw)) value += m[1] ?? m[2] ?? m[3] ?? '';
    result[name] = value;
  }
  return result;
}

/** Runs `infra/local.sh env` and returns what it exports (addresses, URLs, binaries). */
export function readInfraEnv(root = REPO_ROOT): Record<string, string> {
  const text = execFileSync('bash', [join(root, 'infra', 'local.sh'), 'env'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseExportLines(text);
}
