/** Support and admin operations on users, and the first-admin bootstrap used by the CLI. */
import { sql } from 'kysely';
import { problems } from '@wallet/service-kit';
import { decodeCursor, keysetPage, type Role } from '@wallet/contracts';
import { hasPermission, withBaseRole, type Permission } from '../domain/rbac.ts';
import { emit, revokeSessions, type IdentityDeps, type RequestMeta } from './context.ts';
import { loadLiveSession } from './account.ts';
import { forgetAccountFailures } from './sign-in-throttle.ts';
import { assertPasswordAcceptable } from './auth.ts';

/** Serialises role changes so two admins cannot demote each other into having no admin at all. */
const ROLE_CHANGE_LOCK = 0x1d_7201;

/**
 * Admin calls need a live session stepped up within its window (checked here, not only from the
 * token's acr) and a permission granted by the roles in the database now, not those in a token that
 * may be ten minutes old.
 */
export async function authoriseAdmin(
  deps: IdentityDeps,
  caller: { userId: string; sessionId: string; acr: string },
  permission: Permission,
): Promise<void> {
  const session = await loadLiveSession(deps, caller.userId, caller.sessionId);
  if (!hasPermission(session.roles, permission)) throw problems.forbidden();
  const steppedUp =
    caller.acr === 'aal2' && session.step_up_until !== null && session.step_up_until.getTime() > Date.now();
  if (!steppedUp) throw problems.stepUpRequired();
}

export interface AdminUserView {
  userId: string;
  email: string;
  displayName: string | null;
  emailVerified: boolean;
  roles: Role[];
  mfaEnabled: boolean;
  status: 'active' | 'locked';
  lockedReason: string | null;
  createdAt: string;
}

export async function findUsers(
  deps: IdentityDeps,
  filter: { email?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<{ items: AdminUserView[]; nextCursor: string | null }> {
  let query = deps.db
    .selectFrom('users')
    .select([
      'id',
      'email',
      'display_name',
      'email_verified_at',
      'roles',
      'mfa_enabled',
      'status',
      'locked_reason',
      'created_at',
    ]);
  if (filter.email) {
    const escaped = filter.email.replace(/[\\%_]/g, (c) => `\\${c}`);
    query = query.where('email', 'like', `${escaped}%`);
  }
  if (filter.cursor) {
    const [after] = decodeCursor(filter.cursor, 1);
    query = query.where('email', '>', after);
  }
  const rows = await query
    .orderBy('email')
    .limit(filter.limit + 1)
    .execute();
  return keysetPage(
    rows,
    filter.limit,
    (u) => [u.email],
    (u): AdminUserView => ({
      userId: u.id,
      email: u.email,
      displayName: u.display_name,
      emailVerified: u.email_verified_at !== null,
      roles: u.roles,
      mfaEnabled: u.mfa_enabled,
      status: u.status,
      lockedReason: u.locked_reason,
      createdAt: u.created_at.toISOString(),
    }),
  );
}

export async function lockUser(
  deps: IdentityDeps,
  actorId: string,
  targetId: string,
  reason: string | null,
  meta: RequestMeta,
): Promise<void> {
  if (actorId === targetId) throw problems.conflict('You cannot lock your own account.');
  const found = await deps.db.transaction().execute(async (trx) => {
    const user = await trx
      .selectFrom('users')
      .select(['id', 'email', 'status'])
      .where('id', '=', targetId)
      .forUpdate()
      .executeTakeFirst();
    if (!user) return false;
    if (user.status === 'locked') return true;
    await trx
      .updateTable('users')
      .set({
        status: 'locked',
        locked_reason: reason ?? 'locked by an administrator',
        updated_at: sql<Date>`now()`,
      })
      .where('id', '=', targetId)
      .execute();
    await revokeSessions(trx, targetId, { allExcept: null }, 'account-locked', meta);
    await emit(
      trx,
      'userLocked',
      { userId: targetId, email: user.email, reason: 'admin', lockedUntil: null },
      targetId,
      meta,
    );
    deps.logger.warn({ userId: targetId, by: actorId }, 'account locked by an administrator');
    return true;
  });
  if (!found) throw problems.notFound('No such user.');
}

export async function unlockUser(deps: IdentityDeps, actorId: string, targetId: string): Promise<void> {
  const user = await deps.db
    .updateTable('users')
    .set({ status: 'active', locked_reason: null, updated_at: sql<Date>`now()` })
    .where('id', '=', targetId)
    .returning('email')
    .executeTakeFirst();
  if (!user) throw problems.notFound('No such user.');
  // Also lifts the account's ceiling of failed sign-ins.
  await forgetAccountFailures(deps, user.email);
  deps.logger.info({ userId: targetId, by: actorId }, 'account unlocked by an administrator');
}

export async function setRoles(
  deps: IdentityDeps,
  actorId: string,
  targetId: string,
  requested: Role[],
): Promise<{ userId: string; roles: Role[] }> {
  const roles = withBaseRole(requested);
  const outcome = await deps.db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${ROLE_CHANGE_LOCK})`.execute(trx);
    const user = await trx
      .selectFrom('users')
      .select(['id', 'roles'])
      .where('id', '=', targetId)
      .executeTakeFirst();
    if (!user) return 'not-found' as const;
    if (user.roles.includes('admin') && !roles.includes('admin')) {
      const admins = await trx
        .selectFrom('users')
        .select(sql<number>`count(*)::int`.as('n'))
        .where(sql<boolean>`'admin' = any(roles)`)
        .where('status', '=', 'active')
        .where('id', '!=', targetId)
        .executeTakeFirstOrThrow();
      if (admins.n === 0) return 'last-admin' as const;
    }
    await trx
      .updateTable('users')
      .set({ roles, updated_at: sql<Date>`now()` })
      .where('id', '=', targetId)
      .execute();
    // Authorisation is decided at use: a role change ends every session (and with it every refresh
    // family) the user has, in this transaction; the gateway refuses their tokens when the
    // session.revoked event arrives, and checks privileged calls against these roles before that.
    const changed = user.roles.length !== roles.length || user.roles.some((r) => !roles.includes(r));
    if (changed) await revokeSessions(trx, targetId, { allExcept: null }, 'roles-changed');
    return 'ok' as const;
  });
  if (outcome === 'not-found') throw problems.notFound('No such user.');
  if (outcome === 'last-admin') throw problems.conflict('This would leave no active administrator.');
  deps.logger.info({ userId: targetId, by: actorId, roles }, 'roles changed');
  return { userId: targetId, roles };
}

/** `npm run identity -- create-admin`: a verified account with the admin role, never a default password. */
export async function createAdmin(
  deps: IdentityDeps,
  input: { email: string; password: string; displayName: string | null },
): Promise<{ userId: string; created: boolean }> {
  await assertPasswordAcceptable(deps, input.password, [input.email]);
  const passwordHash = await deps.hasher.hash(input.password);
  const row = await deps.db
    .insertInto('users')
    .values({
      email: input.email,
      display_name: input.displayName,
      password_hash: passwordHash,
      email_verified_at: new Date(),
      roles: ['user', 'admin'],
    })
    .onConflict((oc) => oc.column('email').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (row) return { userId: row.id, created: true };
  throw problems.conflict(
    'An account with this e-mail address already exists; promote it with PUT /v1/admin/users/{id}/roles.',
  );
}
