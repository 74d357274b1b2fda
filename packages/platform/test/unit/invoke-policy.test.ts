/**
 * The invoke policy both transports share: what opens a target's breaker (and what never does), the
 * caller's time budget capping each call and travelling in `x-deadline-ms`, and the one safe retry.
 * The raw call is scripted here; the transports' own suites run it over real HTTP and real daprd.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.ts';
import { InvocationError, type InvokeRequest, type InvokeResponse } from '../../src/port.ts';
import { runWithDeadline } from '../../src/resilience/deadline.ts';
import { createInvokePolicy, type RawInvoke } from '../../src/resilience/invoke-policy.ts';

const transfer: InvokeRequest = { appId: 'wallet-ledger', method: 'POST', path: '/transfers', body: {} };
const answer = (status: number, headers: Record<string, string> = {}): InvokeResponse => ({
  status,
  headers,
  body: undefined,
});

/** A raw call that answers from a script and records every call it was asked to make. */
function scripted(next: (request: InvokeRequest) => InvokeResponse | Error) {
  const calls: { request: InvokeRequest; timeoutMs: number }[] = [];
  const raw: RawInvoke = (request, timeoutMs) => {
    calls.push({ request, timeoutMs });
    const outcome = next(request);
    return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
  };
  return { raw, calls };
}

describe('circuit breaker', () => {
  it('never opens on refusals: 20 answers of 422/403/404/409 leave the target callable', async () => {
    const policy = createInvokePolicy('api-gateway', silentLogger, 1_000, { breakerConsecutiveFailures: 5 });
    const statuses = [422, 403, 404, 409];
    let n = 0;
    const { raw, calls } = scripted(() => answer(statuses[n++ % statuses.length]!));
    for (let i = 0; i < 20; i++) expect((await policy.invoke(transfer, raw)).status).toBe(statuses[i % 4]);
    expect(policy.breakerStates()).toEqual({ 'wallet-ledger': 'closed' });
    expect(calls).toHaveLength(20);
  });

  it('opens after 5 consecutive 5xx/timeouts, fails fast without calling, and a refusal as the probe closes it', async () => {
    const policy = createInvokePolicy('api-gateway', silentLogger, 1_000, {
      breakerConsecutiveFailures: 5,
      breakerOpenMs: 100,
    });
    let mode: 'broken' | 'refusing' = 'broken';
    let n = 0;
    const { raw, calls } = scripted(() => {
      if (mode === 'refusing') return answer(422);
      return n++ % 2 === 0 ? answer(500) : new InvocationError('no answer', 'wallet-ledger', 'timeout');
    });
    for (let i = 0; i < 5; i++) await policy.invoke(transfer, raw).catch(() => undefined);
    expect(policy.breakerStates()['wallet-ledger']).toBe('open');
    const refused = await policy.invoke(transfer, raw).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvocationError);
    expect((refused as InvocationError).reason).toBe('circuit-open');
    expect((refused as InvocationError).retryAfterMs).toBe(100);
    expect(calls).toHaveLength(5);

    await new Promise((resolve) => setTimeout(resolve, 120));
    mode = 'refusing';
    expect((await policy.invoke(transfer, raw)).status).toBe(422);
    expect(policy.breakerStates()['wallet-ledger']).toBe('closed');
  });

  it('neither counts nor retries a deliberate 503 with Retry-After (load shed, dependency down)', async () => {
    const policy = createInvokePolicy('wallet-ledger', silentLogger, 1_000, {
      breakerConsecutiveFailures: 2,
    });
    const { raw, calls } = scripted(() => answer(503, { 'retry-after': '1' }));
    for (let i = 0; i < 10; i++)
      expect((await policy.invoke({ ...transfer, appId: 'risk' }, raw)).status).toBe(503);
    expect(calls).toHaveLength(10);
    expect(policy.breakerStates()).toEqual({ risk: 'closed' });
  });

  it('counts a 503 without Retry-After and a 500 as failures; one target open leaves the others closed', async () => {
    const policy = createInvokePolicy('api-gateway', silentLogger, 1_000, { breakerConsecutiveFailures: 3 });
    const { raw } = scripted((request) => (request.appId === 'identity' ? answer(200) : answer(503)));
    for (let i = 0; i < 3; i++) await policy.invoke(transfer, raw);
    expect((await policy.invoke({ appId: 'identity', method: 'GET', path: '/x' }, raw)).status).toBe(200);
    expect(policy.breakerStates()).toEqual({ 'wallet-ledger': 'open', identity: 'closed' });
  });
});

describe('time budget', () => {
  it('caps the call by what is left of the budget (minus the reserve) and tells the callee', async () => {
    const policy = createInvokePolicy('wallet-ledger', silentLogger, 5_000, { budgetReserveMs: 50 });
    const { raw, calls } = scripted(() => answer(200));
    await runWithDeadline(400, () => policy.invoke({ ...transfer, timeoutMs: 1_500 }, raw));
    const { timeoutMs, request } = calls[0]!;
    expect(timeoutMs).toBeGreaterThan(300);
    expect(timeoutMs).toBeLessThanOrEqual(350);
    expect(request.headers?.['x-deadline-ms']).toBe(String(timeoutMs));
    // Outside a request: the call's own timeout.
    await policy.invoke({ ...transfer, timeoutMs: 1_500 }, raw);
    expect(calls[1]!.timeoutMs).toBe(1_500);
  });

  it('does not call at all once the budget is spent, and does not blame the target for it', async () => {
    const policy = createInvokePolicy('wallet-ledger', silentLogger, 5_000, {
      breakerConsecutiveFailures: 1,
    });
    const { raw, calls } = scripted(() => answer(200));
    const error = await runWithDeadline(30, () => policy.invoke(transfer, raw)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvocationError);
    expect((error as InvocationError).reason).toBe('timeout');
    expect(calls).toHaveLength(0);
    expect(policy.breakerStates()).toEqual({});
  });

  it('does not count a timeout the short budget caused', async () => {
    const policy = createInvokePolicy('wallet-ledger', silentLogger, 5_000, {
      breakerConsecutiveFailures: 1,
      countTimeoutsFromMs: 250,
    });
    const { raw } = scripted(() => new InvocationError('no answer', 'risk', 'timeout'));
    await runWithDeadline(200, () => policy.invoke({ ...transfer, appId: 'risk' }, raw)).catch(
      () => undefined,
    );
    expect(policy.breakerStates()).toEqual({ risk: 'closed' });
    await policy.invoke({ ...transfer, appId: 'risk', timeoutMs: 300 }, raw).catch(() => undefined);
    expect(policy.breakerStates()).toEqual({ risk: 'open' });
  });
});

describe('retry', () => {
  it('repeats an unreachable call once when it is safe (GET, or an Idempotency-Key), never otherwise', async () => {
    const policy = createInvokePolicy('api-gateway', silentLogger, 1_000, { retryBackoffMs: 5 });
    const unreachable = () => new InvocationError('refused', 'wallet-ledger', 'unreachable');
    const safe = scripted(unreachable);
    await expect(
      policy.invoke({ appId: 'wallet-ledger', method: 'GET', path: '/w' }, safe.raw),
    ).rejects.toThrow();
    expect(safe.calls).toHaveLength(2);
    const keyed = scripted(unreachable);
    await expect(
      policy.invoke({ ...transfer, headers: { 'Idempotency-Key': 'k' } }, keyed.raw),
    ).rejects.toThrow();
    expect(keyed.calls).toHaveLength(2);
    const unsafe = scripted(unreachable);
    await expect(policy.invoke(transfer, unsafe.raw)).rejects.toThrow();
    expect(unsafe.calls).toHaveLength(1);
  });

  it('never repeats a timeout or a 5xx answer', async () => {
    const policy = createInvokePolicy('api-gateway', silentLogger, 1_000);
    const get: InvokeRequest = { appId: 'wallet-ledger', method: 'GET', path: '/w' };
    const timeouts = scripted(() => new InvocationError('late', 'wallet-ledger', 'timeout'));
    await expect(policy.invoke(get, timeouts.raw)).rejects.toThrow();
    expect(timeouts.calls).toHaveLength(1);
    const broken = scripted(() => answer(502));
    expect((await policy.invoke(get, broken.raw)).status).toBe(502);
    expect(broken.calls).toHaveLength(1);
  });
});
