/**
 * The embedded host's plain-HTTP listener: every request is sent to the gateway's public HTTPS origin
 * with 308 (method and body kept). `Location` is that configured origin plus the request's path and
 * query only: a request line in absolute form (`GET http://evil.example/x HTTP/1.1`) or a
 * `//host` path cannot choose the host the client is sent to.
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

export function createHttpsRedirectServer(publicBaseUrl: string): Server {
  const origin = new URL(publicBaseUrl).origin;
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
