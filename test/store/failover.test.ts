import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBehaviourStore } from '../../src/store/create.js';
import { BehaviourStoreTimeoutError, BehaviourStoreUnavailableError } from '../../src/store/errors.js';
import { FailoverBehaviourStore } from '../../src/store/failover.js';
import { MemoryBehaviourStore } from '../../src/store/memory.js';
import { RedisBehaviourStore } from '../../src/store/redis.js';
import type { BehaviourEvent, BehaviourStore, ObserveResult } from '../../src/store/types.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

const T = Date.UTC(2024, 0, 1);
const TIMEOUT_MS = 50;
/** Upper bound for one call while Redis fails: the timeout plus generous slack for a loaded CI machine. */
const CALL_LIMIT_MS = 1000;

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function logger(): { warn: ReturnType<typeof vi.fn>; info: ReturnType<typeof vi.fn> } {
  return { warn: vi.fn(), info: vi.fn() };
}

async function server(): Promise<RedisServer> {
  const started = await startRedisServer();
  cleanups.push(() => started.stop());
  return started;
}

function failover(url: string, log = logger()): BehaviourStore {
  const store = createBehaviourStore(url, { timeoutMs: TIMEOUT_MS, retryAfterMs: 100, reconnectMaxDelayMs: 100, logger: log });
  cleanups.push(() => store.close());
  return store;
}

/** Calls observe and returns the result with the time it took. */
async function timedObserve(store: BehaviourStore, key: string): Promise<{ result: ObserveResult; elapsedMs: number }> {
  const started = performance.now();
  const result = await store.observe([key], { now: T, recipients: ['a@example.net'] });
  return { result, elapsedMs: performance.now() - started };
}

/** Observes until a call is not degraded, for at most `limitMs`. */
async function untilHealthy(store: BehaviourStore, key: string, limitMs: number): Promise<ObserveResult> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const result = await store.observe([key], { now: T, recipients: [] });
    if (result.degraded.length === 0) return result;
    if (Date.now() > deadline) throw new Error(`still degraded after ${limitMs} ms: ${result.degraded.join('; ')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('FailoverBehaviourStore with Redis', () => {
  it('falls back when Redis dies and recovers on restart', async () => {
    const redis = await server();
    const log = logger();
    const store = failover(redis.url, log);
    await untilHealthy(store, 'warmup', 3000);
    await store.observe(['k'], { now: T, recipients: [] });
    const healthy = await store.observe(['k'], { now: T, recipients: [] });
    expect(healthy.stats.k?.count1m).toBe(1);
    // A slow warmup (connecting past the 50 ms timeout) may already have logged one outage.
    const warnsBefore = log.warn.mock.calls.length;
    const infosBefore = log.info.mock.calls.length;

    await redis.kill();
    const counts: number[] = [];
    for (let call = 0; call < 20; call += 1) {
      const { result, elapsedMs } = await timedObserve(store, 'k');
      expect(elapsedMs).toBeLessThan(CALL_LIMIT_MS);
      expect(result.degraded).toHaveLength(1);
      expect(result.degraded[0]).toMatch(/^behaviour-store: redis (unavailable|timeout), served from memory$/);
      counts.push(result.stats.k?.count1m ?? -1);
    }
    // The memory fallback started empty when Redis died and counts from there.
    expect(counts).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(log.warn).toHaveBeenCalledTimes(warnsBefore + 1);
    expect(log.warn.mock.calls[warnsBefore]?.[0]).toMatch(/serving from memory until redis is back/);

    await redis.restart();
    const recovered = await untilHealthy(store, 'k', 5000);
    // The restarted server is empty (no persistence), so Redis history starts again.
    expect(recovered.stats.k?.count1m).toBe(0);
    expect(log.warn).toHaveBeenCalledTimes(warnsBefore + 1);
    expect(log.info).toHaveBeenCalledTimes(infosBefore + 1);
    expect(log.info.mock.calls[infosBefore]?.[0]).toMatch(/redis is back after/);
  }, 20_000);

  it('falls back while Redis stalls', async () => {
    const redis = await server();
    const proxy: TcpProxy = await startTcpProxy(redis.port);
    cleanups.push(() => proxy.close());
    const log = logger();
    const store = failover(`redis://127.0.0.1:${proxy.port}/0`, log);
    await untilHealthy(store, 'warmup', 3000);
    // A slow warmup (connecting past the 50 ms timeout) may already have logged one outage.
    const warnsBefore = log.warn.mock.calls.length;
    const infosBefore = log.info.mock.calls.length;

    proxy.pause();
    for (let call = 0; call < 5; call += 1) {
      const { result, elapsedMs } = await timedObserve(store, 'k');
      expect(elapsedMs).toBeLessThan(CALL_LIMIT_MS);
      expect(result.degraded).toEqual(['behaviour-store: redis timeout, served from memory']);
    }
    expect(log.warn).toHaveBeenCalledTimes(warnsBefore + 1);

    proxy.resume();
    await untilHealthy(store, 'k', 5000);
    expect(log.info).toHaveBeenCalledTimes(infosBefore + 1);
  }, 20_000);

  it('applies pending writes while Redis is killed', async () => {
    const redis = await server();
    const store = failover(redis.url);
    await untilHealthy(store, 'warmup', 3000);
    const healthy = await store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam', now: T }] });
    expect(healthy.degraded).toEqual([]);
    expect(healthy.stats.k?.spamVerdicts).toBe(1);

    await redis.kill();
    const served: ObserveResult[] = [];
    for (const verdict of ['ham', 'spam', 'spam'] as const) {
      const pending = [{ keys: ['k'], verdict, now: T }];
      served.push(await store.observe(['k'], { now: T, recipients: [], pending }));
    }
    for (const result of served) {
      expect(result.degraded).toHaveLength(1);
      expect(result.degraded[0]).toMatch(/^behaviour-store: redis (unavailable|timeout), served from memory$/);
    }
    // The memory fallback started empty when Redis died, and got every pending write since.
    expect(served.map((result) => result.stats.k?.hamVerdicts)).toEqual([1, 1, 1]);
    expect(served.map((result) => result.stats.k?.spamVerdicts)).toEqual([0, 1, 2]);
    expect(served.map((result) => result.stats.k?.count1m)).toEqual([0, 1, 2]);
  }, 20_000);

  it('serves from memory when Redis never started', async () => {
    const port = await freePort();
    const log = logger();
    const store = failover(`redis://127.0.0.1:${port}/0`, log);
    for (let call = 0; call < 10; call += 1) {
      const { result, elapsedMs } = await timedObserve(store, 'k');
      expect(elapsedMs).toBeLessThan(CALL_LIMIT_MS);
      expect(result.degraded).toHaveLength(1);
      expect(result.stats.k?.count1m).toBe(call);
    }
    const written = await store.recordVerdict(['k'], 'spam', T);
    expect(written.degraded).toHaveLength(1);
    expect(log.warn).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['while connected', false],
    ['after Redis died', true],
  ])('leaves no handles after close %s', async (_case, killFirst) => {
    const redis = await server();
    const handles = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout' || name === 'TCPSocketWrap').length;
    // Let handles of earlier tests close first, so the baseline is stable.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const baseline = handles();
    const store = createBehaviourStore(redis.url, { timeoutMs: TIMEOUT_MS });
    await untilHealthy(store, 'k', 3000);
    if (killFirst) {
      await redis.kill();
      await store.observe(['k'], { now: T, recipients: [] });
    }
    await store.close();
    expect(handles()).toBe(baseline);
  });

  it('returns degraded results after close', async () => {
    const port = await freePort();
    const store = failover(`redis://127.0.0.1:${port}/0`);
    await store.close();
    const result = await store.observe(['k'], { now: T, recipients: [] });
    expect(result).toEqual({ stats: {}, degraded: ['behaviour-store: store is closed, nothing recorded'] });
  });
});

describe('FailoverBehaviourStore', () => {
  /** Returns a primary whose next observe() calls fail with the given errors, then succeed. */
  function flakyPrimary(failures: Error[]): BehaviourStore & { calls: number } {
    const inner = new MemoryBehaviourStore();
    const primary = {
      calls: 0,
      observe(keys: readonly string[], event: Parameters<BehaviourStore['observe']>[1]) {
        primary.calls += 1;
        const failure = failures.shift();
        return failure === undefined ? inner.observe(keys, event) : Promise.reject(failure);
      },
      recordVerdict: inner.recordVerdict.bind(inner),
      recordReport: inner.recordReport.bind(inner),
      close: inner.close.bind(inner),
    };
    return primary;
  }

  it('retries the primary after retryAfterMs', async () => {
    let now = 0;
    const primary = flakyPrimary([new BehaviourStoreTimeoutError('slow')]);
    const store = new FailoverBehaviourStore(primary, { retryAfterMs: 1000, monotonicClock: () => now });
    const failed = await store.observe(['k'], { now: T, recipients: [] });
    expect(failed.degraded).toEqual(['behaviour-store: redis timeout, served from memory']);
    now = 500;
    await store.observe(['k'], { now: T, recipients: [] });
    expect(primary.calls).toBe(1);
    now = 1000;
    const retried = await store.observe(['k'], { now: T, recipients: [] });
    expect(primary.calls).toBe(2);
    expect(retried.degraded).toEqual([]);
    expect(store.degradedReason).toBeNull();
  });

  it('names an unavailable primary', async () => {
    const primary = flakyPrimary([new BehaviourStoreUnavailableError('down')]);
    const store = new FailoverBehaviourStore(primary, { primaryName: 'cache' });
    const result = await store.observe(['k'], { now: T, recipients: [] });
    expect(result.degraded).toEqual(['behaviour-store: cache unavailable, served from memory']);
    expect(store.degradedReason).toBe('cache unavailable');
  });

  it('skips a primary that reports not ready', async () => {
    const inner = new MemoryBehaviourStore();
    let ready = true;
    let generation = 1;
    const observe = vi.fn(() => Promise.reject(new BehaviourStoreUnavailableError('down')));
    const primary = {
      get ready() {
        return ready;
      },
      get connectionGeneration() {
        return generation;
      },
      observe,
      recordVerdict: inner.recordVerdict.bind(inner),
      recordReport: inner.recordReport.bind(inner),
      close: inner.close.bind(inner),
    };
    const store = new FailoverBehaviourStore(primary, { retryAfterMs: 1, monotonicClock: () => 0 });
    await store.observe(['k'], { now: T, recipients: [] });
    ready = false;
    await store.observe(['k'], { now: T, recipients: [] });
    expect(observe).toHaveBeenCalledTimes(1);
    ready = true;
    generation = 2;
    await store.observe(['k'], { now: T, recipients: [] });
    expect(observe).toHaveBeenCalledTimes(2);
  });

  it('times out a hanging primary', async () => {
    const inner = new MemoryBehaviourStore();
    const primary = {
      observe: () => new Promise<ObserveResult>(() => undefined),
      recordVerdict: inner.recordVerdict.bind(inner),
      recordReport: inner.recordReport.bind(inner),
      close: inner.close.bind(inner),
    };
    const store = new FailoverBehaviourStore(primary, { timeoutMs: 30 });
    const result = await store.observe(['k'], { now: T, recipients: [] });
    expect(result.degraded).toEqual(['behaviour-store: redis timeout, served from memory']);
  });

  it('gives pending writes to the fallback on timeout', async () => {
    const inner = new MemoryBehaviourStore();
    const observe = vi.fn((_keys: readonly string[], _event: BehaviourEvent) => new Promise<ObserveResult>(() => undefined));
    const primary = {
      observe,
      recordVerdict: inner.recordVerdict.bind(inner),
      recordReport: inner.recordReport.bind(inner),
      close: inner.close.bind(inner),
    };
    const store = new FailoverBehaviourStore(primary, { timeoutMs: 30 });
    const pending = [{ keys: ['k'], verdict: 'spam' as const, now: T }];
    const result = await store.observe(['k'], { now: T, recipients: [], pending });
    expect(observe.mock.calls[0]?.[1].pending).toBe(pending);
    expect(result.degraded).toEqual(['behaviour-store: redis timeout, served from memory']);
    expect(result.stats.k?.spamVerdicts).toBe(1);
  });

  it('counts pending writes twice after a late failure', async () => {
    // A primary that applies the call and then fails, as a Redis pipeline that ran but whose reply came too late.
    const inner = new MemoryBehaviourStore();
    const primary = {
      async observe(keys: readonly string[], event: BehaviourEvent): Promise<ObserveResult> {
        await inner.observe(keys, event);
        throw new BehaviourStoreTimeoutError('reply too late');
      },
      recordVerdict: inner.recordVerdict.bind(inner),
      recordReport: inner.recordReport.bind(inner),
      close: inner.close.bind(inner),
    };
    const fallback = new MemoryBehaviourStore();
    const store = new FailoverBehaviourStore(primary, { fallback });
    await store.observe([], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam', now: T }] });
    const inPrimary = await inner.observe(['k'], { now: T, recipients: [] });
    const inFallback = await fallback.observe(['k'], { now: T, recipients: [] });
    expect(inPrimary.stats.k?.spamVerdicts).toBe(1);
    expect(inFallback.stats.k?.spamVerdicts).toBe(1);
  });

  it('never rejects when the fallback fails', async () => {
    const broken = new MemoryBehaviourStore();
    await broken.close();
    const primary = flakyPrimary([new Error('boom'), new Error('boom')]);
    const store = new FailoverBehaviourStore(primary, { fallback: broken });
    const result = await store.observe(['k'], { now: T, recipients: [] });
    expect(result.stats).toEqual({});
    expect(result.degraded[1]).toMatch(/^behaviour-store: fallback failed: /);
    const written = await store.recordReport(['k'], 'spam');
    expect(written.degraded).toHaveLength(2);
  });

  it('exposes the Redis store connection state', async () => {
    const port = await freePort();
    const redis = new RedisBehaviourStore({ redis: { host: '127.0.0.1', port }, timeoutMs: TIMEOUT_MS });
    cleanups.push(() => redis.close());
    expect(redis.ready).toBe(false);
    expect(redis.connectionGeneration).toBe(0);
  });
});
