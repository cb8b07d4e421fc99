/** Behaviour every store must share, run against the memory store and a real Redis. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreLimits } from '../../src/store/input.js';
import { MemoryBehaviourStore } from '../../src/store/memory.js';
import { RedisBehaviourStore } from '../../src/store/redis.js';
import type { BehaviourStore, KeyStats, PendingWrite } from '../../src/store/types.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/** 2024-01-01T00:00:00Z, aligned to every bucket size. */
const T = Date.UTC(2024, 0, 1);
const SECOND = 1000;
const HOUR = 3600 * SECOND;

let server: RedisServer;
let prefixCounter = 0;
const opened: BehaviourStore[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await server?.stop();
});

const factories: [string, (limits?: Partial<StoreLimits>) => BehaviourStore][] = [
  ['memory', (limits) => new MemoryBehaviourStore(limits)],
  [
    'redis',
    (limits) => {
      prefixCounter += 1;
      // A generous timeout: these tests check results, not latency.
      return new RedisBehaviourStore({
        ...limits,
        redis: { host: '127.0.0.1', port: server.port },
        keyPrefix: `contract${prefixCounter}:`,
        timeoutMs: 2000,
      });
    },
  ],
];

const EMPTY: KeyStats = {
  count1m: 0,
  count1h: 0,
  count24h: 0,
  firstSeenAgeSeconds: null,
  distinctRecipients: 0,
  hamVerdicts: 0,
  spamVerdicts: 0,
  spamReports: 0,
  hamReports: 0,
};

describe.each(factories)('%s store', (_name, create) => {
  function open(limits?: Partial<StoreLimits>): BehaviourStore {
    const store = create(limits);
    opened.push(store);
    return store;
  }

  it('returns empty stats for a new key', async () => {
    const store = open();
    const result = await store.observe(['sender:new@example.com'], { now: T, recipients: ['a@example.net'] });
    expect(result.stats['sender:new@example.com']).toEqual(EMPTY);
    expect(result.degraded).toEqual([]);
  });

  it('returns stats from before the message', async () => {
    const store = open();
    await store.observe(['k'], { now: T, recipients: ['a@example.net'], verdict: 'spam' });
    const { stats } = await store.observe(['k'], { now: T + 5 * SECOND, recipients: ['b@example.net'] });
    expect(stats.k).toEqual({ ...EMPTY, count1m: 1, count1h: 1, count24h: 1, firstSeenAgeSeconds: 5, distinctRecipients: 1, spamVerdicts: 1 });
  });

  it('slides the windows', async () => {
    const store = open();
    const observe = async (offsetMs: number): Promise<KeyStats | undefined> => (await store.observe(['k'], { now: T + offsetMs, recipients: [] })).stats.k;

    expect((await observe(0))?.count1m).toBe(0);
    expect((await observe(5 * SECOND))?.count1m).toBe(1);
    expect((await observe(30 * SECOND))?.count1m).toBe(2);
    expect((await observe(59 * SECOND))?.count1m).toBe(3);
    // At 65 s the 1-minute window covers 10..65 s, so the two events of the first bucket drop out.
    const at65 = await observe(65 * SECOND);
    expect(at65?.count1m).toBe(2);
    expect(at65?.count1h).toBe(4);
    expect(at65?.firstSeenAgeSeconds).toBe(65);
    // At 1 h the 1-hour window covers 5..60 min: everything so far fell in the first 5 minutes.
    const atHour = await observe(HOUR);
    expect(atHour?.count1m).toBe(0);
    expect(atHour?.count1h).toBe(0);
    expect(atHour?.count24h).toBe(5);
    // At 24 h the 24-hour window covers hours 1..24, so only the event at 1 h remains.
    const atDay = await observe(24 * HOUR);
    expect(atDay?.count24h).toBe(1);
    expect(atDay?.firstSeenAgeSeconds).toBe(24 * 3600);
    const later = await observe(50 * HOUR);
    expect(later?.count24h).toBe(0);
    expect(later?.firstSeenAgeSeconds).toBe(50 * 3600);
  });

  it('counts late events inside the window', async () => {
    const store = open();
    await store.observe(['k'], { now: T + 30 * SECOND, recipients: [] });
    await store.observe(['k'], { now: T + 5 * SECOND, recipients: [] });
    const { stats } = await store.observe(['k'], { now: T + 40 * SECOND, recipients: [] });
    expect(stats.k?.count1m).toBe(2);
    expect(stats.k?.firstSeenAgeSeconds).toBe(35);
  });

  it('counts distinct recipients', async () => {
    const store = open();
    await store.observe(['k'], { now: T, recipients: ['a@example.net', 'B@example.net'] });
    await store.observe(['k'], { now: T, recipients: ['b@example.net', 'c@example.net'] });
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k?.distinctRecipients).toBe(3);
  });

  it('counts verdicts and reports', async () => {
    const store = open();
    await store.observe(['k1', 'k2'], { now: T, recipients: [], verdict: 'ham' });
    await store.recordVerdict(['k1', 'k2'], 'spam', T);
    await store.recordVerdict(['k1'], 'spam', T);
    await store.recordReport(['k1'], 'spam', T);
    await store.recordReport(['k2'], 'ham', T);
    const { stats } = await store.observe(['k1', 'k2'], { now: T, recipients: [] });
    expect(stats.k1).toMatchObject({ hamVerdicts: 1, spamVerdicts: 2, spamReports: 1, hamReports: 0 });
    expect(stats.k2).toMatchObject({ hamVerdicts: 1, spamVerdicts: 1, spamReports: 0, hamReports: 1 });
  });

  it('keeps keys apart', async () => {
    const store = open();
    await store.observe(['helo:a{b}', 'helo:a%7Bb%7D'], { now: T, recipients: [] });
    await store.observe(['helo:a{b}'], { now: T, recipients: [] });
    const { stats } = await store.observe(['helo:a{b}', 'helo:a%7Bb%7D', 'other'], { now: T, recipients: [] });
    expect(stats['helo:a{b}']?.count1m).toBe(2);
    expect(stats['helo:a%7Bb%7D']?.count1m).toBe(1);
    expect(stats.other?.count1m).toBe(0);
  });

  it('drops invalid keys', async () => {
    const store = open();
    const keys = ['ok', '', 'x'.repeat(600), 'bad\nkey', 42 as unknown as string];
    const result = await store.observe(keys, { now: T, recipients: [] });
    expect(Object.keys(result.stats)).toEqual(['ok']);
    expect(result.degraded).toHaveLength(1);
    expect(result.degraded[0]).toMatch(/^behaviour-store: 4 key\(s\) dropped/);
  });

  it('ignores an invalid verdict', async () => {
    const store = open();
    const result = await store.observe(['k'], { now: T, recipients: [], verdict: 'maybe' as 'spam' });
    expect(result.degraded).toEqual(['behaviour-store: invalid verdict "maybe" ignored']);
    const written = await store.recordReport(['k'], 'unsure' as 'ham', T);
    expect(written.degraded).toEqual(['behaviour-store: invalid report label "unsure", nothing recorded']);
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k).toMatchObject({ count1m: 1, hamVerdicts: 0, spamVerdicts: 0, hamReports: 0, spamReports: 0 });
  });

  it('replaces an invalid time', async () => {
    const store = open();
    const result = await store.observe(['k'], { now: Number.NaN, recipients: [] });
    expect(result.degraded).toEqual(['behaviour-store: invalid event time NaN, used the store clock']);
    expect(result.stats.k).toEqual(EMPTY);
  });

  it('caps recipients per event', async () => {
    const store = open();
    const many = Array.from({ length: 1500 }, (_, index) => `r${index}@example.net`);
    const result = await store.observe(['k'], { now: T, recipients: many });
    expect(result.degraded).toEqual(['behaviour-store: only the first 1000 recipients counted']);
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k?.distinctRecipients).toBeGreaterThan(800);
    expect(stats.k?.distinctRecipients).toBeLessThan(1200);
  });

  it('accepts an empty key list', async () => {
    const store = open();
    expect(await store.observe([], { now: T, recipients: [] })).toEqual({ stats: {}, degraded: [] });
    expect(await store.recordVerdict([], 'spam', T)).toEqual({ degraded: [] });
  });

  it('applies pending writes before reading', async () => {
    const store = open();
    const result = await store.observe(['k'], {
      now: T,
      recipients: [],
      pending: [
        { keys: ['k', 'j'], verdict: 'spam', now: T },
        { keys: ['k'], verdict: 'ham', report: 'spam', now: T },
        { keys: ['j'], report: 'ham', now: T },
      ],
    });
    expect(result.degraded).toEqual([]);
    expect(result.stats.k).toEqual({ ...EMPTY, spamVerdicts: 1, hamVerdicts: 1, spamReports: 1 });
    expect(Object.keys(result.stats)).toEqual(['k']);
    const { stats } = await store.observe(['k', 'j'], { now: T, recipients: [] });
    expect(stats.k).toMatchObject({ count1m: 1, spamVerdicts: 1, hamVerdicts: 1, spamReports: 1, hamReports: 0 });
    expect(stats.j).toEqual({ ...EMPTY, spamVerdicts: 1, hamReports: 1 });
  });

  it('counts pending writes like recordVerdict', async () => {
    const viaPending = open();
    const viaCalls = open();
    await viaPending.observe(['m'], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam', now: T }] });
    await viaCalls.observe(['m'], { now: T, recipients: [] });
    await viaCalls.recordVerdict(['k'], 'spam', T);
    const expected = (await viaCalls.observe(['k', 'm'], { now: T, recipients: [] })).stats;
    const actual = (await viaPending.observe(['k', 'm'], { now: T, recipients: [] })).stats;
    expect(actual).toEqual(expected);
  });

  it('applies pending writes without valid keys', async () => {
    const store = open();
    const result = await store.observe([''], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam' }] });
    expect(result.stats).toEqual({});
    expect(result.degraded).toHaveLength(1);
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k?.spamVerdicts).toBe(1);
  });

  it('reports invalid pending writes', async () => {
    const store = open();
    const pending = [
      { keys: ['k'], verdict: 'maybe', report: 'spam' },
      null,
      { keys: ['k'] },
      { keys: 'k', verdict: 'spam' },
      { keys: ['', 'k'], verdict: 'ham', now: Number.NaN },
      ,
    ] as unknown as PendingWrite[];
    const result = await store.observe(['k'], { now: T, recipients: [], pending });
    expect(result.degraded).toEqual([
      'behaviour-store: pending[0]: invalid verdict "maybe" ignored',
      'behaviour-store: pending[1] is not an object, ignored',
      'behaviour-store: pending[2] has no verdict or report, nothing recorded',
      'behaviour-store: pending[3]: keys is not an array, nothing recorded',
      expect.stringMatching(/^behaviour-store: pending\[4\]: 1 key\(s\) dropped \(empty, /),
      'behaviour-store: pending[4]: invalid event time NaN, used the store clock',
      'behaviour-store: pending[5] is not an object, ignored',
    ]);
    // The valid parts of pending[0] and pending[4] are counted.
    expect(result.stats.k).toEqual({ ...EMPTY, spamReports: 1, hamVerdicts: 1 });
  });

  it('reports pending that is not an array', async () => {
    const store = open();
    const pending = { keys: ['k'], verdict: 'spam' } as unknown as PendingWrite[];
    const result = await store.observe(['k'], { now: T, recipients: [], pending });
    expect(result.degraded).toEqual(['behaviour-store: pending is not an array, no pending writes applied']);
    expect(result.stats.k).toEqual(EMPTY);
  });

  it('caps pending writes at 64 by default', async () => {
    const store = open();
    const pending: PendingWrite[] = Array.from({ length: 70 }, () => ({ keys: ['k'], verdict: 'spam' }));
    const result = await store.observe(['k'], { now: T, recipients: [], pending });
    expect(result.degraded).toEqual(['behaviour-store: 6 pending write(s) dropped past 64 per call']);
    expect(result.stats.k?.spamVerdicts).toBe(64);
  });

  it('caps pending writes per maxPendingWritesPerCall', async () => {
    const store = open({ maxPendingWritesPerCall: 2 });
    const pending: PendingWrite[] = [
      { keys: ['a'], verdict: 'spam' },
      { keys: ['b'], verdict: 'spam' },
      { keys: ['c'], verdict: 'spam' },
    ];
    const result = await store.observe(['a', 'b', 'c'], { now: T, recipients: [], pending });
    expect(result.degraded).toEqual(['behaviour-store: 1 pending write(s) dropped past 2 per call']);
    expect(result.stats.a?.spamVerdicts).toBe(1);
    expect(result.stats.b?.spamVerdicts).toBe(1);
    expect(result.stats.c?.spamVerdicts).toBe(0);
  });

  it('drops every pending write at 0', async () => {
    const store = open({ maxPendingWritesPerCall: 0 });
    const result = await store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam' }] });
    expect(result.degraded).toEqual(['behaviour-store: 1 pending write(s) dropped past 0 per call']);
    expect(result.stats.k?.spamVerdicts).toBe(0);
  });
});
