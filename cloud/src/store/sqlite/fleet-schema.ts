/** Schema of the fleet tables (a migration of migrations.ts; placeholder until filled in). */
export const FLEET_SCHEMA = `SELECT 1;`;
