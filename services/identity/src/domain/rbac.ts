/** Roles -> permissions, in one place. Routes ask for a permission, never for a role name. */
import type { Role } from '@wallet/contracts';

export const PERMISSIONS = [
  'self:read',
  'self:manage',
  'users:read',
  'users:lock',
  'users:set-roles',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  user: ['self:read', 'self:manage'],
  support: ['self:read', 'self:manage', 'users:read', 'users:lock'],
  admin: ['self:read', 'self:manage', 'users:read', 'users:lock', 'users:set-roles'],
};

export function permissionsOf(roles: readonly Role[]): Set<Permission> {
  return new Set(roles.flatMap((r) => ROLE_PERMISSIONS[r]));
}

export function hasPermission(roles: readonly Role[], permission: Permission): boolean {
  return permissionsOf(roles).has(permission);
}

/** Roles a user keeps whatever an admin sets: everyone is a user. */
export function withBaseRole(roles: readonly Role[]): Role[] {
  const set = new Set<Role>(['user', ...roles]);
  return (['user', 'support', 'admin'] as const).filter((r) => set.has(r));
}
