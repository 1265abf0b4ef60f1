/**
 * Who may change what, as the cloud checks it (cloud/test/http/role-matrix.ts is the table the cloud
 * is tested against): the dashboard offers a write only to a role the cloud would let make it.
 */
export const ROLES = ['admin', 'controller', 'technician', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * - guidance: messages, guidance rules and proposals (controller, admin)
 * - screens: screen metadata (controller, technician, admin)
 * - provision: sites, grid cells, placement, enrolment tokens, desired configuration (technician, admin)
 * - admin: users, others' API tokens, revocation, credential rotation, updates and rollouts
 */
export type Action = 'guidance' | 'screens' | 'provision' | 'admin';

const ALLOWED: Record<Action, readonly Role[]> = {
  guidance: ['admin', 'controller'],
  screens: ['admin', 'controller', 'technician'],
  provision: ['admin', 'technician'],
  admin: ['admin'],
};

export function roleMay(role: Role | undefined, action: Action): boolean {
  return role !== undefined && ALLOWED[action].includes(role);
}
