/** Ephemeral 127.0.0.1 listeners for HTTP-level tests (the Express router, a scripted fake sidecar). */
import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Listening {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function listen(listener: RequestListener): Promise<Listening> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Script = (req: RecordedRequest, res: ServerResponse) => void;

/** A fake daprd HTTP API: records every request and answers with the current script (204 by default). */
export async function fakeSidecar(
  initial: Script = (_req, res) => res.writeHead(204).end(),
): Promise<Listening & { requests: RecordedRequest[]; answerWith(script: Script): void }> {
  const requests: RecordedRequest[] = [];
  let script = initial;
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      // The SDK probes /v1.0/metadata before its first call; answer like a started sidecar.
      if (recorded.url === '/v1.0/metadata') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"fake"}');
        return;
      }
      requests.push(recorded);
      script(recorded, res);
    });
  });
  return {
    ...server,
    requests,
    answerWith(next: Script) {
      script = next;
    },
  };
}
