/**
 * The plain-HTTP listener's only job: send every request to HTTPS (308 keeps the method and body).
 * `Location` is the configured public origin plus the request's path and query only: a request line in
 * absolute form (`GET http://evil.example/x HTTP/1.1`) or a `//host` path cannot choose the host.
 */
import { createServer, type Server } from 'node:http';

/** The path and query of a request target in any of HTTP's forms (origin, absolute, authority, asterisk). */
export function pathAndQuery(target: string | undefined): string {
  const raw = target ?? '/';
  let parsed: URL;
  try {
    // A fixed base: an origin-form target (even `//evil.example/x`) stays a path under it.
    parsed = raw.startsWith('/') ? new URL(`http://path.invalid${raw}`) : new URL(raw);
  } catch {
    return '/'; // authority form (`host:port`), asterisk form (`*`), or garbage
  }
  if (!/^https?:$/.test(parsed.protocol)) return '/';
  return `${parsed.pathname}${parsed.search}`;
}

export function createHttpsRedirectServer(publicHttpsOrigin: string): Server {
  const origin = new URL(publicHttpsOrigin).origin;
  return createServer((req, res) => {
    res
      .writeHead(308, {
        Location: `${origin}${pathAndQuery(req.url)}`,
        'Content-Length': '0',
        Connection: 'close',
      })
      .end();
  });
}
