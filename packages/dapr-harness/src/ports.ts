/**
 * Free loopback TCP ports, asked from the kernel (bind to port 0), for a process that must be told its
 * port before it starts (daprd, a service). Never a number of our own in the ephemeral range: the
 * kernel hands bind(0) odd ports and connect() even ones first (Linux >= 4.6), so a port released here
 * is unlikely to be taken by a client socket before its new owner binds it. Fixed ports live in
 * infra/ports.env (see infra/ports.md).
 */
import { createServer } from 'node:net';
import type { Server } from 'node:net';

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/**
 * `count` distinct free ports on 127.0.0.1. They are held open until all are known, so one call never
 * returns the same port twice; another process may still take one before the caller binds it.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i += 1) servers.push(await listenOnAnyPort());
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
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
