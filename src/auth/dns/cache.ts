/**
 * The answer cache: positive and negative answers with clamped TTLs, kept
 * past expiry for serve-stale (RFC 8767), bounded by entry count and
 * estimated size on lru-cache. Failures are remembered apart, for a short
 * fixed time.
 */

import { LRUCache } from 'lru-cache';
import type { ResponseReading } from './records.js';
import type { DnsFailure, DnsRecordsByType, DnsRecordType } from './types.js';

/** Estimated bytes of one entry besides its record data: key, timestamps, object headers. */
const ENTRY_OVERHEAD_BYTES = 128;

/** An answer as the cache stores it, without the per-read fields (ttl, stale, cached). */
export type CachedAnswer =
  | { status: 'ok'; records: DnsRecordsByType[DnsRecordType]; resolver: string }
  | { status: 'nxdomain' | 'nodata'; resolver: string };

interface CacheEntry {
  answer: CachedAnswer;
  /** Epoch milliseconds when the entry stops being fresh. */
  expiresAt: number;
  /** Epoch milliseconds after which the entry may no longer be served stale. */
  staleUntil: number;
}

interface FailureEntry {
  failure: DnsFailure;
  /** Epoch milliseconds until which the failure is returned without asking again. */
  until: number;
}

/** A cache read: a fresh entry with its remaining TTL in seconds, or an expired one still inside the stale window. */
export type CacheRead = { fresh: true; answer: CachedAnswer; ttl: number } | { fresh: false; answer: CachedAnswer };

export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
  serveStaleMs: number;
  minTtlSeconds: number;
  maxTtlSeconds: number;
  negativeMinTtlSeconds: number;
  negativeMaxTtlSeconds: number;
  /** Milliseconds a failure is remembered; 0 remembers none. */
  failureCacheMs: number;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function estimateBytes(entry: CacheEntry): number {
  return ENTRY_OVERHEAD_BYTES + JSON.stringify(entry.answer).length;
}

/** Returns the key of a question: the type and the lower-case name. */
export function cacheKey(name: string, type: DnsRecordType): string {
  return `${type} ${name.toLowerCase()}`;
}

export class DnsCache {
  readonly #limits: CacheLimits;
  readonly #entries: LRUCache<string, CacheEntry>;
  readonly #failures: LRUCache<string, FailureEntry>;

  constructor(limits: CacheLimits) {
    this.#limits = limits;
    // Expiry is checked here against Date.now() rather than with lru-cache's
    // own TTLs, because an expired entry must stay readable for serve-stale.
    this.#entries = new LRUCache<string, CacheEntry>({
      max: limits.maxEntries,
      maxSize: limits.maxBytes,
      sizeCalculation: estimateBytes,
    });
    this.#failures = new LRUCache<string, FailureEntry>({ max: limits.maxEntries });
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Returns the TTL in seconds that an answer is cached for: a positive TTL
   * clamped to [minTtlSeconds, maxTtlSeconds]; a negative TTL from the SOA
   * clamped to [negativeMinTtlSeconds, negativeMaxTtlSeconds], or
   * negativeMinTtlSeconds when the answer has no SOA.
   */
  ttlFor(reading: Exclude<ResponseReading, { kind: 'failure' }>): number {
    const limits = this.#limits;
    if (reading.kind === 'records') return clamp(reading.ttl, limits.minTtlSeconds, limits.maxTtlSeconds);
    if (reading.ttl === null) return limits.negativeMinTtlSeconds;
    return clamp(reading.ttl, limits.negativeMinTtlSeconds, limits.negativeMaxTtlSeconds);
  }

  /** Reads an entry; drops it and returns undefined once it is past its stale window. */
  get(key: string, now: number): CacheRead | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.expiresAt) {
      return { fresh: true, answer: entry.answer, ttl: Math.ceil((entry.expiresAt - now) / 1000) };
    }
    if (now < entry.staleUntil) return { fresh: false, answer: entry.answer };
    this.#entries.delete(key);
    return undefined;
  }

  /** Stores an answer for `ttlSeconds`; an entry larger than `maxBytes` is not stored. */
  set(key: string, answer: CachedAnswer, ttlSeconds: number, now: number): void {
    const expiresAt = now + ttlSeconds * 1000;
    this.#failures.delete(key);
    this.#entries.set(key, { answer, expiresAt, staleUntil: expiresAt + this.#limits.serveStaleMs });
  }

  /** Returns the failure remembered for a key, or undefined when there is none or it is too old. */
  getFailure(key: string, now: number): DnsFailure | undefined {
    const entry = this.#failures.get(key);
    if (entry === undefined) return undefined;
    if (now < entry.until) return entry.failure;
    this.#failures.delete(key);
    return undefined;
  }

  /** Remembers a failure for `failureCacheMs`; an answer stored later for the key replaces it. */
  setFailure(key: string, failure: DnsFailure, now: number): void {
    if (this.#limits.failureCacheMs <= 0) return;
    const reason = `an earlier lookup failed within the last ${this.#limits.failureCacheMs} ms: ${failure.reason}`;
    this.#failures.set(key, { failure: { status: failure.status, reason }, until: now + this.#limits.failureCacheMs });
  }

  clear(): void {
    this.#entries.clear();
    this.#failures.clear();
  }
}
