/** Starts risk as its own process (beside its Dapr sidecar). Migrations are a separate step: `npm run migrate`. */
import { runServiceMain } from '@wallet/service-kit';
import { service } from './service.ts';

await runServiceMain(service);
