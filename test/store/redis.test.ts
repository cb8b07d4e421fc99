import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { BehaviourStoreError, BehaviourStoreTimeoutError, BehaviourStoreUnavailableError } from '../../src/store/errors.js';
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

/** Returns `script` for EVAL and EVALSHA (the first call of a script on a connection is EVAL), else the command name. */
function commandKind(args: readonly string[]): string {
  const name = args[0]?.toLowerCase() ?? '';
  return name === 'eval' || name === 'evalsha' ? 'script' : name;
}

/** Collects the commands Redis runs while `action` runs, with their source (`lua` for commands run by a script). */
async function monitorCommands(action: () => Promise<unknown>): Promise<{ args: string[]; source: string }[]> {
  const monitor = await inspector.duplicate().monitor();
  const commands: { args: string[]; source: string }[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ args, source }));
  try {
    await action();
    // A marker command shows that MONITOR has delivered everything before it.
    await inspector.echo('monitor-end');
    await waitFor(() => commands.some((entry) => entry.args[0]?.toLowerCase() === 'echo'), 2000);
  } finally {
    monitor.disconnect();
  }
  return commands.filter((entry) => entry.args[0]?.toLowerCase() !== 'echo');
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
    const store = open({ ttlMs: 60_000 });
    await store.observe(['k'], { now: T, recipients: [] });
    const commands = await monitorCommands(() =>
      store.observe(['k'], {
        now: T,
        recipients: [],
        pending: [
          { keys: ['k'], verdict: 'spam' },
          { keys: ['j'], report: 'ham' },
        ],
      }),
    );
    const sent = commands.filter((entry) => entry.source !== 'lua').map((entry) => entry.args);
    expect(sent.map((args) => commandKind(args))).toEqual(['script', 'script']);
    // EVAL(SHA) script numkeys key...: the write to the key that is not observed comes first.
    expect(sent[0]?.[3]).toBe('spamward:{j}:s');
    expect(sent[1]?.[3]).toBe('spamward:{k}:s');
    const names = commands.filter((entry) => entry.source === 'lua').map((entry) => `${entry.args[0]?.toLowerCase()} ${entry.args[1] ?? ''} ${entry.args[2] ?? ''}`);
    expect(names.slice(0, 4)).toEqual(['hincrby spamward:{j}:s rham', 'pexpire spamward:{j}:s 60000', 'pexpire spamward:{j}:r 60000', 'hincrby spamward:{k}:s vspam']);
    expect(names[4]).toBe('pexpire spamward:{k}:s 60000');
    expect(names[5]).toMatch(/^hmget spamward:\{k\}:s/);
  });

  it('sends one script call per key', async () => {
    const store = open();
    const keys = ['sender:a@example.com', 'org:example.com', 'net:192.0.2.0/24'];
    await store.observe(keys, { now: T, recipients: [] });
    const commands = await monitorCommands(() =>
      store.observe(keys, { now: T + 1, recipients: ['x@example.net'], pending: [{ keys, verdict: 'spam', report: 'ham' }] }),
    );
    const sent = commands.filter((entry) => entry.source !== 'lua').map((entry) => commandKind(entry.args));
    expect(sent).toEqual(['script', 'script', 'script']);
  });

  it('counts pending writes in the same call', async () => {
    const store = open();
    const pending = [
      { keys: ['k', 'j'], verdict: 'spam' as const },
      { keys: ['k'], verdict: 'spam' as const, report: 'ham' as const },
    ];
    const { stats } = await store.observe(['k'], { now: T, recipients: [], pending });
    expect(stats.k).toMatchObject({ count1m: 0, spamVerdicts: 2, hamReports: 1, hamVerdicts: 0, spamReports: 0 });
    expect(await inspector.hgetall(store.redisKeys('j').stats)).toEqual({ vspam: '1' });
  });

  it('sums repeated pending writes', async () => {
    const store = open();
    const pending = [
      { keys: ['k'], verdict: 'ham' as const },
      { keys: ['k'], verdict: 'ham' as const },
      { keys: ['j'], report: 'spam' as const },
      { keys: ['j'], report: 'spam' as const },
    ];
    const commands = await monitorCommands(() => store.observe(['k'], { now: T, recipients: ['x@example.net'], pending }));
    const increments = commands.filter((entry) => entry.args[0]?.toLowerCase() === 'hincrby').map((entry) => entry.args.slice(1));
    expect(increments).toEqual([
      ['spamward:{j}:s', 'rspam', '2'],
      ['spamward:{k}:s', 'vham', '2'],
    ]);
    const { stats } = await store.observe(['k', 'j'], { now: T, recipients: [] });
    expect(stats.k).toMatchObject({ count1m: 1, hamVerdicts: 2, distinctRecipients: 1 });
    expect(stats.j).toMatchObject({ count1m: 0, spamReports: 2 });
  });

  it('counts the verdict after the read', async () => {
    const store = open();
    const first = await store.observe(['k'], { now: T, recipients: [], verdict: 'ham', pending: [{ keys: ['k'], verdict: 'spam' }] });
    expect(first.stats.k).toMatchObject({ hamVerdicts: 0, spamVerdicts: 1 });
    const second = await store.observe(['k'], { now: T, recipients: [] });
    expect(second.stats.k).toMatchObject({ count1m: 1, hamVerdicts: 1, spamVerdicts: 1 });
  });

  it('sets a TTL on observed pending keys', async () => {
    const store = open({ ttlMs: 60_000 });
    await inspector.hset(store.redisKeys('k').stats, 'vham', '3');
    await store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'ham' }] });
    expect(await inspector.hget(store.redisKeys('k').stats, 'vham')).toBe('4');
    const ttl = await inspector.pttl(store.redisKeys('k').stats);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('records a verdict with one script call per key', async () => {
    const store = open({ ttlMs: 60_000 });
    await store.observe(['k'], { now: T, recipients: [] });
    const commands = await monitorCommands(() => store.recordVerdict(['k', 'j'], 'spam', T));
    const sent = commands.filter((entry) => entry.source !== 'lua').map((entry) => commandKind(entry.args));
    expect(sent).toEqual(['script', 'script']);
    for (const key of ['k', 'j']) {
      const name = store.redisKeys(key).stats;
      expect(await inspector.hget(name, 'vspam'), key).toBe('1');
      expect(await inspector.pttl(name), key).toBeGreaterThan(0);
    }
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

  it('reloads both scripts after SCRIPT FLUSH', async () => {
    const store = open();
    await store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['j'], verdict: 'ham' }] });
    await inspector.script('FLUSH');
    const { stats } = await store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['j'], verdict: 'ham' }] });
    expect(stats.k?.count1m).toBe(1);
    expect(await inspector.hget(store.redisKeys('j').stats, 'vham')).toBe('2');
  });

  it('sets a TTL on pending counts when the script fails', async () => {
    const store = open({ ttlMs: 60_000 });
    await inspector.set(store.redisKeys('k').recipients, 'not a HyperLogLog');
    const call = store.observe(['k'], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam' }] });
    await expect(call).rejects.toBeInstanceOf(BehaviourStoreError);
    const name = store.redisKeys('k').stats;
    expect(await inspector.hget(name, 'vspam')).toBe('1');
    const ttl = await inspector.pttl(name);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('rejects when an observed pending key holds another type', async () => {
    const store = open();
    await inspector.set(store.redisKeys('k').stats, 'not a hash');
    const call = store.observe(['k', 'j'], { now: T, recipients: [], pending: [{ keys: ['k'], verdict: 'spam' }] });
    await expect(call).rejects.toBeInstanceOf(BehaviourStoreError);
    expect(await inspector.get(store.redisKeys('k').stats)).toBe('not a hash');
  });

  it('rejects when the key holds another type', async () => {
    const store = open();
    await inspector.set(store.redisKeys('k').stats, 'not a hash');
    await expect(store.observe(['k'], { now: T, recipients: [] })).rejects.toBeInstanceOf(BehaviourStoreError);
  });

  it('times out while the server stalls', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const store = open({ redis: { host: '127.0.0.1', port: proxy.port }, timeoutMs: 100 });
      await store.observe(['k'], { now: T, recipients: [] });
      proxy.pause();
      await expect(store.observe(['k'], { now: T + 1, recipients: [] })).rejects.toBeInstanceOf(BehaviourStoreTimeoutError);
      proxy.resume();
      // The late reply of the timed-out call must not be taken for the reply of the next one.
      await waitFor(async () => (await inspector.hget(store.redisKeys('k').stats, 'first')) !== null, 2000);
      const { stats } = await store.observe(['k'], { now: T + 2, recipients: [] });
      expect(stats.k?.count1m).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it('settles a stalled call by close', async () => {
    const proxy = await startTcpProxy(server.port);
    try {
      const store = open({ redis: { host: '127.0.0.1', port: proxy.port }, timeoutMs: 200 });
      await store.observe(['k'], { now: T, recipients: [] });
      proxy.pause();
      let outcome: unknown = 'pending';
      const call = store.observe(['k'], { now: T + 1, recipients: [] }).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      void call.then((value) => {
        outcome = value;
      });
      await store.close();
      await Promise.resolve();
      expect(outcome).toBeInstanceOf(BehaviourStoreError);
    } finally {
      await proxy.close();
    }
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
