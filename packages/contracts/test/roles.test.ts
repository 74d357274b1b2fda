import { describe, expect, it } from 'vitest';
import { hasRoleAtLeast, withBaseRole } from '../src/index.ts';

describe('role hierarchy', () => {
  it('lets a higher role pass a lower floor, never the reverse', () => {
    expect(hasRoleAtLeast(['admin'], 'support')).toBe(true);
    expect(hasRoleAtLeast(['support'], 'support')).toBe(true);
    expect(hasRoleAtLeast(['user', 'support'], 'admin')).toBe(false);
    expect(hasRoleAtLeast(['user'], 'support')).toBe(false);
    expect(hasRoleAtLeast([], 'user')).toBe(false);
  });

  it('always keeps the base role, in hierarchy order', () => {
    expect(withBaseRole(['admin', 'support'])).toEqual(['user', 'support', 'admin']);
    expect(withBaseRole([])).toEqual(['user']);
  });
});
