export * from './infra.ts';
export * from './postgres.ts';
export * from './wait.ts';
export * from './shed.ts';
