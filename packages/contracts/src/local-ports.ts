/**
 * The project's fixed local ports, read from `infra/ports.env` (the one source; infra/local.sh
 * sources the same file, infra/ports.md explains the map). Development and test tooling only: the
 * embedded host (`npm start`), `npm run start:dapr`, Tilt's local mode and the test harnesses.
 * Services never import it (in a cluster their ports come from the chart).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AppId } from './api.ts';

/** Linux's default ephemeral range (net.ipv4.ip_local_port_range): no fixed listener may sit in it. */
export const EPHEMERAL_PORT_RANGE = { first: 32768, last: 60999 } as const;

export function inEphemeralRange(port: number): boolean {
  return port >= EPHEMERAL_PORT_RANGE.first && port <= EPHEMERAL_PORT_RANGE.last;
}

/** `infra/ports.env` of this repository. */
export const PORTS_FILE = resolve(import.meta.dirname, '../../../infra/ports.env');

/**
 * Parses `NAME=number` lines (comments and blank lines allowed). Refuses anything else, a name given
 * twice, a port outside 1-65535 and a port in the ephemeral range.
 */
export function parsePortsFile(text: string, source = 'ports.env'): Readonly<Record<string, number>> {
  const ports: Record<string, number> = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source}:${index + 1}`;
    const match = /^([A-Z][A-Z0-9_]*)=([0-9]+)$/.exec(line);
    if (!match) throw new Error(`${where}: not NAME=number: ${line}`);
    const [, name, value] = match as unknown as [string, string, string];
    const port = Number(value);
    if (name in ports) throw new Error(`${where}: ${name} is defined twice`);
    if (port < 1 || port > 65535) throw new Error(`${where}: ${name}=${port} is not a TCP port`);
    if (inEphemeralRange(port)) {
      throw new Error(
        `${where}: ${name}=${port} lies in the ephemeral range ${EPHEMERAL_PORT_RANGE.first}-${EPHEMERAL_PORT_RANGE.last}`,
      );
    }
    ports[name] = port;
  });
  return ports;
}

const loaded = new Map<string, Readonly<Record<string, number>>>();

/** Every port of `infra/ports.env` (read once per file). */
export function localPorts(file = PORTS_FILE): Readonly<Record<string, number>> {
  let ports = loaded.get(file);
  if (!ports) {
    ports = parsePortsFile(readFileSync(file, 'utf8'), file);
    loaded.set(file, ports);
  }
  return ports;
}

/** One port of `infra/ports.env` by name; throws when the file does not define it. */
export function localPort(name: string, file = PORTS_FILE): number {
  const port = localPorts(file)[name];
  if (port === undefined) throw new Error(`${file} defines no ${name}`);
  return port;
}

/** A service and its sidecar in the dapr (local) mode: `npm run start:dapr` and Tilt's local mode. */
export interface DaprModePorts {
  /** The service's HTTP(S) port. */
  app: number;
  /** The sidecar's HTTP API. */
  daprHttp: number;
  /** The sidecar's gRPC API (our apps speak HTTP to it; daprd still listens). */
  daprGrpc: number;
  /** Sidecar-to-sidecar invocation, advertised through mDNS. */
  daprInternalGrpc: number;
}

/** `api-gateway` -> `API_GATEWAY`, the prefix of its names in `infra/ports.env`. */
export const portNamePrefix = (appId: AppId): string => appId.toUpperCase().replaceAll('-', '_');

export function daprModePorts(appId: AppId, file = PORTS_FILE): DaprModePorts {
  const prefix = portNamePrefix(appId);
  return {
    app: localPort(`${prefix}_PORT`, file),
    daprHttp: localPort(`${prefix}_DAPR_HTTP_PORT`, file),
    daprGrpc: localPort(`${prefix}_DAPR_GRPC_PORT`, file),
    daprInternalGrpc: localPort(`${prefix}_DAPR_INTERNAL_GRPC_PORT`, file),
  };
}
