/** Administrator permissions (docs/api.md, Admin API). */
export const PERMISSIONS = [
  'slots:read',
  'slots:write',
  'stats:read',
  'settings:read',
  'settings:write',
  'accounts:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Who made an authenticated request. */
export interface Principal {
  username: string;
  permissions: Permission[];
}
