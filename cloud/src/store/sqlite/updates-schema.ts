/** Schema of the updates tables (a migration of migrations.ts; placeholder until filled in). */
export const UPDATES_SCHEMA = `SELECT 1;`;
