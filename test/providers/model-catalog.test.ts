import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { GEMINI_MODEL_TABLE } from '../../src/providers/gemini/models.js';
import { ModelCatalog, type LiveModelEntry, type ModelLister } from '../../src/providers/models.js';

/** The live model list is cached per key: a listing started with an old key never answers for a new one. */
describe('ModelCatalog', () => {
  it('a listing in flight with the old key is not joined after the key changes', async () => {
    let key = 'old-key';
    const releases: Array<() => void> = [];
    const lister: ModelLister = {
      modelTable: GEMINI_MODEL_TABLE,
      listModels: () => {
        const usedKey = key;
        return new Promise<LiveModelEntry[]>((resolve) =>
          releases.push(() =>
            resolve(usedKey === 'old-key' ? [{ id: 'gemini-3-pro-image' }] : [{ id: 'gemini-3.1-flash-lite-image' }]),
          ),
        );
      },
    };
    const catalog = new ModelCatalog({
      clock: new ManualClock(new Date('2026-11-27T10:00:00Z')),
      keyFingerprint: async () => key,
    });
    const withOldKey = catalog.liveIds(lister);
    await new Promise((r) => setTimeout(r, 10));
    key = 'new-key';
    const withNewKey = catalog.liveIds(lister);
    await new Promise((r) => setTimeout(r, 10));
    expect(releases).toHaveLength(2);
    releases.forEach((release) => release());
    expect([...((await withOldKey) ?? [])]).toEqual(['gemini-3-pro-image']);
    expect([...((await withNewKey) ?? [])]).toEqual(['gemini-3.1-flash-lite-image']);
    // The same key joins the listing in flight, then uses the cache.
    const a = catalog.liveIds(lister);
    const b = catalog.liveIds(lister);
    expect([...((await a) ?? [])]).toEqual([...((await b) ?? [])]);
    expect(releases).toHaveLength(2);
  });
});
