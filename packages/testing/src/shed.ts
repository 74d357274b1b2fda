/**
 * A well-behaved client's answer to load shedding: a 503 `overloaded` with Retry-After says the service
 * did nothing with the request and is ready again after that many seconds, so the client waits and sends
 * it again. Tests that model people (an office signing up at once) do the same, so that a busy machine
 * does not read as a policy refusing them.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface AnswerLike {
  status: number;
  headers: Headers;
  body: unknown;
}

/** The problem type services answer when they shed work (see @wallet/contracts' ProblemType.overloaded). */
const OVERLOADED_SUFFIX = '/problems/overloaded';

export function isShed(answer: AnswerLike): boolean {
  const type = (answer.body as { type?: unknown } | null)?.type;
  return (
    answer.status === 503 &&
    answer.headers.get('retry-after') !== null &&
    typeof type === 'string' &&
    type.endsWith(OVERLOADED_SUFFIX)
  );
}

/** Sends until the answer is not shed, waiting Retry-After (at most 10 s) between tries; at most `tries` sends. */
export async function untilNotShed<A extends AnswerLike>(send: () => Promise<A>, tries = 5): Promise<A> {
  for (let attempt = 1; ; attempt++) {
    const answer = await send();
    if (!isShed(answer) || attempt >= tries) return answer;
    const seconds = Number(answer.headers.get('retry-after'));
    await sleep(Math.min(10, Number.isFinite(seconds) ? seconds : 1) * 1000);
  }
}
