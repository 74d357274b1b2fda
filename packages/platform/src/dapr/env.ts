/**
 * The Dapr transport's settings as daprd hands them to the app (self-hosted and Kubernetes alike):
 * DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_API_TOKEN (app -> sidecar), APP_API_TOKEN (sidecar -> app).
 */
import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65_535);
const blankAsUnset = (value: unknown): unknown => (value === '' ? undefined : value);

const daprEnvSchema = z.object({
  DAPR_HTTP_PORT: z.preprocess(blankAsUnset, port.default(3500)),
  DAPR_GRPC_PORT: z.preprocess(blankAsUnset, port.optional()),
  DAPR_API_TOKEN: z.preprocess(blankAsUnset, z.string().min(1).optional()),
  APP_API_TOKEN: z.preprocess(blankAsUnset, z.string().min(1).optional()),
});

export interface DaprEnvironment {
  daprHttpPort: number;
  daprGrpcPort: number | undefined;
  /** Sent as `dapr-api-token` on every call to the sidecar. */
  daprApiToken: string | undefined;
  /** Expected in `dapr-api-token` on every call from the sidecar (check with the router / requireAppApiToken). */
  appApiToken: string | undefined;
}

/** Parses the Dapr variables; throws a readable error when one is malformed (e.g. a port that is not a number). */
export function daprEnvironment(env: Record<string, string | undefined> = process.env): DaprEnvironment {
  const parsed = daprEnvSchema.safeParse(env);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid Dapr environment: ${details}`);
  }
  return {
    daprHttpPort: parsed.data.DAPR_HTTP_PORT,
    daprGrpcPort: parsed.data.DAPR_GRPC_PORT,
    daprApiToken: parsed.data.DAPR_API_TOKEN,
    appApiToken: parsed.data.APP_API_TOKEN,
  };
}
