import { sql, type Kysely } from 'kysely';

/**
 * Accounts are managed from the admin API and UI under their own permission, accounts:write
 * (src/auth/permissions.ts). Every account that could change the settings had full power before
 * (the CLI is where accounts were managed), so it keeps managing accounts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE admin_account SET permissions = array_append(permissions, 'accounts:write')
     WHERE 'settings:write' = ANY(permissions) AND NOT 'accounts:write' = ANY(permissions)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`UPDATE admin_account SET permissions = array_remove(permissions, 'accounts:write')`.execute(db);
}
