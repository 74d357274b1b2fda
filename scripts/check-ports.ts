/**
 * `npm run lint:ports` (part of `npm run lint`): refuses a fixed port in Linux's ephemeral range
 * (32768-60999) anywhere in the tree, and a loopback address in components/local/ or dapr/multi-app.yaml whose port
 * is not in infra/ports.env. The rules and the few exceptions: @wallet/testing/port-literals and
 * infra/ports.md.
 *
 *   node scripts/check-ports.ts [root]     exit 1 on any finding
 */
import { join, resolve } from 'node:path';
import { localPorts } from '@wallet/contracts/local-ports';
import { EPHEMERAL_FIRST, EPHEMERAL_LAST, checkTree } from '@wallet/testing/port-literals';

const root = resolve(process.argv[2] ?? join(import.meta.dirname, '..'));
const knownPorts = new Set(Object.values(localPorts(join(root, 'infra', 'ports.env'))));
const { filesChecked, findings, unusedExceptions } = checkTree(root, { knownPorts });

const out: string[] = [];
for (const f of findings) {
  const why =
    f.rule === 'drift'
      ? `port ${f.port} is not in infra/ports.env`
      : `port ${f.port} lies in the ephemeral range ${EPHEMERAL_FIRST}-${EPHEMERAL_LAST}`;
  out.push(`${f.file}:${f.line}:${f.column}  ${why} (${f.rule})\n    ${f.text}`);
}
for (const e of unusedExceptions) {
  out.push(
    `exception for ${e.file} port ${e.port} matches nothing any more: remove it (port-literals.ts, infra/ports.md)`,
  );
}
const failed = findings.length + unusedExceptions.length;
out.push(
  failed === 0
    ? `ports: ${filesChecked} files, no fixed port in ${EPHEMERAL_FIRST}-${EPHEMERAL_LAST} (see infra/ports.md)`
    : `ports: ${filesChecked} files, ${failed} problem(s); pick a port below ${EPHEMERAL_FIRST} in infra/ports.env or bind port 0 (see infra/ports.md)`,
);
process.stdout.write(`${out.join('\n')}\n`);
process.exit(failed === 0 ? 0 : 1);
