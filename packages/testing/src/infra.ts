/**
 * Suites that need real infrastructure read its address from the environment. In CI (CI=true) a
 * missing address is a failure, never a skip; on a laptop the suite skips and says what to start.
 */
const HOW_TO_START: Record<string, string> = {
  TEST_PG_ADMIN_URL: 'run `infra/local.sh up postgres` and `eval "$(infra/local.sh env)"`',
  TEST_PG_REPLICA_URL: 'run `infra/local.sh up postgres replica` and export TEST_PG_REPLICA_URL=$PG_REPLICA_URL',
  REDIS_URL: 'run `infra/local.sh up redis` and `eval "$(infra/local.sh env)"`',
  RABBITMQ_URL: 'run `infra/local.sh up rabbitmq` and `eval "$(infra/local.sh env)"`',
  KAFKA_BROKERS: 'run `infra/local.sh up kafka` and `eval "$(infra/local.sh env)"`',
  DAPRD_BIN: 'run `infra/local.sh up dapr` and `eval "$(infra/local.sh env)"`',
};

export const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/**
 * Returns the variable's value, or undefined when it is missing outside CI (the caller skips).
 * Throws in CI so that a suite can never pass by not running.
 */
export function infraEnv(name: string): string | undefined {
  const value = process.env[name];
  if (value && value.length > 0) return value;
  const hint = HOW_TO_START[name] ?? `set ${name}`;
  if (inCI) {
    throw new Error(`${name} is not set: this suite needs real infrastructure (${hint}). CI never skips it.`);
  }
  process.stderr.write(`[skip] ${name} is not set; to run this suite ${hint}\n`);
  return undefined;
}
