/**
 * api-gateway's HTTP surface. Unlike the other services it takes no internal token: it is the public
 * door, and it mints the internal tokens every service behind it verifies.
 */
import type { Express } from 'express';
import { mountGateway } from './gateway.ts';
import type { GatewayDeps } from './pipeline/types.ts';

export function mountRoutes(app: Express, deps: GatewayDeps): void {
  mountGateway(app, deps);
}
