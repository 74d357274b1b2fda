import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  decideAccess,
  lookupRoute,
  ROUTES,
  targetPath,
  type AccessSubject,
} from '../../src/http/route-table.ts';
import { API_MD_ROUTES, routesFromApiMarkdown } from '../fixtures/api-routes.ts';

const tableKeys = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));

const API_MD_CANDIDATES = [
  resolve(import.meta.dirname, '../../../../docs/API.md'),
  resolve(import.meta.dirname, '../../../../../shared/API.md'),
];

describe('route table', () => {
  it('holds every public route of API.md', () => {
    const missing = API_MD_ROUTES.filter((r) => !tableKeys.has(r));
    expect(missing).toEqual([]);
  });

  it('holds every route API.md itself lists (when the file is reachable)', () => {
    const file = API_MD_CANDIDATES.find((f) => existsSync(f));
    if (!file) return;
    const parsed = routesFromApiMarkdown(readFileSync(file, 'utf8'));
    expect(parsed.length).toBeGreaterThan(30);
    expect(parsed.filter((r) => !tableKeys.has(r))).toEqual([]);
  });

  it('has no duplicate method + path', () => {
    expect(tableKeys.size).toBe(ROUTES.length);
  });

  it('makes every admin route need a role, step-up and the audit log', () => {
    const admin = ROUTES.filter((r) => r.path.startsWith('/v1/admin/'));
    expect(admin.length).toBeGreaterThanOrEqual(9);
    for (const r of admin) {
      expect(r.access === 'support' || r.access === 'admin').toBe(true);
      expect(r.stepUp).toBe(true);
      expect(r.audit).toBe(true);
    }
  });

  it('routes phone verification to notification for any signed-in user, audited', () => {
    for (const path of [
      '/v1/me/notification-channels/phone/verification',
      '/v1/me/notification-channels/phone/verification/confirm',
    ]) {
      const found = lookupRoute('POST', path);
      if (found.kind !== 'matched') throw new Error(`${path} not routed`);
      expect(found.match.route).toMatchObject({
        target: { kind: 'service', appId: 'notification' },
        access: 'user',
        stepUp: false,
        audit: true,
        movesMoney: false,
      });
      expect(targetPath(found.match)).toBe(path.slice(3));
      expect(lookupRoute('GET', path).kind).toBe('method-not-allowed');
    }
  });

  it('demands an Idempotency-Key on the money-moving routes of API.md', () => {
    const money = ROUTES.filter((r) => r.movesMoney)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(money).toEqual(
      [
        'POST /v1/admin/adjustments',
        'POST /v1/transfers',
        'POST /v1/transfers/{transferId}/refunds',
        'POST /v1/withdrawals',
      ].sort(),
    );
  });

  it('routes to the service path without /v1 and with parameters', () => {
    const found = lookupRoute('POST', '/v1/transfers/tr_123/refunds');
    expect(found.kind).toBe('matched');
    if (found.kind !== 'matched') return;
    expect(found.match.route.target).toEqual({ kind: 'service', appId: 'wallet-ledger' });
    expect(targetPath(found.match)).toBe('/transfers/tr_123/refunds');
  });

  it('answers method-not-allowed with the allowed methods, and not-found otherwise', () => {
    expect(lookupRoute('PATCH', '/v1/wallets')).toEqual({
      kind: 'method-not-allowed',
      allowed: ['GET', 'POST'],
    });
    expect(lookupRoute('GET', '/v1/nope').kind).toBe('not-found');
    // Parameters are opaque ids only.
    expect(lookupRoute('GET', '/v1/wallets/a.b').kind).toBe('not-found');
  });
});

const principals: Record<string, AccessSubject> = {
  anonymous: { authenticated: false, roles: [], acr: 'aal1' },
  user: { authenticated: true, roles: ['user'], acr: 'aal1' },
  'user+stepup': { authenticated: true, roles: ['user'], acr: 'aal2' },
  support: { authenticated: true, roles: ['user', 'support'], acr: 'aal1' },
  'support+stepup': { authenticated: true, roles: ['user', 'support'], acr: 'aal2' },
  admin: { authenticated: true, roles: ['user', 'admin'], acr: 'aal1' },
  'admin+stepup': { authenticated: true, roles: ['user', 'admin'], acr: 'aal2' },
};

function expected(route: (typeof ROUTES)[number], who: string): number {
  const p = principals[who]!;
  if (route.access === 'anonymous') return 200;
  if (!p.authenticated) return 401;
  if (route.access === 'support' && !(p.roles.includes('support') || p.roles.includes('admin'))) return 403;
  if (route.access === 'admin' && !p.roles.includes('admin')) return 403;
  if (route.stepUp && p.acr !== 'aal2') return 403;
  return 200;
}

describe('decideAccess matrix', () => {
  for (const route of ROUTES) {
    it(`${route.method} ${route.path}`, () => {
      for (const who of Object.keys(principals)) {
        const decision = decideAccess(route, principals[who]!);
        expect({ who, status: decision.allowed ? 200 : decision.status }).toEqual({
          who,
          status: expected(route, who),
        });
      }
    });
  }

  it('spells out the key cells', () => {
    const find = (key: string) => ROUTES.find((r) => `${r.method} ${r.path}` === key)!;
    expect(decideAccess(find('PUT /v1/admin/users/{id}/roles'), principals['support+stepup']!)).toMatchObject(
      { allowed: false, reason: 'forbidden' },
    );
    expect(decideAccess(find('PUT /v1/admin/users/{id}/roles'), principals['admin']!)).toMatchObject({
      allowed: false,
      reason: 'step-up-required',
    });
    expect(decideAccess(find('POST /v1/withdrawals'), principals['user']!)).toMatchObject({
      allowed: false,
      reason: 'step-up-required',
    });
    expect(decideAccess(find('GET /v1/admin/risk/flags'), principals['user+stepup']!)).toMatchObject({
      allowed: false,
      reason: 'forbidden',
    });
    expect(decideAccess(find('GET /v1/wallets'), principals['anonymous']!)).toMatchObject({
      allowed: false,
      status: 401,
    });
  });
});
