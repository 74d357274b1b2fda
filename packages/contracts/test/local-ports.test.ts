import { describe, expect, it } from 'vitest';
import { APP_IDS } from '../src/api.ts';
import {
  EPHEMERAL_PORT_RANGE,
  daprModePorts,
  inEphemeralRange,
  localPort,
  localPorts,
  parsePortsFile,
} from '../src/local-ports.ts';

describe('infra/ports.env, the one port map', () => {
  it('gives every service and its sidecar four ports of their own in the dapr mode', () => {
    const seen = new Set<number>();
    for (const appId of APP_IDS) {
      const p = daprModePorts(appId);
      for (const port of [p.app, p.daprHttp, p.daprGrpc, p.daprInternalGrpc]) {
        expect(seen.has(port), `${appId}: port ${port} given twice`).toBe(false);
        seen.add(port);
      }
    }
    expect(seen.size).toBe(APP_IDS.length * 4);
  });

  it('never gives one port two names, and keeps every port below the ephemeral range', () => {
    const ports = Object.entries(localPorts());
    expect(ports.length).toBeGreaterThan(20);
    const byPort = new Map<number, string>();
    for (const [name, port] of ports) {
      expect(byPort.get(port), `${name} and ${byPort.get(port)} share ${port}`).toBeUndefined();
      byPort.set(port, name);
      expect(port).toBeLessThan(EPHEMERAL_PORT_RANGE.first);
    }
    expect(localPort('PG_PORT')).toBeGreaterThan(1024);
  });

  it('refuses a port in the ephemeral range, a malformed line, a name given twice and an unknown name', () => {
    expect(inEphemeralRange(32767)).toBe(false);
    expect(inEphemeralRange(32768)).toBe(true);
    expect(inEphemeralRange(60999)).toBe(true);
    expect(inEphemeralRange(61000)).toBe(false);
    // Built, not written: scripts/check-ports.ts refuses such a literal in the tree.
    const inRange = EPHEMERAL_PORT_RANGE.first + 17_333;
    expect(() => parsePortsFile(`# ok\nPG_PORT=15432\n\nREDIS_PORT=${inRange}\n`)).toThrow(
      new RegExp(`ports\\.env:4: REDIS_PORT=${inRange} lies in the ephemeral range`),
    );
    expect(() => parsePortsFile('PG_PORT = 15432')).toThrow(/not NAME=number/);
    expect(() => parsePortsFile('PG_PORT=15432\nPG_PORT=15433')).toThrow(/defined twice/);
    expect(() => parsePortsFile('PG_PORT=70000')).toThrow(/not a TCP port/);
    expect(parsePortsFile('  A_PORT=1  \n# c\n')).toEqual({ A_PORT: 1 });
    expect(() => localPort('NO_SUCH_PORT')).toThrow(/defines no NO_SUCH_PORT/);
  });
});
