/** Readiness checks: `/readyz` answers 200 only when every check passes within its timeout. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when ready; rejects (or resolves false) when not. */
  check: () => Promise<boolean | void>;
  timeoutMs?: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; error?: string }>;
}

async function runCheck(c: ReadinessCheck): Promise<{ ok: boolean; error?: string }> {
  const timeoutMs = c.timeoutMs ?? 2_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const outcome = await Promise.race([
      c.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return outcome === false ? { ok: false, error: 'not ready' } : { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

export async function checkReadiness(checks: ReadinessCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map(async (c) => [c.name, await runCheck(c)] as const));
  return { ready: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}
