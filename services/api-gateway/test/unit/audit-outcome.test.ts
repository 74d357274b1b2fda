import { describe, expect, it } from 'vitest';
import { auditOutcome } from '../../src/audit/audit-log.ts';

describe('audit outcome from the final status', () => {
  it('records a request the gateway let through by what the caller got', () => {
    expect(auditOutcome('allowed', 200)).toBe('allowed');
    expect(auditOutcome('allowed', 202)).toBe('allowed');
    expect(auditOutcome('allowed', 304)).toBe('allowed');
    // The finding: "allowed" for a request that failed with 400.
    expect(auditOutcome('allowed', 400)).toBe('failed');
    expect(auditOutcome('allowed', 404)).toBe('failed');
    expect(auditOutcome('allowed', 409)).toBe('failed');
    expect(auditOutcome('allowed', 422)).toBe('failed');
    expect(auditOutcome('allowed', 503)).toBe('failed');
    // Refused by the service behind the gateway (ownership, four eyes).
    expect(auditOutcome('allowed', 401)).toBe('denied');
    expect(auditOutcome('allowed', 403)).toBe('denied');
  });

  it('keeps the gateway’s own refusals and failures', () => {
    expect(auditOutcome('denied', 403)).toBe('denied');
    expect(auditOutcome('denied', 429)).toBe('denied');
    expect(auditOutcome('failed', 504)).toBe('failed');
  });
});
