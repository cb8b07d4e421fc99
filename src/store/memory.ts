/**
 * In-process behaviour store: the default for a single gateway, and the
 * fallback of the Redis store. Its history is lost on restart and is not
 * shared between processes.
 */

import { LRUCache } from 'lru-cache';
import { BehaviourStoreError, BehaviourStoreUnavailableError } from './errors.js';
import {
  checkLabel,
  integerOption,
  normaliseCall,
  normaliseEvent,
  resolveStoreLimits,
  type NormalisedPendingWrite,
  type StoreLimits,
} from './input.js';
import {
  EXACT_RECIPIENTS,
  FIELD_FIRST_RECIPIENT,
  FIELD_FIRST_SEEN,
  FIELD_HAM_REPORTS,
  FIELD_HAM_VERDICTS,
  FIELD_LAST_SEEN,
  FIELD_RECIPIENT_COUNT,
  FIELD_SPAM_REPORTS,
  FIELD_SPAM_VERDICTS,
  IN_SKETCH,
  increment,
  readWindows,
  recordWindows,
  SlotPool,
  UNSET,
} from './memory-slots.js';
import { hashRecipient, SketchPool } from './recipients.js';
import type { BehaviourEvent, BehaviourLabel, BehaviourStore, Clock, KeyStats, ObserveResult, WriteResult } from './types.js';

export { EXACT_RECIPIENTS } from './memory-slots.js';

/**
 * Default `maxKeys`. A key uses 240 bytes of counters, 256 more bytes once
 * it has over 8 distinct recipients, and about 100 bytes of JavaScript heap
 * for its name and LRU entry. Measured with benchmarks/store.ts (`npm run
 * build && node --expose-gc dist/benchmarks/store.js`, Node 20.20, 2-core
 * Xeon): filling 200,000 keys grew the RSS by about 130 MB (to 192 MB for
 * the whole process), and by about 175 MB (to 238 MB) when every key had a
 * sketch. The growth includes free V8 heap kept after garbage collection.
 */
export const DEFAULT_MAX_KEYS = 200_000;
/** Default `ttlMs`: 7 days after the key's last message, verdict or report. */
export const DEFAULT_TTL_MS = 7 * 24 * 60 * 60 * 1000;

export interface MemoryBehaviourStoreOptions extends Partial<StoreLimits> {
  /** Maximum number of keys kept; the least recently used key is dropped first. Default `DEFAULT_MAX_KEYS` (200,000). */
  maxKeys?: number;
  /**
   * Milliseconds after a key's last write at which its history is dropped.
   * Default `DEFAULT_TTL_MS` (7 days). Checked at whole-second precision
   * when the key is next used; an expired key still counts towards `maxKeys`
   * until then or until it is evicted.
   */
  ttlMs?: number;
  /** Time source used when a call passes no `now`. Default `Date.now`. */
  clock?: Clock;
}

/** Returns the counter field of a verdict or of a user report. */
function labelField(kind: 'verdict' | 'report', label: BehaviourLabel): number {
  if (kind === 'verdict') return label === 'ham' ? FIELD_HAM_VERDICTS : FIELD_SPAM_VERDICTS;
  return label === 'ham' ? FIELD_HAM_REPORTS : FIELD_SPAM_REPORTS;
}

/**
 * Keeps behaviour stats in this process, bounded by `maxKeys` (least
 * recently used keys are evicted) and `ttlMs`. Never rejects, except after
 * `close()`. observe() applies its pending writes synchronously, before it
 * returns: a call that resolves has applied them all, and a call rejected
 * after `close()` has applied none. Stats match `RedisBehaviourStore` except that distinct
 * recipients above `EXACT_RECIPIENTS` (8) are estimated with a 256-register
 * HyperLogLog (about 6.5 % standard error) instead of Redis's (0.81 %).
 */
export class MemoryBehaviourStore implements BehaviourStore {
  readonly maxKeys: number;
  readonly ttlMs: number;
  private readonly clock: Clock;
  private readonly limits: StoreLimits;
  private readonly pool: SlotPool;
  private readonly sketches: SketchPool;
  private readonly slots: LRUCache<string, number>;
  private closed = false;

  constructor(options: MemoryBehaviourStoreOptions = {}) {
    this.maxKeys = integerOption('maxKeys', options.maxKeys, DEFAULT_MAX_KEYS);
    this.ttlMs = integerOption('ttlMs', options.ttlMs, DEFAULT_TTL_MS);
    this.clock = options.clock ?? Date.now;
    this.limits = resolveStoreLimits(options);
    this.pool = new SlotPool(this.maxKeys);
    this.sketches = new SketchPool(this.maxKeys);
    this.slots = new LRUCache<string, number>({
      max: this.maxKeys,
      dispose: (slot) => {
        this.releaseSketch(slot);
        this.pool.release(slot);
      },
    });
  }

  /** Number of keys held, expired ones included until they are used or evicted. */
  get size(): number {
    return this.slots.size;
  }

  observe(keys: readonly string[], event: BehaviourEvent): Promise<ObserveResult> {
    if (this.closed) return Promise.reject(this.closedError());
    const call = normaliseEvent(keys, event, this.clock, this.limits);
    for (const write of call.pending) this.applyPending(write);
    const hashes = call.recipients.map(hashRecipient);
    const stats: Record<string, KeyStats> = {};
    for (const key of call.keys) {
      const slot = this.slotFor(key, call.nowMs);
      stats[key] = this.readStats(slot, call.nowMs);
      this.recordMessage(slot, call.nowMs, hashes);
      if (call.verdict !== undefined) this.count(slot, call.verdict === 'ham' ? FIELD_HAM_VERDICTS : FIELD_SPAM_VERDICTS);
    }
    return Promise.resolve({ stats, degraded: call.degraded });
  }

  recordVerdict(keys: readonly string[], verdict: BehaviourLabel, now?: number): Promise<WriteResult> {
    return this.recordLabel(keys, verdict, now, 'verdict');
  }

  recordReport(keys: readonly string[], label: BehaviourLabel, now?: number): Promise<WriteResult> {
    return this.recordLabel(keys, label, now, 'report label');
  }

  close(): Promise<void> {
    this.closed = true;
    this.slots.clear();
    return Promise.resolve();
  }

  private closedError(): BehaviourStoreUnavailableError {
    return new BehaviourStoreUnavailableError('The memory behaviour store is closed: create a new store to record messages.');
  }

  private recordLabel(keys: readonly string[], label: BehaviourLabel, now: number | undefined, kind: 'verdict' | 'report label'): Promise<WriteResult> {
    if (this.closed) return Promise.reject(this.closedError());
    const call = normaliseCall(keys, now, this.clock, this.limits);
    const invalid = checkLabel(label, kind);
    if (invalid !== null) return Promise.resolve({ degraded: [...call.degraded, invalid] });
    this.countLabels(call.keys, call.nowMs, [labelField(kind === 'verdict' ? 'verdict' : 'report', label)]);
    return Promise.resolve({ degraded: call.degraded });
  }

  private applyPending(write: NormalisedPendingWrite): void {
    const fields: number[] = [];
    if (write.verdict !== undefined) fields.push(labelField('verdict', write.verdict));
    if (write.report !== undefined) fields.push(labelField('report', write.report));
    this.countLabels(write.keys, write.nowMs, fields);
  }

  /** Increments the given counter fields of each key and refreshes its last write time, which its TTL counts from. */
  private countLabels(keys: readonly string[], nowMs: number, fields: readonly number[]): void {
    for (const key of keys) {
      const slot = this.slotFor(key, nowMs);
      this.touch(slot, nowMs);
      for (const field of fields) this.count(slot, field);
    }
  }

  /** Returns the slot of a key, creating it (and evicting the least recently used key) or clearing it when expired. */
  private slotFor(key: string, nowMs: number): number {
    const existing = this.slots.get(key);
    if (existing !== undefined) {
      const lastSeen = this.pool.chunk(existing)[this.pool.base(existing) + FIELD_LAST_SEEN] ?? UNSET;
      if (lastSeen !== UNSET && nowMs >= (lastSeen + 1) * 1000 + this.ttlMs) {
        this.releaseSketch(existing);
        this.pool.clear(existing);
      }
      return existing;
    }
    let slot = this.pool.allocate();
    if (slot === null) {
      // Every slot is in use: evicting the least recently used key frees one.
      this.slots.pop();
      slot = this.pool.allocate();
    }
    if (slot === null) throw new BehaviourStoreError('The memory behaviour store found no free slot after evicting a key.');
    this.slots.set(key, slot);
    return slot;
  }

  private count(slot: number, field: number): void {
    increment(this.pool.chunk(slot), this.pool.base(slot) + field);
  }

  private touch(slot: number, nowMs: number): void {
    const data = this.pool.chunk(slot);
    const field = this.pool.base(slot) + FIELD_LAST_SEEN;
    const seconds = Math.floor(nowMs / 1000);
    const lastSeen = data[field] ?? UNSET;
    if (lastSeen === UNSET || seconds > lastSeen) data[field] = seconds;
  }

  private readStats(slot: number, nowMs: number): KeyStats {
    const data = this.pool.chunk(slot);
    const base = this.pool.base(slot);
    const [count1m = 0, count1h = 0, count24h = 0] = readWindows(data, base, nowMs);
    const firstSeen = data[base + FIELD_FIRST_SEEN] ?? UNSET;
    return {
      count1m,
      count1h,
      count24h,
      firstSeenAgeSeconds: firstSeen === UNSET ? null : Math.max(0, Math.floor(nowMs / 1000) - firstSeen),
      distinctRecipients: this.countRecipients(slot),
      hamVerdicts: data[base + FIELD_HAM_VERDICTS] ?? 0,
      spamVerdicts: data[base + FIELD_SPAM_VERDICTS] ?? 0,
      spamReports: data[base + FIELD_SPAM_REPORTS] ?? 0,
      hamReports: data[base + FIELD_HAM_REPORTS] ?? 0,
    };
  }

  private recordMessage(slot: number, nowMs: number, hashes: readonly number[]): void {
    const data = this.pool.chunk(slot);
    const base = this.pool.base(slot);
    const seconds = Math.floor(nowMs / 1000);
    const firstSeen = data[base + FIELD_FIRST_SEEN] ?? UNSET;
    if (firstSeen === UNSET || seconds < firstSeen) data[base + FIELD_FIRST_SEEN] = seconds;
    this.touch(slot, nowMs);
    recordWindows(data, base, nowMs);
    this.addRecipients(slot, hashes);
  }

  /** Adds recipient hashes: in the slot while they fit, then in a sketch. */
  private addRecipients(slot: number, hashes: readonly number[]): void {
    const data = this.pool.chunk(slot);
    const countField = this.pool.base(slot) + FIELD_RECIPIENT_COUNT;
    const first = this.pool.base(slot) + FIELD_FIRST_RECIPIENT;
    let count = data[countField] ?? 0;
    for (const hash of hashes) {
      if (count === IN_SKETCH) {
        this.sketches.add(data[first] ?? 0, hash);
        continue;
      }
      let seen = false;
      for (let stored = first; stored < first + count; stored += 1) seen ||= data[stored] === hash;
      if (seen) continue;
      if (count < EXACT_RECIPIENTS) {
        data[first + count] = hash;
        count += 1;
        continue;
      }
      // The slot is full: move its hashes into a sketch, whose index then takes the first field.
      const sketch = this.sketches.allocate();
      if (sketch === null) throw new BehaviourStoreError('The memory behaviour store has no free recipient sketch.');
      for (let stored = first; stored < first + count; stored += 1) this.sketches.add(sketch, data[stored] ?? 0);
      this.sketches.add(sketch, hash);
      data[first] = sketch;
      count = IN_SKETCH;
    }
    data[countField] = count;
  }

  private countRecipients(slot: number): number {
    const data = this.pool.chunk(slot);
    const base = this.pool.base(slot);
    const count = data[base + FIELD_RECIPIENT_COUNT] ?? 0;
    if (count !== IN_SKETCH) return count;
    // A key only gets a sketch past EXACT_RECIPIENTS, so the estimate never goes below that.
    return Math.max(this.sketches.estimate(data[base + FIELD_FIRST_RECIPIENT] ?? 0), EXACT_RECIPIENTS + 1);
  }

  private releaseSketch(slot: number): void {
    const data = this.pool.chunk(slot);
    const base = this.pool.base(slot);
    if (data[base + FIELD_RECIPIENT_COUNT] === IN_SKETCH) this.sketches.release(data[base + FIELD_FIRST_RECIPIENT] ?? 0);
    data[base + FIELD_RECIPIENT_COUNT] = 0;
  }
}
