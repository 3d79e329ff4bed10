import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../src/db/database.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

describe('database', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ statementTimeoutMs: 300 });
  });
  afterAll(() => t.destroy());

  it('creates exactly the 15 slots on the local provider', async () => {
    const slots = await t.db.selectFrom('slot').select(['id', 'provider', 'enabled']).orderBy('id').execute();
    expect(slots.map((s) => s.id)).toEqual(Array.from({ length: 15 }, (_, i) => `slot-${String(i + 1).padStart(3, '0')}`));
    expect(slots.every((s) => s.provider === 'local' && s.enabled)).toBe(true);
  });

  it('bounds every statement by the statement timeout and classifies it as unavailable', async () => {
    const err = await sql`SELECT pg_sleep(2)`.execute(t.db).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(err)).toBe(true);
  });
});
