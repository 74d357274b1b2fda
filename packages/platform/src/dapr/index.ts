export { createDaprPlatform } from './platform.ts';
export type { DaprPlatform, DaprPlatformOptions, DaprSubscription } from './platform.ts';
export { daprSubscriptionRouter, eventRouteFor, requireAppApiToken, EVENT_ROUTE_PREFIX } from './router.ts';
export type { DaprSubscriptionRouterOptions } from './router.ts';
export { daprEnvironment } from './env.ts';
export type { DaprEnvironment } from './env.ts';
