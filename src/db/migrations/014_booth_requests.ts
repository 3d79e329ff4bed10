import { sql, type Kysely } from 'kysely';

/**
 * The booth check (Jobs → Booths → a booth; GET /api/booths/{key}/requests): each booth's last
 * requests as they reached the server — time, slot, the parts in order (name, size, declared
 * type), the headers that matter, the query keys, the outcome and the timings. Never a password
 * or an image. A booth is its `name` field, else its address. Bounded by its writer
 * (src/stats/booth-requests.ts): the newest 20 per booth, the newest 200 booths.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE booth_request (
      id             bigserial PRIMARY KEY,
      booth_key      text NOT NULL,
      occurred_at    timestamptz NOT NULL,
      slot_id        text NOT NULL,
      client_address text NOT NULL,
      request        jsonb NOT NULL,
      status         integer NOT NULL,
      code           text NULL,
      job_id         uuid NULL,
      timings        jsonb NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX booth_request_key_idx ON booth_request (booth_key, id DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS booth_request`.execute(db);
}
