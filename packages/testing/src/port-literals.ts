/**
 * Finds fixed TCP ports in Linux's ephemeral range (32768-60999) written into the tree: there the
 * kernel picks the source ports of client sockets, so a listener on such a number fails at random
 * with EADDRINUSE (issue 12). `scripts/check-ports.ts` runs this in `npm run lint`.
 *
 * Only numbers in port-like places count, so that amounts, hashes and timestamps do not:
 *   address   `127.0.0.1:N`, `localhost:N`, `host:N`, `${HOST}:N`, `[::1]:N`, `":N"`
 *   setting   a key, variable or flag naming a port then `:`, `=`, `:-` or a space, then N:
 *             `port: N`, `PG_PORT=N`, `${PG_PORT:-N}`, `--dapr-grpc-port N`, `daprGRPCPort: N`,
 *             `'dapr_grpc': N`, `listen_port = N`, `-p N`, "the port N"
 *   listen    `.listen(N`
 * and, in the Dapr files that point at the local servers (`components/local/`, `dapr/multi-app.yaml`), every
 * loopback address whose port is not one of `infra/ports.env` (drift from the one port map).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;

export interface PortLiteral {
  line: number;
  column: number;
  port: number;
  rule: 'address' | 'setting' | 'listen' | 'drift';
  /** The line, trimmed and shortened. */
  text: string;
}

export interface PortFinding extends PortLiteral {
  /** Relative to the checked root, with `/`. */
  file: string;
}

/** A literal the check lets through: the file, the port, and why it is not ours to choose. */
export interface PortException {
  file: string;
  port: number;
  why: string;
}

/** The documented exceptions (infra/ports.md says the same). */
export const PORT_EXCEPTIONS: readonly PortException[] = [
  {
    file: 'charts/wallet-platform/values.yaml',
    port: 50_001, // written with a separator: the check reads its own source too
    why: "daprd's gRPC API inside a Kubernetes pod: fixed by Dapr's sidecar injector, in the pod's own network namespace",
  },
  {
    file: 'charts/wallet-platform/values.yaml',
    port: 50_002,
    why: "daprd's internal gRPC inside a Kubernetes pod: fixed by Dapr's sidecar injector (the NetworkPolicy opens it)",
  },
  {
    file: 'charts/wallet-platform/README.md',
    port: 50_002,
    why: 'describes the NetworkPolicy for the injector-fixed port above',
  },
];

const NUMBER = String.raw`(\d{5})(?![\w])(?!\.\d)`;
const HOST = String.raw`(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]*\]|[A-Za-z][\w.-]*|\$\{?[A-Za-z_]\w*\}?|["'\x60])`;
const ADDRESS = new RegExp(String.raw`(?<![\w.-])${HOST}:${NUMBER}`, 'g');
const SETTING = new RegExp(
  String.raw`(?<![\w-])(-{0,2}[A-Za-z_][\w.-]*)['"]?\s*(?:[:=]-?\s*|\s+)['"]?\[?\s*${NUMBER}`,
  'g',
);
const LISTEN = new RegExp(String.raw`\.listen\(\s*${NUMBER}`, 'g');
const LOOPBACK = /(?<![\w.-])(?:127\.0\.0\.1|localhost):(\d{1,5})(?!\d)/g;

/** Words that end in "port" without meaning a port. */
const NOT_A_PORT = /(?:im|ex|re|sup|trans|pass|air)port/gi;

/** Whether a key, variable or flag names a port (`port`, `PG_PORT`, `daprGRPCPort`, `dapr_grpc`, `-p`...). */
export function namesAPort(key: string): boolean {
  if (key === '-p') return true;
  const name = key.replace(/^-+/, '').replace(NOT_A_PORT, '');
  return (
    /(?:^|[^a-z])port/.test(name) ||
    /Port|PORT/.test(name) ||
    /grpc/i.test(name) ||
    /(?:^|[_-])http$/i.test(name) ||
    /(?:^|[_-])internal$/i.test(name) ||
    /listen/i.test(name)
  );
}

const inRange = (port: number): boolean => port >= EPHEMERAL_FIRST && port <= EPHEMERAL_LAST;
const shorten = (line: string): string => {
  const t = line.trim();
  return t.length > 160 ? `${t.slice(0, 157)}...` : t;
};

/** Ephemeral-range ports written in port-like places in one file's text. */
export function findPortLiterals(text: string): PortLiteral[] {
  const found: PortLiteral[] = [];
  text.split('\n').forEach((line, index) => {
    const seen = new Set<number>(); // one finding per column
    const add = (port: number, column: number, rule: PortLiteral['rule']): void => {
      if (!inRange(port) || seen.has(column)) return;
      seen.add(column);
      found.push({ line: index + 1, column: column + 1, port, rule, text: shorten(line) });
    };
    for (const m of line.matchAll(ADDRESS)) {
      add(Number(m[1]), m.index + m[0].length - m[1]!.length, 'address');
    }
    for (const m of line.matchAll(SETTING)) {
      if (namesAPort(m[1]!)) add(Number(m[2]), m.index + m[0].length - m[2]!.length, 'setting');
    }
    for (const m of line.matchAll(LISTEN)) {
      add(Number(m[1]), m.index + m[0].length - m[1]!.length, 'listen');
    }
  });
  return found.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** Loopback addresses whose port is not one of `known` (the ports of infra/ports.env). */
export function findUnknownLoopbackPorts(text: string, known: ReadonlySet<number>): PortLiteral[] {
  const found: PortLiteral[] = [];
  text.split('\n').forEach((line, index) => {
    for (const m of line.matchAll(LOOPBACK)) {
      const port = Number(m[1]);
      if (!known.has(port)) {
        found.push({
          line: index + 1,
          column: m.index + m[0].length - m[1]!.length + 1,
          port,
          rule: 'drift',
          text: shorten(line),
        });
      }
    }
  });
  return found;
}

/** Files that hold no ports worth checking: lockfiles full of hashes and versions. */
const SKIPPED_FILES = new Set(['package-lock.json', 'go.sum']);
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.data', '.cache', '.turbo', 'coverage', 'dist']);
const MAX_BYTES = 2 * 1024 * 1024;

/** The tree's files: `git ls-files` (tracked and new, not ignored) in a work tree, else a walk. */
export function listTreeFiles(root: string): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return [...new Set(out.split('\0').filter((f) => f !== ''))].sort();
  } catch {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.isDirectory()) {
          if (!SKIPPED_DIRS.has(entry.name)) walk(join(dir, entry.name));
        } else if (entry.isFile()) {
          files.push(relative(root, join(dir, entry.name)).split(sep).join('/'));
        }
      }
    };
    walk(root);
    return files.sort();
  }
}

export interface CheckTreeOptions {
  /** The ports of infra/ports.env: loopback addresses in `driftDirs` must use one of them. */
  knownPorts?: ReadonlySet<number>;
  /** Path prefixes; default `components/local/` and `dapr/multi-app.yaml` (what points at infra/local.sh's servers). */
  driftDirs?: readonly string[];
  exceptions?: readonly PortException[];
}

export interface CheckTreeResult {
  filesChecked: number;
  findings: PortFinding[];
  /** Exceptions that matched nothing (a stale exception is a finding of its own for the caller). */
  unusedExceptions: PortException[];
}

export function checkTree(root: string, options: CheckTreeOptions = {}): CheckTreeResult {
  const exceptions = options.exceptions ?? PORT_EXCEPTIONS;
  const driftDirs = options.driftDirs ?? ['components/local/', 'dapr/multi-app.yaml'];
  const used = new Set<PortException>();
  const findings: PortFinding[] = [];
  let filesChecked = 0;
  for (const file of listTreeFiles(root)) {
    const name = file.slice(file.lastIndexOf('/') + 1);
    if (SKIPPED_FILES.has(name)) continue;
    const path = join(root, file);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // listed by git but deleted in the work tree
    }
    if (!stat.isFile() || stat.size > MAX_BYTES) continue;
    const bytes = readFileSync(path);
    if (bytes.includes(0)) continue; // binary
    const text = bytes.toString('utf8');
    filesChecked += 1;
    const literals = findPortLiterals(text);
    if (options.knownPorts && driftDirs.some((d) => file.startsWith(d))) {
      literals.push(...findUnknownLoopbackPorts(text, options.knownPorts));
    }
    const at = new Set<string>();
    for (const literal of literals) {
      const where = `${literal.line}:${literal.column}`;
      if (at.has(where)) continue; // one finding per place (an address may also be drift)
      at.add(where);
      const exception = exceptions.find((e) => e.file === file && e.port === literal.port);
      if (exception && literal.rule !== 'drift') {
        used.add(exception);
        continue;
      }
      findings.push({ file, ...literal });
    }
  }
  return { filesChecked, findings, unusedExceptions: exceptions.filter((e) => !used.has(e)) };
}
