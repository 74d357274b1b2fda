/**
 * What one internal token costs (not a test): CPU microseconds per ES256 sign and per verify with the
 * service kit's own signer and verifier, minted fresh every time (what every hop paid before the
 * caches) and reused (what a cache hit costs). CPU time of the whole process, thread pool included.
 *
 *   npx node bench/ledger/token-cost.ts     env: BENCH_TOKENS (2000)
 */
import { cpuUsage } from 'node:process';
import {
  createInternalTokenSigner,
  createInternalTokenVerifier,
  generateInternalSigningKey,
} from '@wallet/service-kit';

const N = Number(process.env['BENCH_TOKENS'] ?? 2000);
const key = await generateInternalSigningKey('api-gateway');
const jwks = { keys: [key.publicJwk] };
const signer = await createInternalTokenSigner('api-gateway', key.privateJwk);

async function cpuMicros(work: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 100; i += 1) await work(i); // warm-up
  const before = cpuUsage();
  for (let i = 0; i < N; i += 1) await work(i);
  const used = cpuUsage(before);
  return (used.user + used.system) / N;
}

// A subject that names its request is never cached: a fresh signature each time.
const signFresh = await cpuMicros((i) => signer.sign('wallet-ledger', { sub: 'u', requestId: `r${i}` }));
const signCached = await cpuMicros(() => signer.sign('wallet-ledger', { sub: 'u' }));
const tokens = await Promise.all(
  Array.from({ length: N + 100 }, (_, i) => signer.sign('wallet-ledger', { sub: 'u', requestId: `v${i}` })),
);
const fresh = createInternalTokenVerifier({
  audience: 'wallet-ledger',
  jwks,
  allowedIssuers: ['api-gateway'],
});
const verifyFresh = await cpuMicros((i) => fresh.verify(tokens[i]!));
const cached = createInternalTokenVerifier({
  audience: 'wallet-ledger',
  jwks,
  allowedIssuers: ['api-gateway'],
});
const one = tokens[0]!;
const verifyCached = await cpuMicros(() => cached.verify(one));
const result = {
  bench: 'internal-token-cost',
  tokens: N,
  cpuMicrosPerOp: {
    signFresh: Math.round(signFresh),
    signCached: Math.round(signCached),
    verifyFresh: Math.round(verifyFresh),
    verifyCached: Math.round(verifyCached),
  },
  node: process.version,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.stdout.write(
  `ES256 internal token, CPU µs per operation: sign ${result.cpuMicrosPerOp.signFresh} (reused: ${result.cpuMicrosPerOp.signCached}), verify ${result.cpuMicrosPerOp.verifyFresh} (cached: ${result.cpuMicrosPerOp.verifyCached})\n`,
);
