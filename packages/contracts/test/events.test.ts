import { describe, expect, it } from 'vitest';
import { Events, eventDefinitionByTopic, eventDefinitionByType } from '../src/events.ts';

describe('event registry', () => {
  it('gives every event a unique versioned type and a unique topic', () => {
    const defs = Object.values(Events);
    expect(new Set(defs.map((d) => d.type)).size).toBe(defs.length);
    expect(new Set(defs.map((d) => d.topic)).size).toBe(defs.length);
    for (const d of defs) {
      expect(d.type).toMatch(/^wallet\.[a-z-]+\.[a-z.-]+\.v[0-9]+$/);
      expect(eventDefinitionByType(d.type)).toBe(d);
      expect(eventDefinitionByTopic(d.topic)).toBe(d);
    }
  });

  it('refuses a transfer event whose amount is a float', () => {
    const parsed = Events.transferCompleted.schema.safeParse({
      transferId: 't',
      fromWalletId: 'a',
      toWalletId: 'b',
      fromUserId: 'u1',
      toUserId: 'u2',
      amount: '10.50',
      currency: 'EUR',
      occurredAt: new Date().toISOString(),
    });
    expect(parsed.success).toBe(false);
  });
});
