import { describe, expect, it } from 'vitest';
import { ProviderSlots } from '../../src/queue/provider-slots.js';

describe('ProviderSlots: the one owner of how many jobs each provider runs', () => {
  it('counts per provider against its limit; busy is their total; giving back tells whether it was full', () => {
    const slots = new ProviderSlots((provider) => (provider === 'gemini' ? 2 : 1));
    expect(slots.busy).toBe(0);
    slots.take('gemini');
    expect(slots.isFull('gemini')).toBe(false);
    slots.take('gemini');
    slots.take('openai');
    expect(slots.isFull('gemini')).toBe(true);
    expect(slots.isFull('openai')).toBe(true);
    expect(slots.isFull('local')).toBe(false);
    expect(slots.busy).toBe(3);
    expect(slots.give('gemini')).toBe(true);
    expect(slots.give('gemini')).toBe(false);
    expect(slots.isFull('gemini')).toBe(false);
    expect(slots.busy).toBe(1);
  });
});
