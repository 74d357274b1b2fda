import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHttpsRedirectServer, pathAndQuery } from '../../src/http/redirect.ts';

async function withRedirect(work: (port: number) => Promise<void>): Promise<void> {
  const server = createHttpsRedirectServer('https://wallet.example:8443');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await work(port);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Sends a request line as written (a client library would normalise it) and returns the raw answer. */
function rawRequest(port: number, requestLine: string, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.end(`${requestLine}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

const location = (answer: string) => /^location: (.*)$/im.exec(answer)?.[1]?.trim();

describe('plain HTTP', () => {
  it('redirects every request to HTTPS with 308, keeping path and query', async () => {
    await withRedirect(async (port) => {
      const answer = await new Promise<{ status: number; location: string | undefined }>(
        (resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port, path: '/v1/transfers?x=1', method: 'POST' },
            (res) => {
              res.resume();
              resolve({ status: res.statusCode ?? 0, location: res.headers.location });
            },
          );
          req.on('error', reject);
          req.end('{}');
        },
      );
      expect(answer).toEqual({ status: 308, location: 'https://wallet.example:8443/v1/transfers?x=1' });
    });
  });

  it('never lets the request line choose the host (absolute form, //host)', async () => {
    await withRedirect(async (port) => {
      const absolute = await rawRequest(
        port,
        'GET http://evil.example/steal?next=1 HTTP/1.1',
        'evil.example',
      );
      expect(absolute).toMatch(/^HTTP\/1\.1 308 /);
      expect(location(absolute)).toBe('https://wallet.example:8443/steal?next=1');
      const schemeRelative = await rawRequest(port, 'GET //evil.example/x HTTP/1.1', 'wallet.example');
      expect(new URL(location(schemeRelative)!).host).toBe('wallet.example:8443');
    });
  });

  it('takes the path and query of every request-target form', () => {
    expect(pathAndQuery('/a/b?c=d')).toBe('/a/b?c=d');
    expect(pathAndQuery('https://evil.example:9/a?b')).toBe('/a?b');
    expect(pathAndQuery('//evil.example/a')).toBe('//evil.example/a');
    expect(pathAndQuery('*')).toBe('/');
    expect(pathAndQuery('evil.example:443')).toBe('/');
    expect(pathAndQuery('javascript:alert(1)')).toBe('/');
    expect(pathAndQuery(undefined)).toBe('/');
  });
});
