import { sql, type Kysely } from 'kysely';

/**
 * What a successful job did differently from its slot's settings, in words for the operator
 * (GET /api/jobs/{id} `notices`): today, a guest QR code the slot asks for but that was left off
 * because no address guests can reach was known (src/ops/public-address.ts). Empty for most jobs;
 * adding the column with a constant default rewrites nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE job ADD COLUMN notices text[] NOT NULL DEFAULT '{}'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE job DROP COLUMN IF EXISTS notices`.execute(db);
}
