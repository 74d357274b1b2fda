/** Roles -> permissions, in one place. Routes ask for a permission, never for a role name. */
import { hasRoleAtLeast, ROLES, type Role } from '@wallet/contracts';

export const PERMISSIONS = [
  'self:read',
  'self:manage',
  'users:read',
  'users:lock',
  'users:set-roles',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** What each role adds; a role also holds what every role below it holds (contracts' ROLES order). */
const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  user: ['self:read', 'self:manage'],
  support: ['users:read', 'users:lock'],
  admin: ['users:set-roles'],
};

export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  return new Set(ROLES.filter((r) => hasRoleAtLeast(roles, r)).flatMap((r) => ROLE_PERMISSIONS[r]));
}

export function hasPermission(roles: readonly Role[], permission: Permission): boolean {
  return permissionsOf(roles).has(permission);
}

/** Roles a user keeps whatever an admin sets: everyone is a user (the hierarchy lives in contracts). */
export { withBaseRole } from '@wallet/contracts';
