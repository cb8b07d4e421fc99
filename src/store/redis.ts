/**
 * Behaviour store in Redis, shared by every gateway that points at the same
 * server. Each observe() call, pending writes included, is one pipeline of
 * one script call per behaviour key, so one round trip.
 */

import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { OptionsError, describeError } from '../errors.js';
import { Deadlines } from './deadlines.js';
import { BehaviourStoreError, BehaviourStoreTimeoutError, BehaviourStoreUnavailableError } from './errors.js';
import {
  checkLabel,
  integerOption,
  normaliseCall,
  normaliseEvent,
  resolveStoreLimits,
  type NormalisedPendingWrite,
  type StoreLimits,
} from './input.js';
import { DEFAULT_TTL_MS } from './memory.js';
import { luaScript, sendScriptCalls, type ScriptCall } from './redis-calls.js';
import { INCREMENT_SCRIPT, OBSERVE_SCRIPT, REPORT_FIELDS, VERDICT_FIELDS } from './redis-script.js';
import type { BehaviourEvent, BehaviourLabel, BehaviourStore, Clock, KeyStats, ObserveResult, WriteResult } from './types.js';

export const DEFAULT_KEY_PREFIX = 'spamward:';
/** Default `timeoutMs`: a scoring call waits at most this long for Redis. */
export const DEFAULT_TIMEOUT_MS = 50;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 2000;

/**
 * Milliseconds ioredis waits for a closing socket before destroying it. Kept
 * short because close() waits this long when the client was reconnecting.
 */
const DISCONNECT_TIMEOUT_MS = 20;
/** The scripts and their digests. The digests are computed once, when the module loads. */
const OBSERVE = luaScript(OBSERVE_SCRIPT);
const INCREMENT = luaScript(INCREMENT_SCRIPT);
/** Number of Redis keys each script call passes (stats hash, recipient HyperLogLog), as EVALSHA's numkeys. */
const KEYS_PER_CALL = '2';
const STATS_REPLY_LENGTH = 9;
/** Statuses of an ioredis client that is connecting and may become ready soon. */
const CONNECTING_STATUSES = new Set(['wait', 'connecting', 'connect']);

export interface RedisBehaviourStoreOptions extends Partial<StoreLimits> {
  /**
   * Connection options for the client the store creates (host, port, db,
   * username, password, tls...). The store overrides the options that could
   * make a call wait: `enableOfflineQueue: false`, `maxRetriesPerRequest: 0`,
   * `autoResendUnfulfilledCommands: false`, and sets `connectTimeout` and
   * `retryStrategy` from the options below.
   */
  redis?: RedisOptions;
  /** Prefix of every Redis key the store writes. Must not contain `{` or `}`. Default `spamward:`. */
  keyPrefix?: string;
  /** Milliseconds a key lives after its last write (set with PEXPIRE on each write). Default 7 days. */
  ttlMs?: number;
  /** Milliseconds a call may take, waiting for a connection included, before it rejects. Default 50. */
  timeoutMs?: number;
  /** Milliseconds to establish a TCP connection before the attempt is abandoned and retried; also the longest wait in close(). Default 1000. */
  connectTimeoutMs?: number;
  /** Maximum delay in milliseconds between reconnection attempts (they back off from 100 ms). Default 2000. */
  reconnectMaxDelayMs?: number;
  /** Time source used when a call passes no `now`. Default `Date.now`. */
  clock?: Clock;
}

interface ReadyWaiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Characters that `escapeTag` escapes. */
const NEEDS_ESCAPE = /[%{}]/;

/** Escapes the characters that would change the hash tag of a Redis key name. */
function escapeTag(key: string): string {
  return key.replace(/[%{}]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Returns a 72-bit digest of a recipient address, so addresses never reach
 * Redis (or its MONITOR and SLOWLOG output) and commands stay short.
 */
export function recipientDigest(address: string): string {
  return createHash('sha1').update(address).digest('base64').slice(0, 12);
}

/**
 * Sums the counter increments of pending writes by behaviour key, then by
 * hash field, keeping the order in which keys first appear.
 */
function sumIncrements(writes: readonly NormalisedPendingWrite[]): Map<string, Map<string, number>> {
  const increments = new Map<string, Map<string, number>>();
  for (const write of writes) {
    const fields: string[] = [];
    if (write.verdict !== undefined) fields.push(VERDICT_FIELDS[write.verdict]);
    if (write.report !== undefined) fields.push(REPORT_FIELDS[write.report]);
    for (const key of write.keys) {
      let byField = increments.get(key);
      if (byField === undefined) {
        byField = new Map();
        increments.set(key, byField);
      }
      for (const field of fields) byField.set(field, (byField.get(field) ?? 0) + 1);
    }
  }
  return increments;
}

/** Appends field increments to script arguments as the field, amount pairs the scripts take. */
function appendIncrements(args: string[], byField: ReadonlyMap<string, number> | undefined): void {
  if (byField === undefined) return;
  for (const [field, amount] of byField) args.push(field, String(amount));
}

function toCount(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function parseStats(reply: unknown, nowMs: number): KeyStats | null {
  if (!Array.isArray(reply) || reply.length !== STATS_REPLY_LENGTH) return null;
  const [count1m, count1h, count24h, firstSeen, distinct, ham, spam, spamReports, hamReports] = reply as unknown[];
  const first = typeof firstSeen === 'number' && firstSeen >= 0 ? firstSeen : null;
  return {
    count1m: toCount(count1m),
    count1h: toCount(count1h),
    count24h: toCount(count24h),
    firstSeenAgeSeconds: first === null ? null : Math.max(0, Math.floor((nowMs - first) / 1000)),
    distinctRecipients: toCount(distinct),
    hamVerdicts: toCount(ham),
    spamVerdicts: toCount(spam),
    spamReports: toCount(spamReports),
    hamReports: toCount(hamReports),
  };
}

/**
 * Keeps behaviour stats in Redis. Every call is one pipeline of script calls
 * (EVALSHA, or EVAL for the first call of a script on a connection), one per
 * behaviour key. For observe(), the pipeline first contains one call of
 * `INCREMENT_SCRIPT` per pending key that the call does not observe, then one
 * call of `OBSERVE_SCRIPT` per observed key, which applies that key's own
 * pending increments before it reads. recordVerdict() and recordReport() send
 * `INCREMENT_SCRIPT` calls. Calls reject with a BehaviourStoreError subclass
 * when Redis is down, slow (past `timeoutMs`) or returns an error. Wrap the
 * store in FailoverBehaviourStore to fall back to memory instead.
 *
 * A pipeline is not a transaction. When observe() rejects, Redis may have
 * applied none, some or all of its pending writes: a timed-out pipeline may
 * still run in full, and one that failed on an error reply ran the commands
 * around it. Calling again with the same pending writes may count them twice.
 *
 * Redis Cluster: the two Redis keys of one behaviour key share a hash tag,
 * so each script call stays in one slot. The behaviour keys of one message
 * fall in different slots, which is why each gets its own script call
 * instead of one script over all of them.
 * NOTE: only a standalone server connection is implemented. With a Cluster
 * client, the pipeline would have to be split into one pipeline per node.
 */
export class RedisBehaviourStore implements BehaviourStore {
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  private readonly clock: Clock;
  /** `ttlMs` as the decimal string the scripts take. */
  private readonly ttlText: string;
  private readonly limits: StoreLimits;
  private readonly waiters = new Set<ReadyWaiter>();
  private readonly deadlines: Deadlines;
  private readyCount = 0;
  private lastError = '';
  private closed = false;

  constructor(options: RedisBehaviourStoreOptions = {}) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
    if (typeof this.keyPrefix !== 'string' || /[{}]/.test(this.keyPrefix)) {
      throw new OptionsError(`Invalid option keyPrefix: ${JSON.stringify(this.keyPrefix)} must be a string without "{" or "}", which would change the cluster hash tag.`, {
        input: 'keyPrefix',
      });
    }
    this.ttlMs = integerOption('ttlMs', options.ttlMs, DEFAULT_TTL_MS);
    this.ttlText = String(this.ttlMs);
    this.timeoutMs = integerOption('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.connectTimeoutMs = integerOption('connectTimeoutMs', options.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS);
    const maxDelay = integerOption('reconnectMaxDelayMs', options.reconnectMaxDelayMs, DEFAULT_RECONNECT_MAX_DELAY_MS);
    this.clock = options.clock ?? Date.now;
    this.limits = resolveStoreLimits(options);

    this.client = new Redis({
      ...options.redis,
      lazyConnect: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableAutoPipelining: false,
      connectTimeout: this.connectTimeoutMs,
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, maxDelay),
    });
    this.deadlines = new Deadlines(this.timeoutMs);
    // ioredis reports every failed connection attempt here; the failover store logs the outage once.
    this.client.on('error', (error: unknown) => {
      this.lastError = describeError(error);
    });
    this.client.on('ready', () => {
      this.readyCount += 1;
      for (const waiter of this.waiters) waiter.resolve();
    });
    this.client.on('end', () => {
      const error = new BehaviourStoreUnavailableError('The Redis connection was closed.');
      for (const waiter of this.waiters) waiter.reject(error);
    });
  }

  /** Whether the connection is ready for commands now. */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Number of times the connection became ready; it grows on each successful reconnection. */
  get connectionGeneration(): number {
    return this.readyCount;
  }

  /** Returns the two Redis key names of a behaviour key. */
  redisKeys(key: string): { stats: string; recipients: string } {
    const [stats, recipients] = this.redisKeyPair(key);
    return { stats, recipients };
  }

  async observe(keys: readonly string[], event: BehaviourEvent): Promise<ObserveResult> {
    const call = normaliseEvent(keys, event, this.clock, this.limits);
    const increments = sumIncrements(call.pending);
    const observed = new Set(call.keys);
    // Pending writes to keys this call does not observe go first, so every
    // pending write is applied before any observe script reads.
    const calls: ScriptCall[] = [];
    for (const [key, byField] of increments) {
      if (!observed.has(key)) calls.push(this.incrementCall(key, byField));
    }
    const pendingCount = calls.length;
    if (call.keys.length === 0 && pendingCount === 0) return { stats: {}, degraded: call.degraded };
    const digests = call.recipients.map(recipientDigest);
    const verdictField = call.verdict === undefined ? '' : VERDICT_FIELDS[call.verdict];
    const now = String(call.nowMs);
    for (const key of call.keys) {
      const own = increments.get(key);
      const args = [KEYS_PER_CALL, ...this.redisKeyPair(key), now, this.ttlText, verdictField, String(own === undefined ? 0 : own.size)];
      appendIncrements(args, own);
      for (const digest of digests) args.push(digest);
      calls.push({ script: OBSERVE, args });
    }
    const replies = await this.execute(calls, 'observe');
    const stats: Record<string, KeyStats> = {};
    call.keys.forEach((key, position) => {
      const parsed = parseStats(replies[pendingCount + position], call.nowMs);
      if (parsed === null) {
        throw new BehaviourStoreError(`Redis returned an unexpected reply to the observe script for key ${JSON.stringify(key)}.`, { input: key });
      }
      stats[key] = parsed;
    });
    return { stats, degraded: call.degraded };
  }

  recordVerdict(keys: readonly string[], verdict: BehaviourLabel, now?: number): Promise<WriteResult> {
    return this.countLabel(keys, verdict, now, 'verdict');
  }

  recordReport(keys: readonly string[], label: BehaviourLabel, now?: number): Promise<WriteResult> {
    return this.countLabel(keys, label, now, 'report label');
  }

  /**
   * Sends QUIT (waiting at most `timeoutMs`), then closes the socket, stops
   * reconnecting, and waits at most `connectTimeoutMs` for the connection to
   * end, so no socket or timer of the store keeps the process alive. Never rejects.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') {
      const quit = this.client.quit();
      quit.catch(() => undefined);
      await this.settleWithin(quit, this.timeoutMs);
    }
    const status = this.client.status;
    if (status !== 'end') {
      const hasSocket = CONNECTING_STATUSES.has(status) || status === 'ready';
      const ended = new Promise<void>((resolve) => this.client.once('end', () => resolve()));
      this.client.disconnect(false);
      if (hasSocket) {
        await this.settleWithin(ended, this.connectTimeoutMs);
      } else {
        // A client waiting to reconnect emits no 'end'. ioredis 5.11 still starts a
        // `disconnectTimeout` timer for its old, already closed socket, so wait for it to fire.
        await new Promise((resolve) => setTimeout(resolve, DISCONNECT_TIMEOUT_MS + 5));
      }
    }
    const error = new BehaviourStoreUnavailableError('The Redis behaviour store is closed.');
    for (const waiter of this.waiters) waiter.reject(error);
    this.deadlines.close();
  }

  private async countLabel(keys: readonly string[], label: BehaviourLabel, now: number | undefined, kind: 'verdict' | 'report label'): Promise<WriteResult> {
    const call = normaliseCall(keys, now, this.clock, this.limits);
    const invalid = checkLabel(label, kind);
    if (invalid !== null) return { degraded: [...call.degraded, invalid] };
    if (call.keys.length === 0) return { degraded: call.degraded };
    const field = kind === 'verdict' ? VERDICT_FIELDS[label] : REPORT_FIELDS[label];
    const calls = call.keys.map((key) => this.incrementCall(key, new Map([[field, 1]])));
    await this.execute(calls, kind === 'verdict' ? 'recordVerdict' : 'recordReport');
    return { degraded: call.degraded };
  }

  /** Returns the stats hash and recipient HyperLogLog names of a behaviour key. */
  private redisKeyPair(key: string): [string, string] {
    const tag = NEEDS_ESCAPE.test(key) ? escapeTag(key) : key;
    const base = `${this.keyPrefix}{${tag}}`;
    return [`${base}:s`, `${base}:r`];
  }

  /** Returns the script call that adds the increments to one key's hash fields and restarts the TTL of both its Redis keys. */
  private incrementCall(key: string, byField: ReadonlyMap<string, number>): ScriptCall {
    const args = [KEYS_PER_CALL, ...this.redisKeyPair(key), this.ttlText];
    appendIncrements(args, byField);
    return { script: INCREMENT, args };
  }

  /**
   * Sends the script calls in one round trip and returns their replies, or
   * rejects with a BehaviourStoreError subclass. Waiting for a connection
   * that is still being established counts against the same `timeoutMs`.
   * The timeout comes from the store's shared `Deadlines` timer, not from a
   * timer per call.
   */
  private execute(calls: ScriptCall[], operation: string): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new BehaviourStoreUnavailableError('The Redis behaviour store is closed.'));
    return new Promise<unknown[]>((resolve, reject) => {
      let settled = false;
      let waiter: ReadyWaiter | undefined;
      const finish = (error: Error | null, replies: unknown[]): void => {
        if (settled) return;
        settled = true;
        this.deadlines.remove(deadline);
        if (waiter !== undefined) this.waiters.delete(waiter);
        if (error === null) resolve(replies);
        else reject(error);
      };
      const deadline = this.deadlines.add((reason) => {
        const error =
          reason === 'timeout'
            ? new BehaviourStoreTimeoutError(`Redis ${operation} timed out after ${this.timeoutMs} ms.`)
            : new BehaviourStoreUnavailableError(`Redis ${operation} failed: the behaviour store was closed.`);
        finish(error, []);
      });
      const send = (): void => {
        if (settled) return;
        if (this.client.status !== 'ready') {
          finish(new BehaviourStoreUnavailableError(`Redis ${operation} failed: the connection is ${this.client.status}.`), []);
          return;
        }
        void sendScriptCalls(this.client, calls).then((replies) => {
          const failed = replies.find((reply): reply is Error => reply instanceof Error);
          finish(failed === undefined ? null : this.classify(failed, operation), replies);
        });
      };
      if (this.client.status === 'ready') {
        send();
        return;
      }
      const ready = this.waitUntilReady();
      waiter = ready.waiter;
      ready.promise.then(send, (error: unknown) => finish(error instanceof Error ? error : new Error(String(error)), []));
    });
  }

  /** Returns a promise that settles when the connection becomes ready or fails, and its waiter for removal. */
  private waitUntilReady(): { promise: Promise<void>; waiter?: ReadyWaiter } {
    const status = this.client.status;
    if (status === 'ready') return { promise: Promise.resolve() };
    if (!CONNECTING_STATUSES.has(status)) {
      const detail = this.lastError === '' ? '' : ` (last error: ${this.lastError})`;
      return { promise: Promise.reject(new BehaviourStoreUnavailableError(`Redis is not connected: the connection is ${status}${detail}.`)) };
    }
    if (status === 'wait') this.client.connect().catch(() => undefined);
    let waiter: ReadyWaiter | undefined;
    const promise = new Promise<void>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.add(waiter);
    });
    return { promise, waiter };
  }

  /** Waits for `promise` to settle, or `limitMs` at most; never rejects. */
  private async settleWithin(promise: Promise<unknown>, limitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, limitMs);
    });
    try {
      await Promise.race([promise.then(() => undefined, () => undefined), limit]);
    } finally {
      clearTimeout(timer);
    }
  }

  private classify(error: Error, operation: string): BehaviourStoreError {
    const message = `Redis ${operation} failed: ${error.message}`;
    if (/enableOfflineQueue|Connection is closed|writeable|ECONNRESET|EPIPE/i.test(error.message)) {
      return new BehaviourStoreUnavailableError(message, { cause: error });
    }
    return new BehaviourStoreError(message, { cause: error });
  }
}
