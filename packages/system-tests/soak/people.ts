// Longer than 400 lines: every kind of person the soak plays (sign-up, sign-in, money, reads) shares the retry-until-definite loop and the client's own record kept here.
/**
 * The soak's people: each one a user of the public API from a loopback address of their own, with
 * the client's own record of what happened to their money (what a careful client app would keep).
 *
 * Every money request carries an Idempotency-Key (or, for the provider's webhooks, a stable event id);
 * when its answer is lost (no answer in time, a reset, a 5xx, "still in flight", 429) it is sent again
 * with the same key until a definite answer comes (2xx or a 4xx refusal), as a real client must.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { generate } from 'otplib';
import {
  freshLoopbackAddress,
  gatewayClient,
  sixDigitCode,
  type Answer,
  type GatewayClient,
} from '../src/client.ts';
import { outcomeOf, type Recorder } from './recorder.ts';

const PROBLEM = 'https://wallet.dev/problems/';
const WEBHOOK_SECRET = 'whsec_dev_only';
/** One attempt's deadline: past it the answer counts as lost. */
const ATTEMPT_TIMEOUT_MS = 10_000;

export interface Transfer {
  transferId: string;
  from: Person;
  to: Person;
  amount: bigint;
  refunded: bigint;
}

export interface Refund {
  refundId: string;
  transfer: Transfer;
  amount: bigint;
}

export interface Withdrawal {
  withdrawalId: string;
  amount: bigint;
  state: 'pending' | 'settled' | 'failed';
}

export interface Person {
  label: string;
  email: string;
  password: string;
  address: string;
  client: GatewayClient;
  userId: string;
  walletId: string;
  token: string;
  /** TOTP secret, for the people who step up (large transfers, withdrawals). */
  totpSecret?: string;
  lastTotpStep: number;
  /** One operation at a time per person (a person's app does one thing at a time). */
  busy: boolean;
  /** The client's own record: what the balance must be. */
  expected: bigint;
  sent: Transfer[];
  received: Transfer[];
  /** Refunds this person received (as the payer of the original transfer) and issued (as the payee). */
  refundsIn: Refund[];
  refundsOut: Refund[];
  deposits: { eventId: string; amount: bigint }[];
  withdrawals: Withdrawal[];
}

/** The definite answer, or undefined when none came before the deadline (an operation in doubt). */
export type Definite<T> = Answer<T> | undefined;

export interface World {
  gatewayUrl: string;
  certificate: string;
  recorder: Recorder;
  people: Person[];
  /** People whose default wallet never came (its opening event was dead-lettered): replayed at the end. */
  stranded: Person[];
  /** Operations that never got a definite answer: each one is a failed invariant. */
  inDoubt: { op: string; person: string; key: string; lastStatus: number; at: number }[];
  /** How long an operation keeps retrying before it is written down as in doubt. */
  retryDeadlineMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function problemType(body: unknown): string | undefined {
  if (body && typeof body === 'object' && 'type' in body && typeof body.type === 'string') return body.type;
  return undefined;
}

/** One attempt, recorded; a network error or our deadline is status 0. */
async function attempt<T>(
  world: World,
  op: string,
  n: number,
  send: (signal: AbortSignal) => Promise<Answer<T>>,
): Promise<Answer<T> | undefined> {
  const at = world.recorder.now();
  try {
    const answer = await send(AbortSignal.timeout(ATTEMPT_TIMEOUT_MS));
    const type = problemType(answer.body);
    world.recorder.request({
      at,
      ms: answer.ms,
      op,
      status: answer.status,
      outcome: outcomeOf(answer.status, type),
      attempt: n,
      ...(type ? { type } : {}),
    });
    return answer;
  } catch {
    world.recorder.request({ at, ms: world.recorder.now() - at, op, status: 0, outcome: 'lost', attempt: n });
    return undefined;
  }
}

/**
 * Sends until a definite answer (2xx or a refusal), with the same key each time (`send` must reuse it).
 * Waits between attempts as the answer asks (Retry-After) or with a capped backoff.
 */
export async function untilDefinite<T>(
  world: World,
  op: string,
  person: Person,
  key: string,
  send: (signal: AbortSignal) => Promise<Answer<T>>,
): Promise<Definite<T>> {
  const deadline = world.recorder.now() + world.retryDeadlineMs;
  for (let n = 1; ; n++) {
    const answer = await attempt(world, op, n, send);
    const lastStatus = answer?.status ?? 0;
    if (answer && outcomeOf(answer.status, problemType(answer.body)) !== 'server-error') {
      const outcome = outcomeOf(answer.status, problemType(answer.body));
      if (outcome === 'ok' || outcome === 'refused') return answer;
    }
    if (world.recorder.now() >= deadline) {
      world.inDoubt.push({ op, person: person.label, key, lastStatus, at: world.recorder.now() });
      return undefined;
    }
    const retryAfter = Number(answer?.headers.get('retry-after') ?? '');
    const backoff = Math.min(2_000, 200 * 2 ** Math.min(n - 1, 4));
    await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter * 1000, 5_000) : backoff);
  }
}

/** A read: one attempt (nothing to make definite), recorded. */
export function read<T>(
  world: World,
  op: string,
  person: Person,
  path: string,
): Promise<Answer<T> | undefined> {
  return attempt<T>(world, op, 1, (signal) =>
    person.client.call<T>('GET', path, { token: person.token, signal }),
  );
}

function signed(raw: string): Record<string, string> {
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${raw}`).digest('hex');
  return { 'webhook-signature': `t=${t},v1=${v1}` };
}

/** The payment provider's signed webhook, sent again (freshly signed, same event id) until definite. */
function providerEvent(world: World, op: string, person: Person, event: object): Promise<Definite<unknown>> {
  const raw = JSON.stringify(event);
  const id = (event as { id: string }).id;
  return untilDefinite(world, op, person, id, (signal) =>
    person.client.call('POST', '/v1/webhooks/payments', { raw, headers: signed(raw), signal }),
  );
}

/** The next unused TOTP code of `person` (each 30 s step is accepted once; ±1 step of skew). */
async function totp(person: Person): Promise<string> {
  const secret = person.totpSecret!;
  const step = Math.max(Math.floor(Date.now() / 30_000), person.lastTotpStep + 1);
  person.lastTotpStep = step;
  // A step more than one ahead of the clock is refused: wait for the clock.
  while (step > Math.floor(Date.now() / 30_000) + 1) await sleep(1_000);
  return generate({ secret, epoch: step * 30 });
}

async function mustAnswer<T>(
  world: World,
  op: string,
  person: Person,
  send: (signal: AbortSignal) => Promise<Answer<T>>,
  accept: (status: number) => boolean,
): Promise<Answer<T>> {
  const answer = await untilDefinite(world, op, person, `${op}:${person.label}`, send);
  if (!answer || !accept(answer.status)) {
    throw new Error(
      `${op} ${person.email}: ${answer?.status ?? 'no answer'} ${JSON.stringify(answer?.body)}`,
    );
  }
  return answer;
}

/**
 * Signs in (and, with TOTP, answers the second factor); with `stepUp`, raises the session to aal2.
 * A second factor or step-up whose first answer was lost may have spent the challenge or the code:
 * the retry is then refused, and the person starts over with a new sign-in and the next code.
 */
export async function signIn(world: World, person: Person, stepUp: boolean): Promise<void> {
  for (let round = 1; ; round++) {
    const lastRound = round >= 3;
    const login = await mustAnswer<{ accessToken?: string; mfaRequired?: boolean; mfaToken?: string }>(
      world,
      'login',
      person,
      (signal) =>
        person.client.call('POST', '/v1/auth/login', {
          body: { email: person.email, password: person.password, deviceName: 'soak-phone' },
          signal,
        }),
      (s) => s === 200,
    );
    let token = login.body.accessToken;
    if (login.body.mfaRequired) {
      const code = await totp(person);
      const mfa = await mustAnswer<{ accessToken: string }>(
        world,
        'login-mfa',
        person,
        (signal) =>
          person.client.call('POST', '/v1/auth/login/mfa', {
            body: { mfaToken: login.body.mfaToken, code },
            signal,
          }),
        (s) => s === 200 || (!lastRound && (s === 400 || s === 401)),
      );
      if (mfa.status !== 200) continue;
      token = mfa.body.accessToken;
    }
    person.token = token!;
    if (!stepUp || !person.totpSecret) return;
    const code = await totp(person);
    const raised = await mustAnswer<{ accessToken: string }>(
      world,
      'step-up',
      person,
      (signal) =>
        person.client.call('POST', '/v1/auth/step-up', { token: person.token, body: { code }, signal }),
      (s) => s === 200 || (!lastRound && (s === 400 || s === 401)),
    );
    if (raised.status !== 200) continue;
    person.token = raised.body.accessToken;
    return;
  }
}

/** Register, verify the e-mail with the code from the dev outbox, sign in, find the default wallet; optionally enrol TOTP. */
export async function signUp(world: World, label: string, withTotp: boolean): Promise<Person> {
  const address = freshLoopbackAddress();
  const client = gatewayClient(world.gatewayUrl, world.certificate, {
    localAddress: address,
    connections: 4,
    timeoutMs: 60_000,
  });
  const person: Person = {
    label,
    email: `${label}+${randomUUID().slice(0, 8)}@example.com`,
    password: `correct horse ${randomUUID()}`,
    address,
    client,
    userId: '',
    walletId: '',
    token: '',
    lastTotpStep: 0,
    busy: true,
    expected: 0n,
    sent: [],
    received: [],
    refundsIn: [],
    refundsOut: [],
    deposits: [],
    withdrawals: [],
  };
  // A lost answer to a registration is retried; sign-up answers 202 whether or not the address is known
  // (identity does not tell), so a retry after a first one that landed is harmless.
  await mustAnswer(
    world,
    'register',
    person,
    (signal) =>
      client.call('POST', '/v1/auth/register', {
        body: { email: person.email, password: person.password },
        signal,
      }),
    (s) => s === 202,
  );
  const code = await readCode(world, person);
  await mustAnswer(
    world,
    'verify-email',
    person,
    (signal) => client.call('POST', '/v1/auth/verify-email', { body: { email: person.email, code }, signal }),
    (s) => s === 204,
  );
  await signIn(world, person, false);
  if (!(await findWallet(world, person, 30_000))) {
    world.stranded.push(person);
    throw new Error(`no default wallet for ${person.email} after 30 s`);
  }
  const me = await read<{ userId: string }>(world, 'me', person, '/v1/me');
  person.userId = me?.body.userId ?? '';
  if (withTotp) {
    const started = await mustAnswer<{ secret: string }>(
      world,
      'totp-enrol',
      person,
      (signal) => client.call('POST', '/v1/me/mfa/totp', { token: person.token, body: {}, signal }),
      (s) => s === 200,
    );
    person.totpSecret = started.body.secret;
    const confirmCode = await totp(person);
    await mustAnswer(
      world,
      'totp-confirm',
      person,
      (signal) =>
        client.call('POST', '/v1/me/mfa/totp/confirm', {
          token: person.token,
          body: { code: confirmCode },
          signal,
        }),
      (s) => s === 200,
    );
    // The enrolling session steps up at once with the next code (the confirmation used this step's).
    const stepUpCode = await totp(person);
    const raised = await mustAnswer<{ accessToken: string }>(
      world,
      'step-up',
      person,
      (signal) =>
        client.call('POST', '/v1/auth/step-up', { token: person.token, body: { code: stepUpCode }, signal }),
      (s) => s === 200,
    );
    person.token = raised.body.accessToken;
  }
  person.busy = false;
  return person;
}

/** Waits for the person's default wallet (opened by the ledger on user.registered); false at the deadline. */
export async function findWallet(world: World, person: Person, timeoutMs: number): Promise<boolean> {
  const deadline = world.recorder.now() + timeoutMs;
  for (;;) {
    const wallets = await read<{ items?: { walletId: string }[] }>(world, 'wallets', person, '/v1/wallets');
    const first = wallets?.status === 200 ? wallets.body.items?.[0] : undefined;
    if (first) {
      person.walletId = first.walletId;
      return true;
    }
    if (world.recorder.now() > deadline) return false;
    await sleep(250);
  }
}

/** The e-mailed code, read from the dev outbox through the gateway from a mailbox address of its own. */
async function readCode(world: World, person: Person): Promise<string> {
  const mailbox = gatewayClient(world.gatewayUrl, world.certificate, {
    localAddress: freshLoopbackAddress(),
    connections: 1,
  });
  try {
    const deadline = world.recorder.now() + 90_000;
    for (;;) {
      try {
        const outbox = await mailbox.call<{ items?: { subject: string; body: string }[] }>(
          'GET',
          `/v1/dev/outbox?to=${encodeURIComponent(person.email)}`,
          { signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS) },
        );
        const code = sixDigitCode(outbox.body?.items);
        if (code) return code;
      } catch {
        // the outbox did not answer: ask again
      }
      if (world.recorder.now() > deadline) throw new Error(`no code e-mailed to ${person.email}`);
      // Once a second: a mailbox's address stays inside the gateway's anonymous class (120/60 s).
      await sleep(1_000);
    }
  } finally {
    await mailbox.close();
  }
}

/** A signed deposit webhook crediting `amount` to the person's wallet. */
export async function deposit(world: World, person: Person, amount: bigint): Promise<void> {
  const eventId = `evt_${randomUUID()}`;
  const answer = await providerEvent(world, 'deposit', person, {
    id: eventId,
    type: 'payment.succeeded',
    data: { walletId: person.walletId, amount: amount.toString(), currency: 'EUR' },
  });
  if (answer && answer.status < 300) {
    person.expected += amount;
    person.deposits.push({ eventId, amount });
  }
}

/** A transfer; `op` names it in the records (small or large). A 401 (token expired) signs in again first. */
export async function transfer(
  world: World,
  op: string,
  from: Person,
  to: Person,
  amount: bigint,
): Promise<void> {
  const key = randomUUID();
  const body = {
    fromWalletId: from.walletId,
    toWalletId: to.walletId,
    amount: amount.toString(),
    currency: 'EUR',
  };
  const send = (signal: AbortSignal) =>
    from.client.call<{ transferId?: string }>('POST', '/v1/transfers', {
      token: from.token,
      body,
      headers: { 'idempotency-key': key },
      signal,
    });
  let answer = await untilDefinite(world, op, from, key, send);
  if (answer?.status === 401) {
    await signIn(world, from, op === 'transfer-large');
    answer = await untilDefinite(world, op, from, key, send);
  } else if (
    answer?.status === 403 &&
    problemType(answer.body) === `${PROBLEM}step-up-required` &&
    from.totpSecret
  ) {
    await signIn(world, from, true);
    answer = await untilDefinite(world, op, from, key, send);
  }
  if (answer?.status === 201 && answer.body.transferId) {
    const t: Transfer = { transferId: answer.body.transferId, from, to, amount, refunded: 0n };
    from.expected -= amount;
    to.expected += amount;
    from.sent.push(t);
    to.received.push(t);
  }
}

/** The payee gives part of a transfer back. */
export async function refund(world: World, payee: Person, t: Transfer, amount: bigint): Promise<void> {
  const key = randomUUID();
  const answer = await untilDefinite<{ refundId?: string }>(world, 'refund', payee, key, (signal) =>
    payee.client.call('POST', `/v1/transfers/${t.transferId}/refunds`, {
      token: payee.token,
      body: { amount: amount.toString(), reason: 'soak' },
      headers: { 'idempotency-key': key },
      signal,
    }),
  );
  if (answer?.status === 201 && answer.body.refundId) {
    const r: Refund = { refundId: answer.body.refundId, transfer: t, amount };
    t.refunded += amount;
    payee.expected -= amount;
    t.from.expected += amount;
    payee.refundsOut.push(r);
    t.from.refundsIn.push(r);
  }
}

/** A withdrawal (stepped-up session); the provider settles or fails it by webhook a little later. */
export async function withdraw(
  world: World,
  person: Person,
  amount: bigint,
): Promise<Withdrawal | undefined> {
  const key = randomUUID();
  const send = (signal: AbortSignal) =>
    person.client.call<{ withdrawalId?: string }>('POST', '/v1/withdrawals', {
      token: person.token,
      body: {
        walletId: person.walletId,
        amount: amount.toString(),
        currency: 'EUR',
        destination: 'DE89370400440532013000',
      },
      headers: { 'idempotency-key': key },
      signal,
    });
  let answer = await untilDefinite(world, 'withdrawal', person, key, send);
  if (
    answer?.status === 401 ||
    (answer?.status === 403 && problemType(answer.body) === `${PROBLEM}step-up-required`)
  ) {
    await signIn(world, person, true);
    answer = await untilDefinite(world, 'withdrawal', person, key, send);
  }
  if (answer?.status === 202 && answer.body.withdrawalId) {
    const w: Withdrawal = { withdrawalId: answer.body.withdrawalId, amount, state: 'pending' };
    person.withdrawals.push(w);
    return w;
  }
  return undefined;
}

/** The payout provider's answer to a withdrawal: paid out (the money leaves) or failed (the hold is released). */
export async function settleWithdrawal(
  world: World,
  person: Person,
  w: Withdrawal,
  paid: boolean,
): Promise<void> {
  const answer = await providerEvent(world, paid ? 'payout-succeeded' : 'payout-failed', person, {
    id: `evt_${randomUUID()}`,
    type: paid ? 'payout.succeeded' : 'payout.failed',
    data: paid
      ? { withdrawalId: w.withdrawalId }
      : { withdrawalId: w.withdrawalId, reason: 'account closed' },
  });
  if (answer && answer.status < 300) {
    w.state = paid ? 'settled' : 'failed';
    if (paid) person.expected -= w.amount;
  }
}
