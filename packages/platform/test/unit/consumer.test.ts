import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Events, type CloudEvent } from '@wallet/contracts';
import { contractEventHandler } from '../../src/messaging/consumer.ts';

function recordingLogger() {
  const lines: { obj: object; msg?: string | undefined }[] = [];
  const log = (obj: object, msg?: string) => void lines.push({ obj, msg });
  return { lines, logger: { debug: log, info: log, warn: log, error: log } };
}

const envelope = (type: string, data: unknown): CloudEvent<unknown> => ({
  specversion: '1.0',
  id: randomUUID(),
  source: 'identity',
  type,
  data,
});

describe('contractEventHandler', () => {
  const valid = { userId: randomUUID(), sessionIds: [randomUUID()], reason: 'logout' };

  it('hands the parsed payload to the handler', async () => {
    const seen: unknown[] = [];
    const { logger } = recordingLogger();
    const handle = contractEventHandler(
      'sessionRevoked',
      (data) => {
        seen.push(data.sessionIds);
        return Promise.resolve('SUCCESS');
      },
      logger,
    );
    const parsed = Events.sessionRevoked.schema.parse(valid);
    expect(await handle(envelope(Events.sessionRevoked.type, valid))).toBe('SUCCESS');
    expect(seen).toEqual([parsed.sessionIds]);
  });

  it('drops another type on the topic and a payload off contract, logging field paths only', async () => {
    const { lines, logger } = recordingLogger();
    let called = 0;
    const handle = contractEventHandler(
      'sessionRevoked',
      () => {
        called += 1;
        return Promise.resolve('SUCCESS');
      },
      logger,
    );
    expect(await handle(envelope('wallet.identity.other.v1', valid))).toBe('DROP');
    const secret = '493817';
    expect(await handle(envelope(Events.sessionRevoked.type, { ...valid, sessionIds: secret }))).toBe('DROP');
    expect(called).toBe(0);
    expect(lines.map((l) => l.msg)).toEqual([
      'unexpected event type on topic; dropped',
      'event breaks its contract; dropped',
    ]);
    expect(lines[1]!.obj).toMatchObject({ fields: ['sessionIds'] });
    expect(JSON.stringify(lines)).not.toContain(secret);
  });
});
