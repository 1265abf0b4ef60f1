/** Schema of the users tables (a migration of migrations.ts; placeholder until filled in). */
export const USERS_SCHEMA = `SELECT 1;`;
