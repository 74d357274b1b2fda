import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createHttpsRedirectServer } from '../../src/http/redirect.ts';

describe('plain HTTP', () => {
  it('redirects every request to HTTPS with 308, keeping path and query', async () => {
    const server = createHttpsRedirectServer('https://wallet.example:8443');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
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
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
