/**
 * What must hold after the run, checked against the client's own record: the books balance (the
 * ledger's own `reconcile`), every transfer and refund the client saw accepted exists exactly once
 * and nothing else does, every balance is what the client expects, every money event produced
 * exactly one e-mail (the one channel enabled by default for people without phone or push token),
 * and no dead letters.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { REPO_ROOT } from '@wallet/dapr-harness';
import type { Person, World } from './people.ts';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function query<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** `npm run ledger -- reconcile` on the ledger's database: exit 0 when the books balance. */
export function reconcile(ledgerUrl: string): Promise<Check> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'services/wallet-ledger/src/cli.ts'), 'reconcile'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, DATABASE_URL: ledgerUrl, LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', (code) =>
      resolve({
        name: 'books balance (ledger reconcile exits 0)',
        ok: code === 0,
        detail: code === 0 ? 'exit 0' : `exit ${code}: ${out.slice(0, 2000)}`,
      }),
    );
  });
}

interface HistoryItem {
  transactionId: string;
  kind: string;
  direction: 'debit' | 'credit';
}

async function history(world: World, person: Person): Promise<HistoryItem[]> {
  const items: HistoryItem[] = [];
  let cursor: string | null = null;
  do {
    const path: string = `/v1/wallets/${person.walletId}/transactions?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await answered<{ items: HistoryItem[]; nextCursor: string | null }>(world, person, path);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** A read at the end, asked again until a 200 (the platform has recovered by now, or this fails). */
async function answered<T>(world: World, person: Person, path: string): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      const answer = await person.client.call<T>('GET', path, {
        token: person.token,
        signal: AbortSignal.timeout(10_000),
      });
      if (answer.status === 200) return answer.body;
      if (i >= 10) throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    } catch (error) {
      if (i >= 10) throw error;
    }
    await sleep(1_000);
  }
}

const countOf = (ids: readonly string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
};

/** `expected` ids each exactly once in `seen`, and nothing else in `seen`. */
function exactlyOnce(expected: readonly string[], seen: readonly string[]): string[] {
  const problems: string[] = [];
  const counts = countOf(seen);
  for (const id of expected) {
    const n = counts.get(id) ?? 0;
    if (n !== 1) problems.push(`${id} x${n}`);
  }
  const wanted = new Set(expected);
  for (const [id, n] of counts) if (!wanted.has(id)) problems.push(`unexpected ${id} x${n}`);
  return problems;
}

export async function checkMoney(world: World): Promise<Check[]> {
  const balanceProblems: string[] = [];
  const transferProblems: string[] = [];
  const refundProblems: string[] = [];
  for (const person of world.people) {
    const wallet = await answered<{ balance: string; available: string }>(
      world,
      person,
      `/v1/wallets/${person.walletId}`,
    );
    if (BigInt(wallet.balance) !== person.expected || BigInt(wallet.available) !== person.expected) {
      balanceProblems.push(
        `${person.label}: balance ${wallet.balance}, available ${wallet.available}, client expects ${person.expected}`,
      );
    }
    const items = await history(world, person);
    const ids = (kind: string, direction: string): string[] =>
      items.filter((i) => i.kind === kind && i.direction === direction).map((i) => i.transactionId);
    const label = (problems: string[], what: string): string[] =>
      problems.map((p) => `${person.label} ${what}: ${p}`);
    transferProblems.push(
      ...label(
        exactlyOnce(
          person.sent.map((t) => t.transferId),
          ids('transfer', 'debit'),
        ),
        'sent',
      ),
      ...label(
        exactlyOnce(
          person.received.map((t) => t.transferId),
          ids('transfer', 'credit'),
        ),
        'received',
      ),
    );
    refundProblems.push(
      ...label(
        exactlyOnce(
          person.refundsOut.map((r) => r.refundId),
          ids('refund', 'debit'),
        ),
        'refunded',
      ),
      ...label(
        exactlyOnce(
          person.refundsIn.map((r) => r.refundId),
          ids('refund', 'credit'),
        ),
        'was refunded',
      ),
    );
  }
  const transfers = world.people.reduce((n, p) => n + p.sent.length, 0);
  const refunds = world.people.reduce((n, p) => n + p.refundsOut.length, 0);
  const summary = (problems: string[], ok: string): string =>
    problems.length === 0 ? ok : `${problems.length} problems: ${problems.slice(0, 20).join('; ')}`;
  return [
    {
      name: "every balance equals the client's own record",
      ok: balanceProblems.length === 0,
      detail: summary(
        balanceProblems,
        `${world.people.length} wallets, balance = available = the client's figure`,
      ),
    },
    {
      name: 'every transfer seen accepted exists exactly once, none seen refused exists',
      ok: transferProblems.length === 0,
      detail: summary(
        transferProblems,
        `${transfers} transfers, each once in the payer's and the payee's history, nothing else`,
      ),
    },
    {
      name: 'every refund seen accepted exists exactly once, none other',
      ok: refundProblems.length === 0,
      detail: summary(refundProblems, `${refunds} refunds`),
    },
  ];
}

interface Mail {
  to: string;
  subject: string | null;
  body: string;
}

/** The e-mails each money event must have produced (one per party), as [recipient, subject start, id]. */
function expectedMails(world: World): [string, string, string][] {
  const out: [string, string, string][] = [];
  for (const p of world.people) {
    for (const t of p.sent) {
      out.push([p.email, 'You sent', t.transferId], [t.to.email, 'You received', t.transferId]);
    }
    for (const r of p.refundsOut) {
      out.push(
        [p.email, 'You refunded', r.refundId],
        [r.transfer.from.email, 'You were refunded', r.refundId],
      );
    }
    for (const w of p.withdrawals) {
      if (w.state === 'settled') out.push([p.email, 'Your withdrawal', `${w.withdrawalId}`]);
      if (w.state === 'failed') out.push([p.email, 'Your withdrawal', `${w.withdrawalId}`]);
    }
  }
  return out;
}

export async function checkNotifications(
  world: World,
  notificationUrl: string,
  deadlineMs: number,
): Promise<Check[]> {
  const emails = world.people.map((p) => p.email.toLowerCase());
  const expected = expectedMails(world);
  const deposits = new Map(world.people.map((p) => [p.email.toLowerCase(), p.deposits.length]));
  let mails: Mail[];
  let missing: string[];
  let extra: string[];
  const stop = Date.now() + deadlineMs;
  // The mails come through the outbox relay, the broker and the delivery worker: wait for them.
  for (;;) {
    mails = await query<Mail>(
      notificationUrl,
      `select "to", subject, body from dev_outbox where lower("to") = any($1) and channel = 'email'`,
      [emails],
    );
    const byKey = countOf(
      mails.flatMap((m) => {
        const ids = m.body.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
        return ids.map(
          (id) => `${m.to.toLowerCase()}|${(m.subject ?? '').split(' ').slice(0, 2).join(' ')}|${id}`,
        );
      }),
    );
    missing = [];
    extra = [];
    for (const [to, subject, id] of expected) {
      const key = `${to.toLowerCase()}|${subject.split(' ').slice(0, 2).join(' ')}|${id}`;
      const n = byKey.get(key) ?? 0;
      if (n === 0) missing.push(`${subject} ${id} to ${to}`);
      if (n > 1) extra.push(`${subject} ${id} to ${to} x${n}`);
    }
    for (const [to, n] of deposits) {
      const got = mails.filter(
        (m) => m.to.toLowerCase() === to && (m.subject ?? '').includes('added to your wallet'),
      ).length;
      if (got < n) missing.push(`${n - got} deposit mails to ${to}`);
      if (got > n) extra.push(`${got - n} deposit mails too many to ${to}`);
    }
    if ((missing.length === 0 && extra.length === 0) || Date.now() > stop) break;
    await sleep(2_000);
  }
  const duplicates = [...countOf(mails.map((m) => `${m.to}|${m.subject}|${m.body}`))].filter(
    ([, n]) => n > 1,
  );
  const moneyEvents = expected.length + [...deposits.values()].reduce((a, b) => a + b, 0);
  return [
    {
      name: 'every money event produced its e-mail (payer and payee), none missing',
      ok: missing.length === 0,
      detail:
        missing.length === 0
          ? `${moneyEvents} e-mails expected, all there`
          : `${missing.length} missing: ${missing.slice(0, 15).join('; ')}`,
    },
    {
      name: 'no money e-mail twice',
      ok: extra.length === 0 && duplicates.length === 0,
      detail:
        extra.length + duplicates.length === 0
          ? `${mails.length} e-mails to the soak's people, no duplicate`
          : `${extra.slice(0, 10).join('; ')} ${duplicates
              .slice(0, 5)
              .map(([k, n]) => `${k.slice(0, 120)} x${n}`)
              .join('; ')}`,
    },
  ];
}

/** Deliveries of money messages that died or failed for good (the dead-letter store of the delivery worker). */
export async function checkDeliveries(notificationUrl: string, sinceIso: string): Promise<Check> {
  const dead = await query<{ template: string; status: string; last_error: string | null; n: string }>(
    notificationUrl,
    `select template, status, left(coalesce(last_error, ''), 200) as last_error, count(*) as n from deliveries
      where created_at >= $1 and status in ('dead', 'failed') and category in ('payments', 'balance')
      group by 1, 2, 3`,
    [sinceIso],
  );
  const found = dead.map((r) => `${r.template} ${r.status} x${r.n}: ${r.last_error}`);
  return {
    name: 'no money message dead or failed in the delivery worker',
    ok: found.length === 0,
    detail: found.length === 0 ? 'none' : found.join('; '),
  };
}

/** Messages in RabbitMQ's own dead-letter queues (`dlq-*`, the component's `enableDeadLetter`), by queue. */
export function rabbitDeadLetterQueues(): Promise<Map<string, number>> {
  return new Promise((resolve) => {
    const child = spawn(
      'bash',
      [join(REPO_ROOT, 'infra', 'local.sh'), 'rabbitmqctl', 'list_queues', '-q', 'name', 'messages'],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('close', () => {
      const queues = new Map<string, number>();
      for (const line of out.split('\n')) {
        const [name, messages] = line.trim().split(/\s+/);
        if (name?.startsWith('dlq-') && Number(messages) >= 0) queues.set(name, Number(messages));
      }
      resolve(queues);
    });
  });
}

/** Messages that reached RabbitMQ's own dead-letter queues during the run: no service reads them. */
export function checkBrokerDeadLetters(before: Map<string, number>, after: Map<string, number>): Check {
  const grown = [...after]
    .map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const)
    .filter(([, n]) => n > 0);
  return {
    name: "no message in RabbitMQ's own dead-letter queues (dlq-*, read by nobody)",
    ok: grown.length === 0,
    detail:
      grown.length === 0
        ? `none (${after.size} dlq-* queues)`
        : grown.map(([name, n]) => `${n} in ${name}`).join('; '),
  };
}
