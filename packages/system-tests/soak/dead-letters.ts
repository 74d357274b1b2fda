/**
 * Dead letters written during the run are explained (service, topic, last error) and replayed the way
 * an operator would: an administrator (identity's `create-admin`, TOTP, step-up) lists them and
 * replays them through the public admin API; then their effect must show (people whose default
 * wallet never came have one) and none may be left pending.
 */
import { publicClient } from '../src/public-client.ts';
import { findWallet, type World } from './people.ts';
import type { Check } from './invariants.ts';

interface DeadLetterItem {
  id: string;
  service: string;
  consumer: string;
  topic: string;
  lastError: string | null;
  createdAt: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function replayDeadLetters(
  world: World,
  identityDatabaseUrl: string,
  sinceIso: string,
): Promise<Check> {
  const name = 'dead letters: none, or each explained and replayed by the admin API with its effect seen';
  const admin = publicClient(world.gatewayUrl, world.certificate, { timeoutMs: 60_000 });
  try {
    const account = await admin.createAdmin('soak-admin', identityDatabaseUrl);
    const { aal2 } = await admin.signIn(account);
    const pending = async (): Promise<DeadLetterItem[]> => {
      const page = await admin.call<{ items?: DeadLetterItem[] }>('GET', '/v1/admin/dead-letters?limit=200', {
        token: aal2,
      });
      if (page.status !== 200)
        throw new Error(`GET /v1/admin/dead-letters: ${page.status} ${JSON.stringify(page.body)}`);
      return (page.body.items ?? []).filter((d) => d.createdAt >= sinceIso);
    };
    const found = await pending();
    if (found.length === 0 && world.stranded.length === 0)
      return { name, ok: true, detail: 'none in any service' };

    const groups = new Map<string, number>();
    for (const d of found) {
      const key = `${d.service}: ${d.consumer} / ${d.topic} (${(d.lastError ?? 'no error recorded').slice(0, 120)})`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    const explained = [...groups].map(([key, n]) => `${n} x ${key}`).join('; ');
    const byService = new Map<string, string[]>();
    for (const d of found) byService.set(d.service, [...(byService.get(d.service) ?? []), d.id]);
    for (const [service, ids] of byService) {
      const replayed = await admin.call('POST', '/v1/admin/dead-letters/replay', {
        token: aal2,
        body: { service, ids },
      });
      if (replayed.status !== 200) {
        return {
          name,
          ok: false,
          detail: `${explained}; replay on ${service}: ${replayed.status} ${JSON.stringify(replayed.body)}`,
        };
      }
    }
    // The replayed events are delivered again; the effect must follow.
    const deadline = Date.now() + 60_000;
    let left = await pending();
    while (left.length > 0 && Date.now() < deadline) {
      await sleep(1_000);
      left = await pending();
    }
    const stillStranded = [];
    for (const person of world.stranded) {
      if (await findWallet(world, person, Math.max(1_000, deadline - Date.now()))) {
        person.busy = false;
        world.people.push(person);
      } else stillStranded.push(person.email);
    }
    const ok = left.length === 0 && stillStranded.length === 0;
    return {
      name,
      ok,
      detail:
        `${found.length} dead-lettered: ${explained || 'none'}; replayed through POST /v1/admin/dead-letters/replay` +
        (world.stranded.length > 0
          ? `; ${world.stranded.length - stillStranded.length} of ${world.stranded.length} sign-ups without a wallet have one now`
          : '') +
        (left.length > 0 ? `; ${left.length} still pending after the replay` : '') +
        (stillStranded.length > 0 ? `; still no wallet: ${stillStranded.join(', ')}` : ''),
    };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  } finally {
    await admin.close();
  }
}
