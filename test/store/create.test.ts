import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { createBehaviourStore, parseRedisUrl } from '../../src/store/create.js';
import { BehaviourStoreSpecError } from '../../src/store/errors.js';
import { FailoverBehaviourStore } from '../../src/store/failover.js';
import { MemoryBehaviourStore } from '../../src/store/memory.js';
import { RedisBehaviourStore } from '../../src/store/redis.js';
import type { BehaviourStore } from '../../src/store/types.js';
import { freePort } from '../helpers/redis-server.js';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1', { host: '127.0.0.1', port: 6379, db: 0, tls: false }],
    ['redis://127.0.0.1:6380/2', { host: '127.0.0.1', port: 6380, db: 2, tls: false }],
    ['redis://127.0.0.1:6380/', { host: '127.0.0.1', port: 6380, db: 0, tls: false }],
    ['rediss://localhost:6390/0', { host: 'localhost', port: 6390, db: 0, tls: true }],
    ['redis://[::1]:6379/1', { host: '::1', port: 6379, db: 1, tls: false }],
    ['redis://user:p%40ss@127.0.0.1:6379/0', { host: '127.0.0.1', port: 6379, db: 0, tls: false, username: 'user', password: 'p@ss' }],
    ['redis://:secret@127.0.0.1', { host: '127.0.0.1', port: 6379, db: 0, tls: false, password: 'secret' }],
  ])('parses %s', (spec, expected) => {
    expect(parseRedisUrl(spec)).toEqual(expected);
  });
});

describe('createBehaviourStore', () => {
  it('creates a memory store', async () => {
    const store = createBehaviourStore('memory', { maxKeys: 10 });
    expect(store).toBeInstanceOf(MemoryBehaviourStore);
    expect((store as MemoryBehaviourStore).maxKeys).toBe(10);
    await store.close();
  });

  it('wraps Redis in a failover store', async () => {
    const store = createBehaviourStore(`redis://127.0.0.1:${await freePort()}/0`, { timeoutMs: 20 });
    expect(store).toBeInstanceOf(FailoverBehaviourStore);
    await store.close();
  });

  it('returns bare Redis without failover', async () => {
    const store = createBehaviourStore(`redis://127.0.0.1:${await freePort()}/3`, { noFailover: true, keyPrefix: 'x:' });
    expect(store).toBeInstanceOf(RedisBehaviourStore);
    expect((store as RedisBehaviourStore).keyPrefix).toBe('x:');
    expect((store as RedisBehaviourStore).client.options.db).toBe(3);
    await store.close();
  });

  it('returns a store object as it is', () => {
    const custom: BehaviourStore = new MemoryBehaviourStore({ maxKeys: 1 });
    expect(createBehaviourStore(custom)).toBe(custom);
  });

  it.each([
    ['', /unknown store type/],
    ['Memory', /unknown store type/],
    ['memcached://127.0.0.1', /unknown store type/],
    ['redis://', /not a valid URL|host is missing/],
    ['redis:///0', /host is missing/],
    ['redis://127.0.0.1:port', /not a valid URL/],
    ['redis://127.0.0.1:70000', /not a valid URL|invalid port/],
    ['redis://127.0.0.1:6379/abc', /invalid database "abc"/],
    ['redis://127.0.0.1:6379/-1', /invalid database/],
    ['redis://127.0.0.1:6379/1/2', /invalid database/],
    ['redis://127.0.0.1:6379/0?timeout=5', /query strings/],
    ['redis://127.0.0.1:6379/0#x', /query strings/],
    ['redis:127.0.0.1', /host is missing|not a valid URL/],
  ])('rejects %j', (spec, message) => {
    expect(() => createBehaviourStore(spec)).toThrow(BehaviourStoreSpecError);
    expect(() => createBehaviourStore(spec)).toThrow(message);
  });

  it('hides the password in errors', () => {
    let caught: unknown;
    try {
      createBehaviourStore('redis://user:hunter2@127.0.0.1:6379/x');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BehaviourStoreSpecError);
    const error = caught as BehaviourStoreSpecError;
    expect(error.message).not.toContain('hunter2');
    expect(error.input).toBe('redis://user:***@127.0.0.1:6379/x');
    expect(error.code).toBe('SPAMWARD_BEHAVIOUR_STORE_SPEC_INVALID');
  });

  it('hides a password containing @', () => {
    expect(() => createBehaviourStore('redis://user:p@ss@127.0.0.1:6379/x')).toThrow(/redis:\/\/user:\*\*\*@127\.0\.0\.1:6379\/x/);
  });

  it.each([null, undefined, 42, {}, { observe: () => undefined }])('rejects the value %j', (spec) => {
    expect(() => createBehaviourStore(spec as unknown as string)).toThrow(BehaviourStoreSpecError);
  });

  it('rejects invalid options', () => {
    expect(() => createBehaviourStore('memory', { maxKeys: -5 })).toThrow(OptionsError);
    expect(() => createBehaviourStore('redis://127.0.0.1:1/0', { timeoutMs: 0 })).toThrow(OptionsError);
    expect(() => createBehaviourStore('redis://127.0.0.1:1/0', { retryAfterMs: 0 })).toThrow(OptionsError);
    expect(() => createBehaviourStore('redis://127.0.0.1:1/0', { keyPrefix: '{x}' })).toThrow(OptionsError);
  });
});
