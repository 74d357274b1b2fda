export * from './client.ts';
export * from './harness.ts';
export * from './keys.ts';
