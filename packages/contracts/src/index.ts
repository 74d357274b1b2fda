export * from './money.ts';
export * from './problems.ts';
export * from './cloudevents.ts';
export * from './events.ts';
export * from './api.ts';
export * from './pagination.ts';
export * from './passkeys.ts';
