import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Events, RETIRED_EVENTS, eventDefinitionByTopic, eventDefinitionByType } from '../src/events.ts';

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

  it('never reuses the type or topic of a retired version', () => {
    const defs = Object.values(Events);
    for (const retired of RETIRED_EVENTS) {
      expect(defs.map((d) => d.type)).not.toContain(retired.type);
      expect(defs.map((d) => d.topic)).not.toContain(retired.topic);
      expect(Events[retired.replacedBy].type).not.toBe(retired.type);
    }
  });

  it('names no field that could hold a secret (codes travel by reference)', () => {
    const secretLike = /(code|password|secret|token|otp|pin)$/i;
    const offenders: string[] = [];
    const walk = (schema: z.ZodType, path: string): void => {
      if (schema instanceof z.ZodObject) {
        const { shape } = schema as z.ZodObject<Record<string, z.ZodType>>;
        for (const [key, child] of Object.entries(shape)) {
          if (secretLike.test(key)) offenders.push(`${path}.${key}`);
          walk(child, `${path}.${key}`);
        }
      } else if (
        schema instanceof z.ZodOptional ||
        schema instanceof z.ZodNullable ||
        schema instanceof z.ZodDefault
      ) {
        walk(schema.unwrap() as z.ZodType, path);
      } else if (schema instanceof z.ZodArray) {
        walk(schema.element as z.ZodType, `${path}[]`);
      }
    };
    for (const [name, d] of Object.entries(Events)) walk(d.schema, name);
    expect(offenders).toEqual([]);
  });

  it('carries one-time codes by a uuid reference only', () => {
    const at = new Date().toISOString();
    const base = { userId: 'u1', email: 'a@example.test', expiresAt: at };
    expect(Events.recoveryRequested.schema.safeParse({ ...base, codeRef: '12345678' }).success).toBe(false);
    const parsed = Events.recoveryRequested.schema.parse({
      ...base,
      codeRef: '6f1d2c1e-0a4b-4d7e-9a57-3c1f1b2a9e10',
      code: '12345678',
    });
    // A stray code from a careless producer is stripped, never carried on.
    expect(parsed).not.toHaveProperty('code');
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
