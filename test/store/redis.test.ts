import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { BehaviourStoreError, BehaviourStoreUnavailableError } from '../../src/store/errors.js';
import { behaviourKeys } from '../../src/store/keys.js';
import { RedisBehaviourStore, recipientDigest, type RedisBehaviourStoreOptions } from '../../src/store/redis.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { startTcpProxy } from './tcp-proxy.js';

const T = Date.UTC(2024, 0, 1);
/** Generous per-call timeout: these tests check behaviour, not latency. */
const TIMEOUT_MS = 2000;

let server: RedisServer;
let inspector: Redis;
const stores: RedisBehaviourStore[] = [];

function open(options: RedisBehaviourStoreOptions = {}): RedisBehaviourStore {
  const store = new RedisBehaviourStore({ redis: { host: '127.0.0.1', port: server.port }, timeoutMs: TIMEOUT_MS, ...options });
  stores.push(store);
  return store;
}

/** Polls `condition` every 20 ms for at most `limitMs`. */
async function waitFor(condition: () => boolean | Promise<boolean>, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Returns the part of a key name that Redis Cluster hashes: text between the first `{` and the next `}`, if not empty. */
function hashTag(name: string): string {
  const open = name.indexOf('{');
  const close = open === -1 ? -1 : name.indexOf('}', open + 1);
  return close > open + 1 ? name.slice(open + 1, close) : name;
}

beforeAll(async () => {
  server = await startRedisServer();
  inspector = new Redis({ host: '127.0.0.1', port: server.port });
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await inspector.flushall();
});

afterAll(async () => {
  inspector?.disconnect();
  await server?.stop();
});

describe('RedisBehaviourStore', () => {
  it('shares history between instances', async () => {
    const first = open();
    const second = open();
    const keys = behaviourKeys({ envelopeSender: 'bulk@example.com', clientIp: '192.0.2.9' });
    await first.observe(keys, { now: T, recipients: ['a@example.net'] });
    await second.observe(keys, { now: T + 1000, recipients: ['b@example.net'], verdict: 'spam' });
    const { stats } = await first.observe(keys, { now: T + 2000, recipients: [] });
    for (const key of keys) {
      expect(stats[key]).toMatchObject({ count1m: 2, firstSeenAgeSeconds: 2, distinctRecipients: 2, spamVerdicts: 1 });
    }
  });

  it('names keys with the prefix and a hash tag', async () => {
    const store = open();
    await store.observe(['sender:a@example.com'], { now: T, recipients: ['a@example.net'] });
    const names = (await inspector.keys('*')).sort();
    expect(names).toEqual(['spamward:{sender:a@example.com}:r', 'spamward:{sender:a@example.com}:s']);
  });

  it('keeps both keys in one slot', () => {
    const store = open({ keyPrefix: 'p:' });
    for (const key of ['sender:a@example.com', 'helo:x}y', 'helo:{x}', 'helo:%7B']) {
      const names = store.redisKeys(key);
      expect(hashTag(names.stats)).toBe(hashTag(names.recipients));
      expect(hashTag(names.stats)).not.toBe(names.stats);
      expect(decodeURIComponent(hashTag(names.stats))).toBe(key);
    }
  });

  it('sets a TTL on every key', async () => {
    const store = open({ ttlMs: 60_000 });
    await store.observe(['k'], { now: T, recipients: ['a@example.net'] });
    await store.recordReport(['v'], 'spam', T);
    const names = await inspector.keys('*');
    expect(names).toHaveLength(3);
    for (const name of names) {
      const ttl = await inspector.pttl(name);
      expect(ttl, name).toBeGreaterThan(0);
      expect(ttl, name).toBeLessThanOrEqual(60_000);
    }
  });

  it('expires keys after ttlMs', async () => {
    const store = open({ ttlMs: 200 });
    await store.observe(['k'], { now: T, recipients: ['a@example.net'], verdict: 'ham' });
    await waitFor(async () => (await inspector.dbsize()) === 0, 3000);
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k).toMatchObject({ count1m: 0, firstSeenAgeSeconds: null, distinctRecipients: 0, hamVerdicts: 0 });
  });

  it('bounds the hash size', async () => {
    const store = open();
    for (let minute = 0; minute < 3 * 24 * 60; minute += 7) {
      await store.observe(['k'], { now: T + minute * 60_000, recipients: [] });
    }
    const fields = await inspector.hlen(store.redisKeys('k').stats);
    expect(fields).toBeLessThanOrEqual(5 + 6 + 12 + 24);
  });

  it('sends recipient digests, not addresses', async () => {
    const store = open();
    const monitor = await inspector.duplicate().monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
    await store.observe(['k'], { now: T, recipients: ['Secret.Person@Example.net'] });
    await waitFor(() => commands.some((args) => args[0]?.toLowerCase().startsWith('eval')), 2000);
    monitor.disconnect();
    const sent = commands.flat().join(' ');
    expect(sent).not.toContain('secret.person');
    expect(sent).toContain(recipientDigest('secret.person@example.net'));
  });

  it('uses one round trip per call', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const store = open({ redis: { host: '127.0.0.1', port: proxy.port } });
      const keys = behaviourKeys({
        envelopeSender: 'a@example.com',
        fromDomain: 'example.com',
        dkimDomain: 'example.com',
        clientIp: '2001:db8::1',
        helo: 'mx.example.com',
      });
      expect(keys).toHaveLength(7);
      await store.observe(keys, { now: T, recipients: ['x@example.net'] });
      const before = proxy.roundTrips;
      for (let index = 0; index < 10; index += 1) {
        await store.observe(keys, { now: T + index, recipients: ['x@example.net', 'y@example.net'] });
      }
      expect(proxy.roundTrips - before).toBe(10);
      await store.recordVerdict(keys, 'spam', T);
      expect(proxy.roundTrips - before).toBe(11);
      const { stats } = await store.observe(keys, { now: T + 20, recipients: [] });
      expect(stats['sender:a@example.com']).toMatchObject({ count1m: 11, spamVerdicts: 1, distinctRecipients: 2 });
    } finally {
      await proxy.close();
    }
  });

  it('carries pending writes in the same round trip', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const store = open({ redis: { host: '127.0.0.1', port: proxy.port } });
      const keys = behaviourKeys({ envelopeSender: 'a@example.com', clientIp: '192.0.2.9', helo: 'mx.example.com' });
      await store.observe(keys, { now: T, recipients: [] });
      const before = proxy.roundTrips;
      for (let index = 0; index < 10; index += 1) {
        // Each message carries the verdict of the one before it.
        const pending = [{ keys, verdict: 'spam' as const, now: T + index }];
        await store.observe(keys, { now: T + index, recipients: ['x@example.net'], pending });
      }
      expect(proxy.roundTrips - before).toBe(10);
      const { stats } = await store.observe(keys, { now: T + 20, recipients: [] });
      expect(stats['sender:a@example.com']).toMatchObject({ count1m: 11, spamVerdicts: 10 });
    } finally {
      await proxy.close();
    }
  });

  it('sends pending writes before the script', async () => {
    const store = open();
    await store.observe(['k'], { now: T, recipients: [] });
    const monitor = await inspector.duplicate().monitor();
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => commands.push(args));
    const pending = [
      { keys: ['k'], verdict: 'spam' as const },
      { keys: ['j'], report: 'ham' as const },
    ];
    await store.observe(['k'], { now: T, recipients: [], pending });
    await waitFor(() => commands.some((args) => args[0]?.toLowerCase().startsWith('eval')), 2000);
    monitor.disconnect();
    const names = commands.map((args) => `${args[0]?.toLowerCase()} ${args[1] ?? ''}`);
    expect(names.slice(0, 6)).toEqual([
      'hincrby spamward:{k}:s',
      'pexpire spamward:{k}:s',
      'pexpire spamward:{k}:r',
      'hincrby spamward:{j}:s',
      'pexpire spamward:{j}:s',
      'pexpire spamward:{j}:r',
    ]);
    expect(commands[0]?.[2]).toBe('vspam');
    expect(commands[3]?.[2]).toBe('rham');
    // EVALSHA sha numkeys key...: the observe script comes right after the pending writes.
    expect(commands[6]?.[0]?.toLowerCase()).toBe('evalsha');
    expect(commands[6]?.[3]).toBe('spamward:{k}:s');
  });

  it('sets a TTL on pending keys', async () => {
    const store = open({ ttlMs: 60_000 });
    await store.observe([], { now: T, recipients: [], pending: [{ keys: ['v'], verdict: 'ham', report: 'spam' }] });
    const name = store.redisKeys('v').stats;
    expect(await inspector.hgetall(name)).toEqual({ vham: '1', rspam: '1' });
    const ttl = await inspector.pttl(name);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('rejects when a pending key holds another type', async () => {
    const store = open();
    await inspector.set(store.redisKeys('bad').stats, 'not a hash');
    const call = store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['bad'], verdict: 'spam' }] });
    await expect(call).rejects.toBeInstanceOf(BehaviourStoreError);
    // A pipeline is not a transaction: the observe script after the failed write still ran.
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k?.count1m).toBe(1);
  });

  it('reloads the script after SCRIPT FLUSH', async () => {
    const store = open();
    await store.observe(['k'], { now: T, recipients: [] });
    await inspector.script('FLUSH');
    const { stats } = await store.observe(['k'], { now: T, recipients: [] });
    expect(stats.k?.count1m).toBe(1);
  });

  it('rejects when the key holds another type', async () => {
    const store = open();
    await inspector.set(store.redisKeys('k').stats, 'not a hash');
    await expect(store.observe(['k'], { now: T, recipients: [] })).rejects.toBeInstanceOf(BehaviourStoreError);
  });

  it('rejects when no server listens', async () => {
    const port = await freePort();
    const store = open({ redis: { host: '127.0.0.1', port }, timeoutMs: 100 });
    const error = await store.observe(['k'], { now: T, recipients: [] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BehaviourStoreError);
  });

  it('rejects calls after close', async () => {
    const store = open();
    await store.close();
    await expect(store.observe(['k'], { now: T, recipients: [] })).rejects.toBeInstanceOf(BehaviourStoreUnavailableError);
    expect(store.client.status).toBe('end');
  });

  it('rejects a prefix with braces', () => {
    expect(() => new RedisBehaviourStore({ keyPrefix: 'a{b}:', redis: { lazyConnect: true } })).toThrow(OptionsError);
  });
});
