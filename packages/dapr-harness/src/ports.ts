/**
 * Free loopback TCP ports for a process that must be told its port before it starts (daprd, a service
 * under test), picked at random in the harness block of infra/ports.env (HARNESS_PORT_FIRST..LAST,
 * below Linux's ephemeral range) and checked by binding them. A port asked from the kernel (bind 0)
 * lies in the ephemeral range, where between its release and its new owner's bind it can be taken by a
 * client socket or by any process's bind(0): under load daprd then failed with "could not listen on
 * any endpoint". Nothing but our harnesses binds in the harness block, and the picks are random, so
 * two concurrent harnesses meet only by chance of the same pick inside that window. Fixed ports live in
 * infra/ports.env (see infra/ports.md).
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { localPort } from '@wallet/contracts/local-ports';

function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Ports this process handed out already: not handed out twice while its owners may still be starting. */
const handedOut = new Set<number>();

/**
 * `count` distinct free ports on 127.0.0.1 from the harness block. They are held open until all are
 * known, so one call never returns the same port twice, nor does this process across calls.
 */
export async function freePorts(count: number): Promise<number[]> {
  const first = localPort('HARNESS_PORT_FIRST');
  const last = localPort('HARNESS_PORT_LAST');
  const servers: Server[] = [];
  try {
    for (let tries = 0; servers.length < count; tries += 1) {
      if (tries > 50 * count + 100) throw new Error(`no free port in ${first}-${last} after ${tries} tries`);
      const port = first + Math.floor(Math.random() * (last - first + 1));
      if (handedOut.has(port)) continue;
      const server = await listenOn(port);
      if (server) servers.push(server);
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      handedOut.add(address.port);
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}
