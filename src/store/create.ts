/** Builds a behaviour store from a configuration string such as `memory` or `redis://127.0.0.1:6379/0`. */

import type { RedisOptions } from 'ioredis';
import { BehaviourStoreSpecError } from './errors.js';
import { DEFAULT_RETRY_AFTER_MS, FailoverBehaviourStore } from './failover.js';
import { integerOption, type StoreLimits } from './input.js';
import { MemoryBehaviourStore } from './memory.js';
import { RedisBehaviourStore } from './redis.js';
import type { BehaviourStore, BehaviourStoreLogger, Clock } from './types.js';

/** Highest database index accepted in a URL; Redis itself defaults to 16 databases. */
const MAX_DATABASE = 2_147_483_647;
const DEFAULT_REDIS_PORT = 6379;

export interface CreateBehaviourStoreOptions extends Partial<StoreLimits> {
  /** Memory store, and Redis fallback: maximum keys kept. Default 200,000. */
  maxKeys?: number;
  /** Milliseconds a key lives after its last write. Default 7 days. */
  ttlMs?: number;
  /** Redis: milliseconds a call may take before it is served from memory. Default 50. */
  timeoutMs?: number;
  /** Redis: prefix of every key written. Default `spamward:`. */
  keyPrefix?: string;
  /** Redis: milliseconds to establish a TCP connection. Default 1000. */
  connectTimeoutMs?: number;
  /** Redis: maximum delay between reconnection attempts, in milliseconds. Default 2000. */
  reconnectMaxDelayMs?: number;
  /** Redis: milliseconds to serve from memory after a failure before retrying Redis. Default 1000. */
  retryAfterMs?: number;
  /** Redis: return the bare RedisBehaviourStore, which rejects on failure, instead of the failover store. Default false. */
  noFailover?: boolean;
  /** Receives the failover warnings. Default: no logging. */
  logger?: BehaviourStoreLogger;
  /** Time source used when a call passes no `now`. Default `Date.now`. */
  clock?: Clock;
}

/** Parsed form of a `redis://` or `rediss://` URL. */
export interface RedisSpec {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** Returns the spec with any password replaced, for error messages. */
function redact(spec: string): string {
  return spec.replace(/^(rediss?:\/\/[^:@/]*:)[^/]*@/i, '$1***@');
}

function specError(spec: string, problem: string): BehaviourStoreSpecError {
  const redactedSpec = redact(spec);
  return new BehaviourStoreSpecError(
    `Invalid behaviour store ${JSON.stringify(redactedSpec)}: ${problem}. Expected "memory" or redis://[user:password@]host[:port][/db].`,
    { input: redactedSpec },
  );
}

function isStore(value: unknown): value is BehaviourStore {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['observe', 'recordVerdict', 'recordReport', 'close'].every((name) => typeof candidate[name] === 'function');
}

/** Parses `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). Throws BehaviourStoreSpecError. */
export function parseRedisUrl(spec: string): RedisSpec {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw specError(spec, 'not a valid URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw specError(spec, `unsupported scheme ${JSON.stringify(url.protocol)}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw specError(spec, 'the host is missing');
  if (url.search !== '' || url.hash !== '') throw specError(spec, 'query strings and fragments are not supported (pass options instead)');
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw specError(spec, `invalid port ${url.port}`);
  let db = 0;
  if (url.pathname !== '' && url.pathname !== '/') {
    const match = /^\/(0|[1-9]\d{0,9})$/.exec(url.pathname);
    db = match ? Number(match[1]) : Number.NaN;
    if (!Number.isInteger(db) || db > MAX_DATABASE) throw specError(spec, `invalid database ${JSON.stringify(url.pathname.slice(1))} (expected a number)`);
  }
  const parsed: RedisSpec = { host, port, db, tls: url.protocol === 'rediss:' };
  try {
    if (url.username !== '') parsed.username = decodeURIComponent(url.username);
    if (url.password !== '') parsed.password = decodeURIComponent(url.password);
  } catch {
    throw specError(spec, 'the user name or password is not valid percent-encoding');
  }
  return parsed;
}

/**
 * Creates a behaviour store:
 * - `'memory'`: a MemoryBehaviourStore;
 * - `'redis://host:port/db'` (or `rediss://` for TLS): a RedisBehaviourStore
 *   wrapped in a FailoverBehaviourStore that falls back to a
 *   MemoryBehaviourStore, unless `noFailover` is set;
 * - an object with the BehaviourStore methods: returned as it is.
 * Throws BehaviourStoreSpecError for anything else, and OptionsError for an
 * invalid option. No connection is attempted before the spec is valid.
 */
export function createBehaviourStore(spec: string | BehaviourStore, options: CreateBehaviourStoreOptions = {}): BehaviourStore {
  if (typeof spec !== 'string') {
    if (isStore(spec)) return spec;
    throw new BehaviourStoreSpecError(
      'Invalid behaviour store: expected "memory", a redis:// URL or an object with observe, recordVerdict, recordReport and close methods.',
      { input: typeof spec },
    );
  }
  const limits: Partial<StoreLimits> = {
    maxKeysPerCall: options.maxKeysPerCall,
    maxKeyLength: options.maxKeyLength,
    maxRecipientsPerEvent: options.maxRecipientsPerEvent,
    maxPendingWritesPerCall: options.maxPendingWritesPerCall,
  };
  const memoryOptions = { ...limits, maxKeys: options.maxKeys, ttlMs: options.ttlMs, clock: options.clock };
  if (spec === 'memory') return new MemoryBehaviourStore(memoryOptions);
  if (!/^rediss?:/i.test(spec)) throw specError(spec, 'unknown store type');

  const target = parseRedisUrl(spec);
  integerOption('retryAfterMs', options.retryAfterMs, DEFAULT_RETRY_AFTER_MS);
  const redis: RedisOptions = { host: target.host, port: target.port, db: target.db };
  if (target.username !== undefined) redis.username = target.username;
  if (target.password !== undefined) redis.password = target.password;
  if (target.tls) redis.tls = { servername: target.host };
  // Options are checked, and the fallback created, before the Redis client opens a connection.
  const fallback = options.noFailover === true ? null : new MemoryBehaviourStore(memoryOptions);
  const primary = new RedisBehaviourStore({
    ...limits,
    redis,
    keyPrefix: options.keyPrefix,
    ttlMs: options.ttlMs,
    timeoutMs: options.timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    reconnectMaxDelayMs: options.reconnectMaxDelayMs,
    clock: options.clock,
  });
  if (fallback === null) return primary;
  return new FailoverBehaviourStore(primary, { fallback, logger: options.logger, retryAfterMs: options.retryAfterMs });
}
