/** Release step: applies risk's pending migrations and exits. Never part of web start-up. */
import { runMigrateMain } from '@wallet/service-kit';
import { service } from './service.ts';

await runMigrateMain(service);
