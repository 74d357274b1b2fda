/**
 * Searches every place the platform keeps data in transit or at rest for given secret values
 * (issue 17): every table of every service database, log files, every RabbitMQ exchange (a tap queue
 * bound before the flow) and queue (inspected without consuming), every Kafka topic from offset 0.
 *
 * Each search also counts a harmless "marker" (the user's id) so that a test can prove the search saw
 * the data it was meant to see: a scan that finds nothing because it read nothing must fail.
 *
 * Matching: a value made only of digits (a one-time code) counts only with no digit on either side,
 * so `123456` is not found inside a longer number; other values (passwords, tokens) are matched as
 * plain substrings. Timestamp, date, uuid and boolean columns are not read: they cannot hold a secret,
 * and PostgreSQL's microseconds would look like six-digit codes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect as amqpConnect, type ChannelModel, type ConsumeMessage, type GetMessage } from 'amqplib';
import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import pg from 'pg';

export interface Finding {
  /** Which secret (its name, never its value). */
  secret: string;
  /** database/table, file:line, exchange or queue, topic/partition@offset. */
  where: string;
  /** Up to 120 characters around the hit, the secret itself replaced by its name. */
  excerpt: string;
}

export interface SearchReport {
  findings: Finding[];
  /** How many records (rows, lines, messages) were read. */
  scanned: number;
  /** How many records named the marker (the user's id): proves the search saw the run's data. */
  markerHits: number;
}

export type Needles = Record<string, string>;

function matcherFor(value: string): (text: string) => number {
  if (/^[0-9]+$/.test(value)) {
    const pattern = new RegExp(`(?<![0-9])${value}(?![0-9])`);
    return (text) => text.search(pattern);
  }
  return (text) => text.indexOf(value);
}

/** Looks for every needle and the marker in one record of text. */
export function searchText(
  text: string,
  where: string,
  needles: Needles,
  marker?: string,
): { findings: Finding[]; marked: boolean } {
  const findings: Finding[] = [];
  for (const [secret, value] of Object.entries(needles)) {
    const at = matcherFor(value)(text);
    if (at < 0) continue;
    const excerpt = text
      .slice(Math.max(0, at - 50), at + value.length + 50)
      .split(value)
      .join(`<${secret}>`);
    findings.push({ secret, where, excerpt });
  }
  return { findings, marked: marker !== undefined && text.includes(marker) };
}

function merge(reports: SearchReport[]): SearchReport {
  return {
    findings: reports.flatMap((r) => r.findings),
    scanned: reports.reduce((n, r) => n + r.scanned, 0),
    markerHits: reports.reduce((n, r) => n + r.markerHits, 0),
  };
}

// ------------------------------------------------------------------------------------------ databases

/** Column types that cannot carry a secret (and whose text would mimic digits codes). */
const SKIPPED_TYPES = new Set([
  'timestamp with time zone',
  'timestamp without time zone',
  'date',
  'time with time zone',
  'time without time zone',
  'interval',
  'uuid',
  'boolean',
]);

export interface DatabaseSearchOptions {
  /** Tables left out (`schema.table`), each with the reason; their hits are returned apart. */
  excluded?: Record<string, string>;
}

/**
 * Every row of every table in every schema of the database at `url` (an owner role sees them all).
 * Returns the report plus the hits inside excluded tables (the dev outbox: the delivered message).
 */
export async function searchDatabase(
  name: string,
  url: string,
  needles: Needles,
  marker: string,
  options: DatabaseSearchOptions = {},
): Promise<SearchReport & { excludedFindings: Finding[]; tables: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const columns = await client.query<{ schema: string; table: string; column: string; type: string }>(
      `select c.table_schema as schema, c.table_name as table, c.column_name as column, c.data_type as type
         from information_schema.columns c
         join information_schema.tables t using (table_schema, table_name)
        where t.table_type = 'BASE TABLE'
          and c.table_schema not in ('pg_catalog', 'information_schema')
        order by c.table_schema, c.table_name, c.ordinal_position`,
    );
    const tables = new Map<string, string[]>();
    for (const c of columns.rows) {
      const key = `${c.schema}.${c.table}`;
      if (!tables.has(key)) tables.set(key, []);
      if (!SKIPPED_TYPES.has(c.type)) tables.get(key)!.push(c.column);
    }
    const report: SearchReport = { findings: [], scanned: 0, markerHits: 0 };
    const excludedFindings: Finding[] = [];
    for (const [key, cols] of tables) {
      if (cols.length === 0) continue;
      const [schema, table] = key.split('.') as [string, string];
      const ident = (s: string) => client.escapeIdentifier(s);
      const text = cols.map((c) => `coalesce(${ident(c)}::text, '')`).join(` || ' | ' || `);
      const rows = await client.query<{ t: string }>(
        `select ${text} as t from ${ident(schema)}.${ident(table)}`,
      );
      const excluded = options.excluded?.[key] !== undefined;
      for (const row of rows.rows) {
        const hit = searchText(row.t, `${name}/${key}`, needles, marker);
        if (excluded) {
          excludedFindings.push(...hit.findings);
          continue;
        }
        report.scanned += 1;
        report.findings.push(...hit.findings);
        if (hit.marked) report.markerHits += 1;
      }
    }
    return { ...report, excludedFindings, tables: tables.size };
  } finally {
    await client.end();
  }
}

// ------------------------------------------------------------------------------------------------ logs

/** Every line of the given files, and of every file under the given folders. */
export async function searchLogs(paths: string[], needles: Needles, marker: string): Promise<SearchReport> {
  const files: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of await readdir(path)) await walk(join(path, entry));
    } else files.push(path);
  };
  for (const path of paths) await walk(path);
  const reports: SearchReport[] = [];
  for (const file of files) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    const report: SearchReport = { findings: [], scanned: lines.length, markerHits: 0 };
    lines.forEach((line, i) => {
      const hit = searchText(line, `${file}:${i + 1}`, needles, marker);
      report.findings.push(...hit.findings);
      if (hit.marked) report.markerHits += 1;
    });
    reports.push(report);
  }
  return merge(reports);
}

// -------------------------------------------------------------------------------------------- RabbitMQ

const run = promisify(execFile);

/** `rabbitmqctl list_<what> name`, through `infra/local.sh` (the node's cookie and name are there). */
async function rabbitmqctlNames(repoRoot: string, what: 'exchanges' | 'queues'): Promise<string[]> {
  const { stdout } = await run(
    'bash',
    [join(repoRoot, 'infra', 'local.sh'), 'rabbitmqctl', '-q', `list_${what}`, 'name'],
    // A failing rabbitmqctl must not leave an Erlang crash dump in the working directory.
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ERL_CRASH_DUMP_SECONDS: '0' } },
  );
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== 'name');
}

function messageText(message: ConsumeMessage | GetMessage): string {
  const { properties, fields } = message;
  return [
    fields.exchange,
    fields.routingKey,
    JSON.stringify(properties.headers ?? {}),
    String(properties.messageId ?? ''),
    String(properties.correlationId ?? ''),
    message.content.toString('utf8'),
  ].join(' | ');
}

export interface RabbitTap {
  /** Exchanges the tap listens to. */
  exchanges: string[];
  /** Stops the tap and searches what passed through every exchange since it started. */
  collect(needles: Needles, marker: string, options?: { settleMs?: number }): Promise<SearchReport>;
  close(): Promise<void>;
}

/**
 * A tap: an exclusive queue of our own bound (`#`) to every exchange but RabbitMQ's own, so that every
 * message published from now on is copied to it. Start it after the platform (its subscriptions
 * declared the exchanges) and before the flow.
 */
export async function startRabbitTap(url: string, repoRoot: string): Promise<RabbitTap> {
  const connection: ChannelModel = await amqpConnect(url);
  try {
    const channel = await connection.createChannel();
    const queue = `secret-search-tap-${randomBytes(4).toString('hex')}`;
    await channel.assertQueue(queue, { exclusive: true, autoDelete: true, durable: false });
    const exchanges = (await rabbitmqctlNames(repoRoot, 'exchanges')).filter(
      (e) => !e.startsWith('amq.') && e !== '',
    );
    for (const exchange of exchanges) await channel.bindQueue(queue, exchange, '#');
    const seen: string[] = [];
    const { consumerTag } = await channel.consume(
      queue,
      (m) => {
        if (m) seen.push(messageText(m));
      },
      { noAck: true },
    );
    return {
      exchanges,
      async collect(needles, marker, options = {}) {
        // What the flow published last is copied to the tap within moments.
        await new Promise((resolve) => setTimeout(resolve, options.settleMs ?? 1_000));
        await channel.cancel(consumerTag);
        const report: SearchReport = { findings: [], scanned: seen.length, markerHits: 0 };
        seen.forEach((text, i) => {
          const hit = searchText(
            text,
            `rabbitmq tap message #${i + 1} (${text.split(' | ')[0] ?? ''})`,
            needles,
            marker,
          );
          report.findings.push(...hit.findings);
          if (hit.marked) report.markerHits += 1;
        });
        return report;
      },
      async close() {
        await connection.close();
      },
    };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Every message now sitting in any queue (dead-letter queues included), read without consuming it:
 * got unacknowledged on one channel, then the channel is closed and RabbitMQ requeues them all.
 */
export async function searchRabbitQueues(
  url: string,
  repoRoot: string,
  needles: Needles,
  marker: string,
): Promise<SearchReport & { queues: number }> {
  const queues = await rabbitmqctlNames(repoRoot, 'queues');
  const connection = await amqpConnect(url);
  const report: SearchReport = { findings: [], scanned: 0, markerHits: 0 };
  try {
    for (const queue of queues) {
      // A queue that vanished meanwhile closes the channel: one channel per queue.
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      try {
        const { messageCount } = await channel.checkQueue(queue);
        for (let i = 0; i < messageCount; i += 1) {
          const message = await channel.get(queue, { noAck: false });
          if (!message) break;
          report.scanned += 1;
          const hit = searchText(messageText(message), `rabbitmq queue ${queue}`, needles, marker);
          report.findings.push(...hit.findings);
          if (hit.marked) report.markerHits += 1;
        }
      } catch {
        // The queue is gone (auto-deleted): nothing in it to keep.
      } finally {
        await channel.close().catch(() => undefined);
      }
    }
    return { ...report, queues: queues.length };
  } finally {
    await connection.close();
  }
}

// ----------------------------------------------------------------------------------------------- Kafka

/**
 * Every message of every topic (but Kafka's internal ones) from offset 0 to the end as it is now, by
 * a consumer group of its own (deleted afterwards). Messages older than `since` are read and counted
 * but cannot hold this run's secrets; hits in them are not reported.
 */
export async function searchKafka(
  brokers: string[],
  needles: Needles,
  marker: string,
  options: { since: Date; timeoutMs?: number },
): Promise<SearchReport & { topics: number }> {
  const kafka = new Kafka({ clientId: 'secret-search', brokers, logLevel: kafkaLogLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `secret-search-${randomBytes(4).toString('hex')}`;
  const consumer = kafka.consumer({ groupId });
  const report: SearchReport = { findings: [], scanned: 0, markerHits: 0 };
  try {
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith('__'));
    // The end of every partition now: read until each is reached.
    const remaining = new Map<string, bigint>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        if (BigInt(p.high) > BigInt(p.low)) remaining.set(`${topic}/${p.partition}`, BigInt(p.high));
      }
    }
    if (remaining.size > 0) {
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`kafka: ${remaining.size} partitions not read to the end in time`)),
          options.timeoutMs ?? 60_000,
        );
        void consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            report.scanned += 1;
            if (Number(message.timestamp) >= options.since.getTime()) {
              const headers = Object.entries(message.headers ?? {})
                .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v ?? '')}`)
                .join(' ');
              const text = `${message.key?.toString('utf8') ?? ''} | ${headers} | ${message.value?.toString('utf8') ?? ''}`;
              const hit = searchText(text, `kafka ${topic}/${partition}@${message.offset}`, needles, marker);
              report.findings.push(...hit.findings);
              if (hit.marked) report.markerHits += 1;
            }
            const key = `${topic}/${partition}`;
            const end = remaining.get(key);
            if (end !== undefined && BigInt(message.offset) + 1n >= end) remaining.delete(key);
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        });
      });
      await done;
    }
    return { ...report, topics: topics.length };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
}

/** One line per finding, for an assertion message. */
export function describeFindings(findings: Finding[]): string {
  return findings.map((f) => `${f.secret} in ${f.where}: ${f.excerpt}`).join('\n');
}
