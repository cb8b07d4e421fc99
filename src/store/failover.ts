/**
 * A store that serves from a primary (Redis) and falls back to memory
 * while the primary is down or slow, so a scoring call never fails on it
 * and waits at most the primary's timeout.
 */

import { describeError } from '../errors.js';
import { BehaviourStoreTimeoutError } from './errors.js';
import { integerOption } from './input.js';
import { MemoryBehaviourStore } from './memory.js';
import type { BehaviourEvent, BehaviourLabel, BehaviourStore, BehaviourStoreLogger, ObserveResult, WriteResult } from './types.js';

/** Default `retryAfterMs`: how long to serve from memory after a failure before trying the primary again. */
export const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * A primary store, with the connection state that `RedisBehaviourStore`
 * exposes. Both properties are optional: without them the failover store
 * retries the primary every `retryAfterMs`.
 */
export interface FailoverPrimary extends BehaviourStore {
  /** False while the primary is known to be disconnected. */
  readonly ready?: boolean;
  /** Changes each time the primary reconnects. */
  readonly connectionGeneration?: number;
}

export interface FailoverBehaviourStoreOptions {
  /** Store used while the primary fails. Default: a new MemoryBehaviourStore with default options. */
  fallback?: BehaviourStore;
  /** Receives one warning when the primary fails and one info line when it is back. Default: no logging. */
  logger?: BehaviourStoreLogger;
  /** Milliseconds to serve from the fallback after a failure before the primary is tried again. Default 1000. */
  retryAfterMs?: number;
  /** Name of the primary in degraded entries and log lines. Default `redis`. */
  primaryName?: string;
  /**
   * Milliseconds a primary call may take before the fallback serves it.
   * Default: none, so the primary's own timeout applies (RedisBehaviourStore
   * has `timeoutMs`, 50 ms by default). Set it for a primary without one.
   */
  timeoutMs?: number;
  /** Monotonic time source for `retryAfterMs`, in milliseconds. Default `performance.now`. */
  monotonicClock?: () => number;
}

/** Returns the outage reason for a failed primary call, such as `redis timeout`. */
function failureReason(name: string, error: unknown): string {
  if (error instanceof BehaviourStoreTimeoutError) return `${name} timeout`;
  return `${name} unavailable`;
}

/**
 * Wraps a primary store with a fallback. While the primary works, calls go
 * to it. When a call fails or times out, that call and the following ones
 * are served by the fallback and flagged in `degraded` (for example
 * `behaviour-store: redis timeout, served from memory`), and the logger gets
 * one warning per outage. The primary is used again as soon as it has
 * reconnected (its `connectionGeneration` changed while `ready` is true),
 * or otherwise tried once every `retryAfterMs`.
 *
 * Never rejects: invalid input is reported in `degraded`, like in the other
 * stores. Messages recorded in the fallback during an outage are not copied
 * back to the primary.
 *
 * The pending writes of an observe() call go with the call to whichever
 * store serves it. When the primary fails or times out during the call, the
 * fallback gets them too, so they are never dropped without a degraded
 * entry. The primary may have applied them all the same: a Redis pipeline
 * that timed out may still run, and a primary without its own timeout keeps
 * running after the failover `timeoutMs`. Such writes are then counted in
 * both stores, once each.
 */
export class FailoverBehaviourStore implements BehaviourStore {
  private readonly fallback: BehaviourStore;
  private readonly logger: BehaviourStoreLogger | undefined;
  private readonly retryAfterMs: number;
  private readonly primaryName: string;
  private readonly monotonicClock: () => number;
  private readonly timeoutMs: number | undefined;
  /** Reason of the current outage, or null while the primary is in use. */
  private outage: string | null = null;
  private outageStartedAt = 0;
  private outageGeneration: number | undefined;
  private callsServedByFallback = 0;
  private retryAt = 0;
  private closed = false;

  constructor(
    private readonly primary: FailoverPrimary,
    options: FailoverBehaviourStoreOptions = {},
  ) {
    this.fallback = options.fallback ?? new MemoryBehaviourStore();
    this.logger = options.logger;
    this.retryAfterMs = integerOption('retryAfterMs', options.retryAfterMs, DEFAULT_RETRY_AFTER_MS);
    this.primaryName = options.primaryName ?? 'redis';
    this.monotonicClock = options.monotonicClock ?? (() => performance.now());
    this.timeoutMs = options.timeoutMs === undefined ? undefined : integerOption('timeoutMs', options.timeoutMs, 1);
  }

  /** Reason of the current outage (such as `redis timeout`), or null while the primary is in use. */
  get degradedReason(): string | null {
    return this.outage;
  }

  /** Serves the call, pending writes included, from the primary, or from the fallback when the primary fails or is skipped. */
  async observe(keys: readonly string[], event: BehaviourEvent): Promise<ObserveResult> {
    if (this.closed) return { stats: {}, degraded: ['behaviour-store: store is closed, nothing recorded'] };
    if (this.shouldTryPrimary()) {
      try {
        const result = await this.withinTimeout(this.primary.observe(keys, event));
        this.recovered();
        return result;
      } catch (error) {
        this.failed(error);
      }
    }
    this.callsServedByFallback += 1;
    try {
      const result = await this.fallback.observe(keys, event);
      return { stats: result.stats, degraded: [...result.degraded, this.degradedEntry()] };
    } catch (error) {
      return { stats: {}, degraded: [this.degradedEntry(), `behaviour-store: fallback failed: ${describeError(error)}`] };
    }
  }

  recordVerdict(keys: readonly string[], verdict: BehaviourLabel, now?: number): Promise<WriteResult> {
    return this.write((store) => store.recordVerdict(keys, verdict, now));
  }

  recordReport(keys: readonly string[], label: BehaviourLabel, now?: number): Promise<WriteResult> {
    return this.write((store) => store.recordReport(keys, label, now));
  }

  /** Closes the primary and the fallback. Never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Wrapped in async functions so that a close() that throws synchronously is caught too.
    await Promise.allSettled([(async () => this.primary.close())(), (async () => this.fallback.close())()]);
  }

  private async write(operation: (store: BehaviourStore) => Promise<WriteResult>): Promise<WriteResult> {
    if (this.closed) return { degraded: ['behaviour-store: store is closed, nothing recorded'] };
    if (this.shouldTryPrimary()) {
      try {
        const result = await this.withinTimeout(operation(this.primary));
        this.recovered();
        return result;
      } catch (error) {
        this.failed(error);
      }
    }
    this.callsServedByFallback += 1;
    try {
      const result = await operation(this.fallback);
      return { degraded: [...result.degraded, this.degradedEntry()] };
    } catch (error) {
      return { degraded: [this.degradedEntry(), `behaviour-store: fallback failed: ${describeError(error)}`] };
    }
  }

  /** Races a primary call against `timeoutMs`, when set; the timer is cleared either way. */
  private async withinTimeout<T>(promise: Promise<T>): Promise<T> {
    if (this.timeoutMs === undefined) return promise;
    promise.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BehaviourStoreTimeoutError(`The ${this.primaryName} call timed out after ${this.timeoutMs} ms.`)), this.timeoutMs);
    });
    try {
      return await Promise.race([promise, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private degradedEntry(): string {
    return `behaviour-store: ${this.outage ?? `${this.primaryName} unavailable`}, served from memory`;
  }

  private shouldTryPrimary(): boolean {
    if (this.outage === null) return true;
    if (this.primary.ready === false) return false;
    const generation = this.primary.connectionGeneration;
    if (this.primary.ready === true && generation !== undefined && generation !== this.outageGeneration) return true;
    const now = this.monotonicClock();
    if (now < this.retryAt) return false;
    // One call probes the primary, and the others keep using the fallback until it responds.
    this.retryAt = now + this.retryAfterMs;
    return true;
  }

  private failed(error: unknown): void {
    const reason = failureReason(this.primaryName, error);
    this.retryAt = this.monotonicClock() + this.retryAfterMs;
    this.outageGeneration = this.primary.connectionGeneration;
    if (this.outage !== null) {
      this.outage = reason;
      return;
    }
    this.outage = reason;
    this.outageStartedAt = this.monotonicClock();
    this.callsServedByFallback = 0;
    this.logger?.warn(`behaviour store: ${reason} (${describeError(error)}); serving from memory until ${this.primaryName} is back`);
  }

  private recovered(): void {
    if (this.outage === null) return;
    const seconds = ((this.monotonicClock() - this.outageStartedAt) / 1000).toFixed(1);
    const message = `behaviour store: ${this.primaryName} is back after ${seconds} s; ${this.callsServedByFallback} call(s) were served from memory`;
    this.outage = null;
    if (this.logger?.info) this.logger.info(message);
    else this.logger?.warn(message);
  }
}
