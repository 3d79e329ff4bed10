import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/database.js';
import { JobFeed } from '../../src/jobs/feed.js';
import type { JobDetailRow } from '../../src/jobs/statements.js';
import { createLogger } from '../../src/logger.js';

describe('job feed', () => {
  it('reads a changed job once per event, whatever the number of open streams', async () => {
    const handlers = new Map<string, (payload: string) => void>();
    const hub = {
      subscribe: (channel: string, h: (p: string) => void) => (
        handlers.set(channel, h),
        () => handlers.delete(channel)
      ),
    };
    let loads = 0;
    const feed = new JobFeed({
      db: {} as Db,
      hub,
      log: createLogger('silent'),
      load: async (_db, id) => (loads++, { id } as unknown as JobDetailRow),
    });
    const received: number[] = Array(2000).fill(0);
    const removers = received.map((_, i) => feed.add(`user-${i % 400}`, () => void received[i]!++));
    const id = '0f0e0d0c-0b0a-4908-8706-050403020100';
    for (const h of handlers.values()) h(id);
    await new Promise((r) => setTimeout(r, 10));
    expect(loads).toBe(2); // enqueued and finalized channels: one read each
    expect(received.every((n) => n === 2)).toBe(true);
    for (const remove of removers) remove();
    expect(handlers.size).toBe(0); // the last stream gone, the subscription goes too
  });
});
