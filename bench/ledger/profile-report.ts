/**
 * Reads a V8 CPU profile (`node --cpu-prof`, as `BENCH_CPU_PROF=1` writes them) and says where a
 * process spent its time: self time by component (jose, OpenTelemetry, pino, zod, Express, pg,
 * kysely, our code, GC...) as a table, and a flame graph as a self-contained SVG (no external tool).
 *
 *   npx node bench/ledger/profile-report.ts <profile.cpuprofile> [--from transferFunds] [--svg out.svg] [--title t]
 *
 * `--from NAME` starts the window at the first sample whose stack holds a function called NAME (so
 * start-up and seeding stay out of the numbers); without it the whole profile counts.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { from: { type: 'string' }, svg: { type: 'string' }, title: { type: 'string' } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: profile-report.ts <profile.cpuprofile> [--from NAME] [--svg out.svg]\n');
  process.exit(64);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
function stackOf(id: number): ProfileNode[] {
  const stack: ProfileNode[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!);
  return stack.reverse();
}

/** Which component a frame belongs to, by where its code lives. */
export function componentOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'native (program)';
  if (functionName === '(root)') return 'root';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) {
    if (pkg === 'jose') return 'jose (ES256 JWT)';
    if (pkg.startsWith('@opentelemetry/') || /in-the-middle|@grpc|protobufjs/.test(pkg))
      return 'OpenTelemetry';
    if (
      /^(pino|pino-http|pino-std-serializers|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify)$/.test(
        pkg,
      )
    )
      return 'pino';
    if (pkg === 'zod') return 'zod';
    if (
      /^(express|router|body-parser|raw-body|on-finished|finalhandler|send|helmet|qs|type-is|content-type|iconv-lite|mime-types|mime-db|media-typer|depd|http-errors|statuses|path-to-regexp|parseurl|accepts|negotiator|cookie|vary|etag|fresh|range-parser|encodeurl|escape-html|merge-descriptors|utils-merge|proxy-addr|forwarded|ipaddr\.js|setprototypeof|destroy|ee-first|unpipe|bytes|debug|ms|content-disposition|serve-static|side-channel.*|call-bound|get-intrinsic|es-.*|function-bind|has-symbols|hasown|gopd|math-intrinsics|object-inspect|dunder-proto|get-proto|call-bind-apply-helpers)$/.test(
        pkg,
      )
    )
      return 'Express (+ middleware)';
    if (
      /^(pg|pg-protocol|pg-pool|pg-types|pg-int8|postgres-array|postgres-bytea|postgres-date|postgres-interval|pgpass|pg-connection-string|pg-cloudflare|split2)$/.test(
        pkg,
      )
    )
      return 'pg driver';
    if (pkg === 'kysely') return 'kysely';
    if (pkg === 'prom-client' || pkg === 'tdigest' || pkg === 'bintrees') return 'prom-client';
    if (pkg === 'undici') return 'undici (HTTP client)';
    return `other npm (${pkg})`;
  }
  if (url.includes('/deps/undici')) return 'undici (HTTP client)';
  if (/\/(services|packages)\//.test(url)) return 'our code';
  if (/^node:(_http|http|net|internal\/(http|streams|stream_base|net))/.test(url))
    return 'node http/net/streams';
  if (/^node:(crypto|internal\/crypto)/.test(url)) return 'node crypto';
  if (url.startsWith('node:')) return 'node core (other)';
  if (url === '') return 'native (builtins)';
  return 'other';
}

// The window: from the first sample whose stack holds `--from` (if given).
let startIndex = 0;
if (values.from) {
  const marked = new Set(
    profile.nodes.filter((n) => n.callFrame.functionName === values.from).map((n) => n.id),
  );
  const hasMark = new Map<number, boolean>();
  const holds = (id: number): boolean => {
    const known = hasMark.get(id);
    if (known !== undefined) return known;
    const p = parent.get(id);
    const result = marked.has(id) || (p !== undefined && holds(p));
    hasMark.set(id, result);
    return result;
  };
  startIndex = profile.samples.findIndex((id) => holds(id));
  if (startIndex < 0) throw new Error(`no sample holds ${values.from}`);
}

/**
 * Native builtins and Node's own modules are charged to the nearest caller that is a package or our
 * code (crypto called by jose is jose's time; a socket write by undici is undici's).
 */
const generic = (c: string): boolean => c.startsWith('native (builtins)') || c.startsWith('node ');
const attributed = new Map<number, string>();
function attributedComponent(id: number): string {
  const known = attributed.get(id);
  if (known) return known;
  const stack = stackOf(id);
  const own = componentOf(stack[stack.length - 1]!.callFrame);
  let result = own;
  if (generic(own)) {
    for (let i = stack.length - 2; i >= 0; i -= 1) {
      const c = componentOf(stack[i]!.callFrame);
      if (c === 'root') break;
      if (!generic(c)) {
        result = c;
        break;
      }
    }
  }
  attributed.set(id, result);
  return result;
}

const selfUs = new Map<string, number>();
const inclusive = new Map<number, number>(); // node id -> µs
let totalUs = 0;
let busyUs = 0;
for (let i = startIndex; i < profile.samples.length; i += 1) {
  const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  const node = byId.get(profile.samples[i]!)!;
  const component = attributedComponent(node.id);
  selfUs.set(component, (selfUs.get(component) ?? 0) + dt);
  totalUs += dt;
  if (component !== 'idle') {
    busyUs += dt;
    for (const frame of stackOf(node.id)) inclusive.set(frame.id, (inclusive.get(frame.id) ?? 0) + dt);
  }
}

const rows = [...selfUs.entries()]
  .filter(([k]) => k !== 'idle')
  .sort((a, b) => b[1] - a[1])
  .map(([component, us]) => ({
    component,
    ms: +(us / 1000).toFixed(1),
    share: +((100 * us) / busyUs).toFixed(1),
  }));
const result = {
  profile: file,
  windowSeconds: +(totalUs / 1e6).toFixed(2),
  busySeconds: +(busyUs / 1e6).toFixed(2),
  selfTimeByComponent: rows,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.stdout.write(`window ${result.windowSeconds} s, busy on the main thread ${result.busySeconds} s\n`);
for (const r of rows)
  process.stdout.write(
    `${r.component.padEnd(34)}${String(r.ms).padStart(9)} ms ${String(r.share).padStart(6)} %\n`,
  );

// ---- flame graph: frames merged by (function, file) under the same merged parent
if (values.svg) {
  interface Frame {
    name: string;
    component: string;
    us: number;
    children: Map<string, Frame>;
  }
  const root: Frame = { name: 'all', component: 'root', us: 0, children: new Map() };
  const short = (url: string): string =>
    url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(services|packages|bench)\//, '$1/');
  const add = (frame: Frame, node: ProfileNode): void => {
    const us = inclusive.get(node.id) ?? 0;
    if (us === 0) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'} ${url ? `${short(url)}:${lineNumber + 1}` : ''}`.trim();
    let child = frame.children.get(name);
    if (!child) {
      child = { name, component: componentOf(node.callFrame), us: 0, children: new Map() };
      frame.children.set(name, child);
    }
    child.us += us;
    for (const c of node.children ?? []) add(child, byId.get(c)!);
  };
  const top = profile.nodes[0]!;
  root.us = busyUs;
  for (const c of top.children ?? []) add(root, byId.get(c)!);

  const palette: Record<string, string> = {
    'our code': '#e8a33d',
    'jose (ES256 JWT)': '#d6604d',
    OpenTelemetry: '#8073ac',
    pino: '#4393c3',
    zod: '#5aae61',
    'Express (+ middleware)': '#f4a582',
    'pg driver': '#92c5de',
    kysely: '#a6dba0',
    'undici (HTTP client)': '#c2a5cf',
    GC: '#999999',
    'node http/net/streams': '#fddbc7',
    'node crypto': '#b2182b',
  };
  const WIDTH = 1800;
  const ROW = 16;
  const minUs = busyUs / WIDTH / 2; // narrower than half a pixel: left out
  const boxes: string[] = [];
  let depthMax = 0;
  const esc = (s: string): string =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const draw = (frame: Frame, x: number, depth: number): void => {
    depthMax = Math.max(depthMax, depth);
    const w = (frame.us / busyUs) * WIDTH;
    const color = palette[frame.component] ?? '#dddddd';
    const label = w > 40 ? esc(frame.name.slice(0, Math.floor(w / 6.5))) : '';
    const pct = ((100 * frame.us) / busyUs).toFixed(2);
    boxes.push(
      `<g><title>${esc(frame.name)} — ${frame.component}, ${pct} %</title><rect x="${x.toFixed(2)}" y="${depth}" width="${w.toFixed(2)}" height="${ROW - 1}" fill="${color}"/>` +
        (label ? `<text x="${(x + 3).toFixed(2)}" y="${depth + 11}">${label}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const child of [...frame.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (child.us >= minUs) draw(child, cx, depth + ROW);
      cx += (child.us / busyUs) * WIDTH;
    }
  };
  draw(root, 0, 40);
  const legend = Object.entries(palette)
    .map(
      ([k, c], i) =>
        `<rect x="${10 + i * 145}" y="22" width="10" height="10" fill="${c}"/><text x="${24 + i * 145}" y="31">${esc(k)}</text>`,
    )
    .join('');
  const height = depthMax + ROW + 10;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="10">` +
    `<rect width="100%" height="100%" fill="#fff"/>` +
    `<text x="10" y="14" font-size="12">${esc(values.title ?? file)} — main thread, ${result.busySeconds} s busy; width = share of CPU samples</text>` +
    legend +
    boxes.join('') +
    '</svg>\n';
  writeFileSync(values.svg, svg);
  process.stdout.write(`flame graph: ${values.svg}\n`);
}
