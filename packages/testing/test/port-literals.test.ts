import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EPHEMERAL_FIRST,
  EPHEMERAL_LAST,
  checkTree,
  findPortLiterals,
  namesAPort,
  type PortException,
} from '../src/port-literals.ts';

// Ports in the range are built, never written: this file is part of the tree the check reads.
const P = String(EPHEMERAL_FIRST + 17_333);
const FIRST = String(EPHEMERAL_FIRST);
const LAST = String(EPHEMERAL_LAST);
const ports = (text: string): number[] => findPortLiterals(text).map((f) => f.port);

describe('findPortLiterals', () => {
  it.each([
    [`url: postgres://u:p@127.0.0.1:${P}/db`, 'address'],
    [`curl http://localhost:${P}/readyz`, 'address'],
    [`listeners=PLAINTEXT://$HOST:${P},CONTROLLER://\${HOST}:${FIRST}`, 'address'],
    [`controller.quorum.voters=1@127.0.0.1:${P}`, 'address'],
    [`dial("[::1]:${P}")`, 'address'],
    [`addr := ":${P}"`, 'address'],
    [`PG_PORT="\${PG_PORT:-${P}}"`, 'setting'],
    [`REDIS_PORT=${P}`, 'setting'],
    [`const ports = { postgresPort: ${P}, httpsPort: 8443 };`, 'setting'],
    [`    daprGRPCPort: ${P}`, 'setting'],
    [`{'id': 'risk', 'dapr_grpc': ${P}, 'dapr_internal': 3523}`, 'setting'],
    [`"DAPR_GRPC_PORT": "${P}"`, 'setting'],
    [`daprd --dapr-internal-grpc-port ${P} --app-id a`, 'setting'],
    [`pg_ctl -o "-p ${P}" start`, 'setting'],
    [`listen_port = ${LAST}`, 'setting'],
    [`port ${P}`, 'setting'],
    [`only from the callers' sidecars on Dapr's port ${P}`, 'setting'],
    [`ports: [${P}, 3500]`, 'setting'],
    [`{ http: ${P}, grpc: 3510 }`, 'setting'],
    [`server.listen(${P}, '127.0.0.1')`, 'listen'],
  ])('refuses %s (%s)', (line, rule) => {
    const found = findPortLiterals(`first line\n${line}\n`);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toMatchObject({ line: 2, rule });
    expect(found.map((f) => f.port)).toContain(Number(line.includes(LAST) ? LAST : P));
  });

  it('takes the range with both ends', () => {
    expect(ports(`port: ${FIRST}\nport: ${LAST}`)).toEqual([Number(FIRST), Number(LAST)]);
  });

  it('reports the column of the number', () => {
    expect(findPortLiterals(`x = "127.0.0.1:${P}"`)[0]).toMatchObject({
      line: 1,
      column: 16,
      port: Number(P),
    });
  });

  it.each([
    // amounts, balances, ids, hashes, timestamps, durations: numbers in the range, but no port
    `data: { walletId: w, amount: '${P}', currency: 'EUR' }`,
    `return wallet.balance === '${P}' ? wallet.balance : undefined;`,
    `"integrity": "sha512-${P}abcdef", "version": "1.${P}.0"`,
    `h1:${P}AbCdEf=`,
    `at 2026-11-25T16:30:58Z, ${P} ms later`,
    `readyTimeoutMs: ${P}, timeout: ${P}`,
    `exported ${P} rows; support ${P} users; transport ${P}`,
    `const amount = ${P}.5;`,
    `port: ${Number(FIRST) - 1}`, // just below the range
    `port: ${Number(LAST) + 1}`, // just above it
    `127.0.0.1:15432 and localhost:3100`,
    `port: 0`,
    `ratio 1:${P}`,
  ])('lets through %s', (line) => {
    expect(ports(line)).toEqual([]);
  });

  it('knows what names a port', () => {
    for (const key of [
      'port',
      'ports',
      'PG_PORT',
      'postgresPort',
      'daprGRPCPort',
      'dapr_grpc',
      '--dapr-grpc-port',
      '-p',
      'listen_port',
      'http',
      'dapr_http',
      'dapr_internal',
      'transportPort',
    ]) {
      expect(namesAPort(key), key).toBe(true);
    }
    for (const key of [
      'import',
      'export',
      'EXPORT',
      'report',
      'support',
      'transport',
      'PLATFORM_TRANSPORT',
      'amount',
      'timeoutMs',
      'p',
      'httpStatus',
    ]) {
      expect(namesAPort(key), key).toBe(false);
    }
  });
});

describe('checkTree', () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
  });
  const tree = (files: Record<string, string | Buffer>): string => {
    root = mkdtempSync(join(tmpdir(), 'port-literals-'));
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), content);
    }
    return root;
  };
  const clean = {
    'infra/local.sh': 'PG_PORT="${PG_PORT:-15432}"\n',
    'components/local/rabbitmq/pubsub.yaml': 'value: "amqp://wallet:wallet@127.0.0.1:17672"\n',
    'services/risk/test/a.test.ts': `expect(amount).toBe('${P}');\nserver.listen(0, '127.0.0.1');\n`,
    'package-lock.json': `{"a": {"port": ${P}}}\n`, // lockfiles are not read
    'node_modules/x/index.js': `listen(${P})\n`, // nor dependencies
    'bin/tool': Buffer.from([0, 1, 2, 0x3a, ...Buffer.from(P)]), // nor binaries
  };
  const known = new Set([15432, 17672]);
  const none: PortException[] = [];

  it('accepts a clean tree', () => {
    const result = checkTree(tree(clean), { knownPorts: known, exceptions: none });
    expect(result.findings).toEqual([]);
    expect(result.filesChecked).toBe(3);
  });

  it('refuses a literal port in the range, naming the file, the line and the port', () => {
    const dir = tree({ ...clean, 'tilt/apps.tiltfile': `APPS = [\n  {'dapr_internal': ${P}},\n]\n` });
    const { findings } = checkTree(dir, { knownPorts: known, exceptions: none });
    expect(findings).toEqual([
      expect.objectContaining({ file: 'tilt/apps.tiltfile', line: 2, port: Number(P), rule: 'setting' }),
    ]);
  });

  it('refuses a loopback address in the Dapr components that is not in the port map (drift)', () => {
    const dir = tree({ ...clean, 'components/local/kafka/pubsub.yaml': 'value: "127.0.0.1:19092"\n' });
    const { findings } = checkTree(dir, { knownPorts: known, exceptions: none });
    expect(findings).toEqual([
      expect.objectContaining({ file: 'components/local/kafka/pubsub.yaml', port: 19092, rule: 'drift' }),
    ]);
  });

  it('lets a documented exception through, and reports one that no longer matches', () => {
    const exceptions: PortException[] = [
      { file: 'charts/values.yaml', port: Number(P), why: 'fixed by someone else' },
      { file: 'charts/gone.yaml', port: Number(P), why: 'stale' },
    ];
    const dir = tree({
      ...clean,
      'charts/values.yaml': `grpcPort: ${P}\n`,
      'charts/other.yaml': `grpcPort: ${P}\n`,
    });
    const result = checkTree(dir, { knownPorts: known, exceptions });
    expect(result.findings.map((f) => f.file)).toEqual(['charts/other.yaml']);
    expect(result.unusedExceptions).toEqual([exceptions[1]]);
  });
});
