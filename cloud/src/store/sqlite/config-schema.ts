/** Schema of the config tables (a migration of migrations.ts; placeholder until filled in). */
export const CONFIG_SCHEMA = `SELECT 1;`;
