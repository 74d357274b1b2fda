/**
 * What `tilt ci -- --mode=local` would do, without Tilt (it cannot be built here): load the
 * Tiltfile with tiltcheck, run its local resources in dependency order (infra, migrations, each
 * sidecar and service with the Tiltfile's exact commands and environment), wait until every
 * service answers /readyz, then save a service's source file and check that `node --watch`
 * restarted it and it became ready again (live reload). Stops everything it started; the
 * infrastructure stays up (infra/local.sh down).
 *
 *   node tilt/smoke-local.ts [--broker=kafka]
 *
 * Needs tools/helm/build.sh (for tiltcheck). Prints one line per check and "N passed, N failed";
 * with CI_CHECKS_FILE set (scripts/test-all.sh) also writes the counts there, however it ends, for
 * the closing line of CI.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';

interface TiltResource {
  name: string;
  cmd?: string[];
  serve_cmd?: string[];
  env?: Record<string, string>;
  serve_env?: Record<string, string>;
  resource_deps?: string[];
}

const root = join(import.meta.dirname, '..');
const cache =
  process.env['WALLET_CACHE'] ?? join(process.env['HOME'] ?? '/root', '.cache', 'wallet-platform');
const broker = process.argv.find((a) => a.startsWith('--broker='))?.slice('--broker='.length) ?? 'rabbitmq';
const logDir = join(root, '.data', 'tilt', 'smoke');
mkdirSync(logDir, { recursive: true });

let passed = 0;
let failed = 0;
process.on('exit', () => {
  const file = process.env['CI_CHECKS_FILE'];
  if (file) writeFileSync(file, `${JSON.stringify({ passed, failed, skipped: 0 })}\n`);
});
const check = (ok: boolean, what: string): void => {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
};

const dump = execFileSync(
  join(cache, 'bin', 'tiltcheck'),
  ['--dump', '--', '--mode=local', `--broker=${broker}`],
  {
    cwd: root,
    encoding: 'utf8',
  },
);
const resources = new Map<string, TiltResource>();
for (const line of dump.split('\n')) {
  if (line.startsWith('{')) {
    const r = JSON.parse(line) as TiltResource;
    resources.set(r.name, r);
  }
}
check(resources.size > 0, `Tiltfile defines ${resources.size} local resources`);

const started: ChildProcess[] = [];
const run = (r: TiltResource): void => {
  const t0 = Date.now();
  try {
    execFileSync(r.cmd![0]!, r.cmd!.slice(1), {
      cwd: root,
      env: { ...process.env, ...r.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    check(true, `${r.name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (error) {
    check(false, `${r.name}: ${String((error as { stderr?: Buffer }).stderr ?? error).slice(-400)}`);
  }
};
const serve = (r: TiltResource): void => {
  const log = createWriteStream(join(logDir, `${r.name}.log`));
  const child = spawn(r.serve_cmd![0]!, r.serve_cmd!.slice(1), {
    cwd: root,
    env: { ...process.env, ...r.serve_env },
    detached: true,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  started.push(child);
};

const insecure = new Agent({ rejectUnauthorized: false });
function status(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https') ? request : httpRequest)(
      url,
      url.startsWith('https') ? { agent: insecure, timeout: 3000 } : { timeout: 3000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
async function waitReady(url: string, seconds: number): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let last = 0;
  while (Date.now() < deadline) {
    last = await status(url);
    if (last === 200) return 200;
    await new Promise((r) => setTimeout(r, 500));
  }
  return last;
}

const stopAll = async (): Promise<void> => {
  for (const c of started.reverse())
    if (c.pid)
      try {
        process.kill(-c.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
  await new Promise((r) => setTimeout(r, 3000));
  for (const c of started)
    if (c.pid && c.exitCode === null)
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));

try {
  run(resources.get('infra')!);
  const apps = [...resources.keys()].filter((n) => resources.has(`migrate-${n}`));
  for (const app of apps) run(resources.get(`migrate-${app}`)!);
  for (const app of apps) {
    serve(resources.get(`${app}-daprd`)!);
    serve(resources.get(app)!);
  }
  const url = (app: string): string => {
    const env = resources.get(app)!.serve_env!;
    return `${env['GATEWAY_TLS_CERT_FILE'] ? 'https' : 'http'}://127.0.0.1:${env['PORT']}/readyz`;
  };
  const t0 = Date.now();
  for (const app of apps) {
    const code = await waitReady(url(app), 120);
    check(
      code === 200,
      `${app} ready beside its daprd (/readyz ${code}, ${((Date.now() - t0) / 1000).toFixed(1)}s)`,
    );
  }
  // Live reload: a saved source file restarts the service (node --watch), which becomes ready again.
  const app = apps.includes('risk') ? 'risk' : apps[0]!;
  const file = join(root, 'services', app, 'src', 'main.ts');
  const logFile = join(logDir, `${app}.log`);
  const before = readFileSync(logFile, 'utf8').split('Restarting').length;
  const now = new Date();
  utimesSync(file, now, now);
  const deadline = Date.now() + 30_000;
  let restarted = false;
  while (!restarted && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    restarted = readFileSync(logFile, 'utf8').split('Restarting').length > before;
  }
  check(restarted, `${app} restarted by node --watch after its source changed`);
  const code = await waitReady(url(app), 60);
  check(code === 200, `${app} ready again after the reload (/readyz ${code})`);
} finally {
  await stopAll();
}
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
