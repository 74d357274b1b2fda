export { EmbeddedBus } from './bus.ts';
export type { EmbeddedBusOptions, EmbeddedRetryPolicy } from './bus.ts';
export { createEmbeddedPlatform, DEFAULT_EMBEDDED_RETRY } from './platform.ts';
export type { EmbeddedPlatformOptions } from './platform.ts';
