import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { BehaviourStoreUnavailableError } from '../../src/store/errors.js';
import { EXACT_RECIPIENTS, MemoryBehaviourStore } from '../../src/store/memory.js';

/** 2024-01-01T00:00:00Z, aligned to every bucket size. */
const T = Date.UTC(2024, 0, 1);
const SECOND = 1000;

function recipients(count: number, start = 0): string[] {
  return Array.from({ length: count }, (_, index) => `user${start + index}@example.net`);
}

describe('MemoryBehaviourStore', () => {
  it('keeps at most maxKeys keys', async () => {
    const store = new MemoryBehaviourStore({ maxKeys: 100 });
    for (let index = 0; index < 1000; index += 1) {
      await store.observe([`sender:s${index}@example.com`], { now: T, recipients: [] });
      expect(store.size).toBeLessThanOrEqual(100);
    }
    expect(store.size).toBe(100);
  });

  it('evicts the least recently used key', async () => {
    const store = new MemoryBehaviourStore({ maxKeys: 3 });
    const event = { now: T, recipients: [] };
    await store.observe(['a', 'b', 'c'], event);
    await store.observe(['a'], event);
    await store.observe(['d'], event);
    const { stats } = await store.observe(['a', 'b'], event);
    expect(stats.a?.count1m).toBe(2);
    expect(stats.b?.count1m).toBe(0);
  });

  it('reuses slots after eviction', async () => {
    const store = new MemoryBehaviourStore({ maxKeys: 2 });
    await store.observe(['a'], { now: T, recipients: ['x@example.net'], verdict: 'spam' });
    await store.observe(['b'], { now: T, recipients: [] });
    await store.observe(['c'], { now: T, recipients: [] });
    const { stats } = await store.observe(['c'], { now: T, recipients: [] });
    expect(stats.c).toMatchObject({ count1m: 1, distinctRecipients: 0, spamVerdicts: 0 });
  });

  it('expires keys after ttlMs', async () => {
    const store = new MemoryBehaviourStore({ ttlMs: 60 * SECOND });
    await store.observe(['k'], { now: T, recipients: ['x@example.net'], verdict: 'spam' });
    const kept = await store.observe(['k'], { now: T + 30 * SECOND, recipients: [] });
    expect(kept.stats.k?.count1h).toBe(1);
    const expired = await store.observe(['k'], { now: T + 30 * SECOND + 62 * SECOND, recipients: [] });
    expect(expired.stats.k).toEqual({
      count1m: 0,
      count1h: 0,
      count24h: 0,
      firstSeenAgeSeconds: null,
      distinctRecipients: 0,
      hamVerdicts: 0,
      spamVerdicts: 0,
      spamReports: 0,
      hamReports: 0,
    });
  });

  it('refreshes ttl on reports', async () => {
    const store = new MemoryBehaviourStore({ ttlMs: 60 * SECOND });
    await store.observe(['k'], { now: T, recipients: [] });
    await store.recordReport(['k'], 'spam', T + 50 * SECOND);
    const { stats } = await store.observe(['k'], { now: T + 100 * SECOND, recipients: [] });
    expect(stats.k?.firstSeenAgeSeconds).toBe(100);
    expect(stats.k?.spamReports).toBe(1);
  });

  it('applies pending writes in order', async () => {
    // With a 60 s TTL, a write 120 s after the key's last write finds it expired and starts it again.
    const late = T + 120 * SECOND;
    const forward = new MemoryBehaviourStore({ ttlMs: 60 * SECOND });
    await forward.observe([], {
      now: late,
      recipients: [],
      pending: [
        { keys: ['k'], verdict: 'spam', now: T },
        { keys: ['k'], verdict: 'ham', now: late },
      ],
    });
    const afterForward = await forward.observe(['k'], { now: late, recipients: [] });
    expect(afterForward.stats.k).toMatchObject({ spamVerdicts: 0, hamVerdicts: 1 });

    const backward = new MemoryBehaviourStore({ ttlMs: 60 * SECOND });
    await backward.observe([], {
      now: late,
      recipients: [],
      pending: [
        { keys: ['k'], verdict: 'ham', now: late },
        { keys: ['k'], verdict: 'spam', now: T },
      ],
    });
    const afterBackward = await backward.observe(['k'], { now: late, recipients: [] });
    expect(afterBackward.stats.k).toMatchObject({ spamVerdicts: 1, hamVerdicts: 1 });
  });

  it('refreshes ttl on pending writes', async () => {
    let now = T;
    const store = new MemoryBehaviourStore({ ttlMs: 60 * SECOND, clock: () => now });
    await store.observe(['k'], { recipients: [] });
    now = T + 50 * SECOND;
    // No `now` in the pending write: it takes the store clock.
    await store.observe([], { recipients: [], pending: [{ keys: ['k'], report: 'spam' }] });
    now = T + 100 * SECOND;
    const { stats } = await store.observe(['k'], { recipients: [] });
    expect(stats.k?.firstSeenAgeSeconds).toBe(100);
    expect(stats.k?.spamReports).toBe(1);
  });

  it('uses the clock option', async () => {
    let now = T;
    const store = new MemoryBehaviourStore({ clock: () => now });
    await store.observe(['k'], { recipients: [] });
    now += 42 * SECOND;
    const { stats } = await store.observe(['k'], { recipients: [] });
    expect(stats.k?.firstSeenAgeSeconds).toBe(42);
  });

  it('counts recipients exactly up to 8', async () => {
    const store = new MemoryBehaviourStore();
    await store.observe(['k'], { now: T, recipients: recipients(5) });
    await store.observe(['k'], { now: T, recipients: recipients(5, 3) });
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k?.distinctRecipients).toBe(8);
  });

  it('counts recipients one at a time', async () => {
    const store = new MemoryBehaviourStore();
    for (let seen = 0; seen < 60; seen += 1) {
      const event = { now: T, recipients: [`user${seen}@example.net`, `USER${seen}@example.net`, 'user0@example.net'] };
      const counted = (await store.observe(['k'], event)).stats.k?.distinctRecipients ?? -1;
      if (seen <= EXACT_RECIPIENTS) {
        expect(counted).toBe(seen);
      } else {
        expect(counted).toBeGreaterThan(EXACT_RECIPIENTS);
        expect(Math.abs(counted - seen)).toBeLessThanOrEqual(Math.max(3, seen * 0.2));
      }
    }
  });

  it('frees sketches of evicted keys', async () => {
    const store = new MemoryBehaviourStore({ maxKeys: 2 });
    for (let index = 0; index < 50; index += 1) {
      const { stats } = await store.observe([`k${index}`], { now: T, recipients: recipients(20, index * 20) });
      expect(stats[`k${index}`]?.distinctRecipients).toBe(0);
    }
    const { stats } = await store.observe(['k49'], { now: T, recipients: [] });
    expect(stats.k49?.distinctRecipients).toBeGreaterThan(15);
    expect(stats.k49?.distinctRecipients).toBeLessThan(25);
  });

  it('estimates large recipient counts', async () => {
    const store = new MemoryBehaviourStore();
    for (let batch = 0; batch < 20; batch += 1) {
      await store.observe(['k'], { now: T, recipients: recipients(100, batch * 100) });
    }
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    const estimate = stats.k?.distinctRecipients ?? 0;
    expect(estimate).toBeGreaterThan(2000 * 0.8);
    expect(estimate).toBeLessThan(2000 * 1.2);
  });

  it('rejects calls after close', async () => {
    const store = new MemoryBehaviourStore();
    await store.close();
    await expect(store.observe(['k'], { recipients: [] })).rejects.toBeInstanceOf(BehaviourStoreUnavailableError);
    await expect(store.recordVerdict(['k'], 'ham')).rejects.toBeInstanceOf(BehaviourStoreUnavailableError);
  });

  it.each([
    ['maxKeys', { maxKeys: 0 }],
    ['ttlMs', { ttlMs: -1 }],
    ['maxKeyLength', { maxKeyLength: 1.5 }],
    ['maxRecipientsPerEvent', { maxRecipientsPerEvent: -1 }],
    ['maxPendingWritesPerCall', { maxPendingWritesPerCall: -1 }],
  ])('rejects invalid %s', (name, options) => {
    expect(() => new MemoryBehaviourStore(options)).toThrow(OptionsError);
    expect(() => new MemoryBehaviourStore(options)).toThrow(name);
  });
});
