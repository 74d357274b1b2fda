/**
 * The searches of secret-search.ts find what is there, on the real brokers and PostgreSQL of
 * `infra/local.sh` (no Dapr): a value planted in a message, a queue, a topic or a table is reported,
 * a value that is nowhere is not, and a queue read by the search still holds its messages. Without
 * this, "found nothing" in the system tests could mean "looked nowhere".
 *
 * Everything it creates is its own (random names) and removed at the end.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { connect as amqpConnect } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { REPO_ROOT } from '@wallet/dapr-harness';
import { infraEnv } from '@wallet/testing';
import {
  searchDatabase,
  searchKafka,
  searchRabbitQueues,
  searchText,
  startRabbitTap,
} from '../src/secret-search.ts';

const rabbitUrl = infraEnv('RABBITMQ_URL');
const kafkaBrokers = infraEnv('KAFKA_BROKERS');
const adminUrl = infraEnv('TEST_PG_ADMIN_URL');

const planted = (): { secret: string; absent: string; marker: string } => ({
  secret: `s3cret-${randomBytes(8).toString('hex')}`,
  absent: `absent-${randomBytes(8).toString('hex')}`,
  marker: randomUUID(),
});

describe('secret search: matching', () => {
  it('matches a numeric code only with no digit on either side', () => {
    const needles = { code: '482913' };
    expect(searchText('your code is 482913.', 'x', needles).findings).toHaveLength(1);
    expect(searchText('{"code":"482913"}', 'x', needles).findings).toHaveLength(1);
    expect(searchText('t=15:50:20.1482913+00', 'x', needles).findings).toEqual([]);
    expect(searchText('amount 4829130', 'x', needles).findings).toEqual([]);
  });

  it('reports where and names the secret instead of printing it', () => {
    const [finding] = searchText('password=hunter2-long!', 'db/t', { password: 'hunter2-long!' }).findings;
    expect(finding).toEqual({ secret: 'password', where: 'db/t', excerpt: 'password=<password>' });
  });
});

describe.skipIf(!rabbitUrl)('secret search: RabbitMQ', () => {
  const exchange = `secret-search-selftest-${randomBytes(4).toString('hex')}`;
  const queue = `${exchange}-queue`;

  afterAll(async () => {
    const connection = await amqpConnect(rabbitUrl!);
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
    await connection.close();
  });

  it('the tap sees every message published to any exchange; queues are read without consuming', async () => {
    const { secret, absent, marker } = planted();
    const connection = await amqpConnect(rabbitUrl!);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertExchange(exchange, 'topic', { durable: false, autoDelete: false });
      await channel.assertQueue(queue, { durable: false });
      await channel.bindQueue(queue, exchange, '#');

      const tap = await startRabbitTap(rabbitUrl!, REPO_ROOT);
      try {
        expect(tap.exchanges).toContain(exchange);
        channel.publish(exchange, 'any.key', Buffer.from(JSON.stringify({ userId: marker, note: secret })), {
          headers: { 'x-extra': 'h' },
        });
        await channel.waitForConfirms();
        const crossed = await tap.collect({ secret, absent }, marker);
        expect(crossed.findings.map((f) => f.secret)).toEqual(['secret']);
        expect(crossed.markerHits).toBe(1);
      } finally {
        await tap.close();
      }

      const queued = await searchRabbitQueues(rabbitUrl!, REPO_ROOT, { secret, absent }, marker);
      expect(queued.findings).toEqual([
        expect.objectContaining({ secret: 'secret', where: `rabbitmq queue ${queue}` }),
      ]);
      // Still there: inspected, not consumed.
      expect((await channel.checkQueue(queue)).messageCount).toBe(1);
    } finally {
      await connection.close();
    }
  }, 60_000);
});

describe.skipIf(!kafkaBrokers)('secret search: Kafka', () => {
  const topic = `secret-search-selftest-${randomBytes(4).toString('hex')}`;
  const kafka = new Kafka({
    clientId: 'secret-search-selftest',
    brokers: (kafkaBrokers ?? '').split(','),
    logLevel: logLevel.NOTHING,
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('reads every topic from offset 0, and skips messages older than the run', async () => {
    const { secret, absent, marker } = planted();
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    const old = Date.now() - 3_600_000;
    await producer.send({
      topic,
      messages: [
        {
          key: 'a',
          value: JSON.stringify({ userId: marker, note: `${secret}-old` }),
          timestamp: String(old),
        },
        { key: 'b', value: JSON.stringify({ userId: marker }), headers: { carried: secret } },
        { key: 'c', value: 'unrelated' },
      ],
    });
    await producer.disconnect();

    const report = await searchKafka((kafkaBrokers ?? '').split(','), { secret, absent }, marker, {
      since: new Date(Date.now() - 60_000),
      timeoutMs: 60_000,
    });
    // The header of the recent message; the old message's hit is before the run and not reported.
    expect(report.findings).toEqual([expect.objectContaining({ secret: 'secret' })]);
    expect(report.findings[0]!.where).toMatch(new RegExp(`^kafka ${topic}/[01]@[0-2]$`));
    expect(report.markerHits).toBe(1);
    expect(report.scanned).toBeGreaterThanOrEqual(3);
  }, 90_000);
});

describe.skipIf(!adminUrl)('secret search: PostgreSQL', () => {
  const name = `secret_search_${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${name}`);
    await admin.end();
  });

  it('searches text, json and numeric columns of every schema, skips timestamps, keeps excluded tables apart', async () => {
    const { secret, absent, marker } = planted();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(adminUrl!);
    url.pathname = `/${name}`;
    const db = new pg.Client({ connectionString: url.toString() });
    await db.connect();
    try {
      await db.query(`create schema other`);
      await db.query(`create table public.events (id bigint, payload jsonb, at timestamptz)`);
      await db.query(`create table other.notes (body text, n bigint)`);
      await db.query(`create table public.mailbox (body text)`);
      await db.query(`insert into public.events values (1, $1, '2026-01-01 10:00:00.482913+00')`, [
        JSON.stringify({ userId: marker, nested: { x: secret } }),
      ]);
      await db.query(`insert into other.notes values ('nothing here', 482913)`);
      await db.query(`insert into public.mailbox values ($1)`, [`your code ${secret}`]);
    } finally {
      await db.end();
    }
    const report = await searchDatabase(name, url.toString(), { secret, absent, code: '482913' }, marker, {
      excluded: { 'public.mailbox': 'the delivered message' },
    });
    expect(report.findings.map((f) => `${f.secret}@${f.where}`).sort()).toEqual([
      `code@${name}/other.notes`,
      `secret@${name}/public.events`,
    ]);
    expect(report.excludedFindings.map((f) => f.secret)).toEqual(['secret']);
    expect(report.markerHits).toBe(1);
    expect(report.tables).toBe(3);
  }, 60_000);
});
