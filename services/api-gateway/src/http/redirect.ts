/** The plain-HTTP listener's only job: send every request to HTTPS (308 keeps the method and body). */
import { createServer, type Server } from 'node:http';

export function createHttpsRedirectServer(publicHttpsOrigin: string): Server {
  const target = new URL(publicHttpsOrigin);
  return createServer((req, res) => {
    const path = (req.url ?? '/').startsWith('/') ? (req.url ?? '/') : '/';
    res
      .writeHead(308, { Location: `${target.origin}${path}`, 'Content-Length': '0', Connection: 'close' })
      .end();
  });
}
