/** The operations checks' SQL. */
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** The cheapest round trip: the database answers. */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`SELECT 1`.execute(db);
}
