/**
 * identity's operator commands (`npm run identity -- <command>` at the repository root):
 *   create-admin --email <address> --password-stdin|--password-file <path>|--password <password>
 *                                                           the first administrator (no default password exists)
 *   rotate-signing-key [--now]                              publish the next access-token key, signing from
 *                                                           SIGNING_KEY_PREPUBLISH_SECONDS later (--now: at once,
 *                                                           for a compromised key); the old one stays in the JWKS until its tokens expire
 * Where: with DATABASE_URL set, that database and this process's environment (a pod, a Job); otherwise
 * the platform running on this machine, `npm start` or `npm run start:dapr`, found through the runtime
 * file it wrote (`.data/embedded/` or `.data/dapr/runtime.json`, or WALLET_DATA_DIR's), with the running
 * identity's settings (key ring, argon2 cost) so what the command writes the service can read.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import {
  ConfigError,
  HttpProblem,
  createDatabase,
  createLogger,
  findRunningPlatform,
  isDevelopmentSecret,
  loadConfig,
} from '@wallet/service-kit';
import { createAdmin } from './application/admin.ts';
import type { IdentityDeps } from './application/context.ts';
import { argon2Parameters, configSchema, identityProductionProblems } from './config.ts';
import type { IdentityDatabase } from './db/schema.ts';
import { emailSchema } from './domain/email.ts';
import { keyRingKids, parseKeyRing } from './security/keyring.ts';
import { createPasswordHasher } from './security/passwords.ts';
import { createSigningKeys } from './security/signing-keys.ts';
import { createBreachedPasswordList } from './security/breached-passwords.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../../..');

/** This process's environment when DATABASE_URL is set, else the running platform's identity settings. */
function identityEnvironment(): NodeJS.ProcessEnv {
  if (process.env['DATABASE_URL']) return process.env;
  const running = findRunningPlatform({ repoRoot: REPO_ROOT });
  const identity = running.services['identity'];
  if (!identity) throw new Error(`${running.file} names no identity database`);
  return { ...process.env, ...identity.settings, DATABASE_URL: identity.databaseUrl };
}

async function withDeps<T>(work: (deps: IdentityDeps) => Promise<T>): Promise<T> {
  const config = loadConfig(configSchema, identityEnvironment());
  const refusals = identityProductionProblems(config);
  if (config.APP_ENV === 'production' && keyRingKids(config.TOTP_ENCRYPTION_KEYS).some(isDevelopmentSecret)) {
    refusals.push('TOTP_ENCRYPTION_KEYS: a development key is not allowed in production');
  }
  if (refusals.length > 0) throw new ConfigError(refusals);
  const logger = createLogger('identity-cli', {
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
  });
  const database = createDatabase<IdentityDatabase>({
    url: config.DATABASE_URL,
    poolMax: 2,
    applicationName: 'identity-cli',
  });
  const ring = parseKeyRing(config.TOTP_ENCRYPTION_KEYS);
  try {
    return await work({
      db: database.db,
      config,
      ring,
      hasher: await createPasswordHasher(argon2Parameters(config)),
      keys: createSigningKeys({
        db: database.db,
        ring,
        accessTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        cacheSeconds: config.SIGNING_KEY_CACHE_SECONDS,
        prepublishSeconds: config.SIGNING_KEY_PREPUBLISH_SECONDS,
      }),
      breached: createBreachedPasswordList(config.BREACHED_PASSWORDS_DIR),
      logger,
    });
  } finally {
    await database.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

const program = new Command('identity')
  .description('identity service operator commands')
  .showHelpAfterError();

program
  .command('create-admin')
  .description('create the first administrator account (e-mail verified, roles user + admin)')
  .requiredOption('--email <address>', 'e-mail address of the administrator')
  .option('--password <password>', 'password (12-128 characters, not a common one); prefer --password-stdin')
  .option('--password-stdin', 'read the password from standard input (keeps it out of shell history and ps)')
  .option('--password-file <path>', 'read the password from a file (a mounted Kubernetes Secret)')
  .option('--display-name <name>', 'display name')
  .option(
    '--exists-ok',
    'exit 0, changing nothing, when the address is already registered (a repeated bootstrap Job)',
  )
  .action(
    async (options: {
      email: string;
      password?: string;
      passwordStdin?: boolean;
      passwordFile?: string;
      displayName?: string;
      existsOk?: boolean;
    }) => {
      const email = emailSchema.parse(options.email);
      const password = options.passwordStdin
        ? await readStdin()
        : options.passwordFile
          ? (await readFile(options.passwordFile, 'utf8')).replace(/\r?\n$/, '')
          : options.password;
      if (!password)
        throw new Error('give --password-stdin, --password-file <path> or --password <password>');
      let result: { created: boolean; userId?: string };
      try {
        result = await withDeps((deps) =>
          createAdmin(deps, { email, password, displayName: options.displayName ?? null }),
        );
      } catch (error) {
        if (!(options.existsOk && error instanceof HttpProblem && error.status === 409)) throw error;
        process.stdout.write(`${JSON.stringify({ created: false, email })}\n`);
        process.stdout.write('The address is already registered: nothing changed (--exists-ok).\n');
        return;
      }
      process.stdout.write(`${JSON.stringify({ created: result.created, userId: result.userId, email })}\n`);
      process.stdout.write(
        'Set up MFA for this account before using admin routes: every admin call needs a stepped-up session.\n',
      );
    },
  );

program
  .command('rotate-signing-key')
  .description(
    'publish the next access-token signing key, which signs from SIGNING_KEY_PREPUBLISH_SECONDS on; the old public key stays published until its tokens have expired',
  )
  .option('--now', 'replace the active key at once, without pre-publication (a compromised key)')
  .action(async (options: { now?: boolean }) => {
    const result = await withDeps((deps) => deps.keys.rotate({ immediately: options.now === true }));
    process.stdout.write(
      `${JSON.stringify({
        activeKid: result.activeKid,
        nextKid: result.nextKid,
        nextActivatesAt: result.nextActivatesAt?.toISOString() ?? null,
        retiredKid: result.retiredKid,
        retiredKeyPublishedUntil: result.retiredPublishedUntil?.toISOString() ?? null,
      })}\n`,
    );
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  let message: string;
  if (error instanceof HttpProblem)
    message = `${error.title}: ${error.detail ?? ''}${error.errors ? ` ${error.errors.map((e) => `${e.field} ${e.message}`).join('; ')}` : ''}`;
  else if (error instanceof z.ZodError) message = error.issues.map((i) => i.message).join('; ');
  else message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`identity: ${message}\n`);
  process.exitCode = 1;
}
