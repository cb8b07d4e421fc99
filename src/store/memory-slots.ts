/**
 * Storage for the memory store: one fixed-size record ("slot") of 32-bit
 * counters per key, kept in chunks of one Uint32Array each, so a key costs
 * no object of its own and growing the store never copies old records.
 */

import { bucketIndex, TOTAL_BUCKETS, WINDOWS } from './windows.js';

/** Marks a time, window index or sketch field that was never set. */
export const UNSET = 0xffffffff;
const MAX_COUNT = 0xffffffff - 1;

/** Times are whole seconds since the Unix epoch. */
export const FIELD_FIRST_SEEN = 0;
export const FIELD_LAST_SEEN = 1;
export const FIELD_HAM_VERDICTS = 2;
export const FIELD_SPAM_VERDICTS = 3;
export const FIELD_SPAM_REPORTS = 4;
export const FIELD_HAM_REPORTS = 5;
/** Number of recipient hashes stored in the slot, or IN_SKETCH once they moved to a sketch. */
export const FIELD_RECIPIENT_COUNT = 6;
/** First of the inline recipient hashes. Once the count is IN_SKETCH, it stores the sketch index instead. */
export const FIELD_FIRST_RECIPIENT = 7;
/** Distinct recipients counted exactly (barring 32-bit hash collisions) before a key gets a sketch. */
export const EXACT_RECIPIENTS = 8;
export const IN_SKETCH = 0xffffffff;
const FIXED_FIELDS = FIELD_FIRST_RECIPIENT + EXACT_RECIPIENTS;
/** Per window: the index of its newest bucket, then its ring of bucket counts. */
const WINDOW_LAYOUT = WINDOWS.map((window, position) => {
  const bucketsBefore = WINDOWS.slice(0, position).reduce((sum, earlier) => sum + earlier.buckets, 0);
  return { window, lastIndexField: FIXED_FIELDS + position, firstBucketField: FIXED_FIELDS + WINDOWS.length + bucketsBefore };
});
/** Fields per slot: 60, so 240 bytes. */
export const SLOT_SIZE = FIXED_FIELDS + WINDOWS.length + TOTAL_BUCKETS;
/** Slots per chunk (2^12 = 4096, about 1 MB). */
const CHUNK_BITS = 12;
const CHUNK_MASK = (1 << CHUNK_BITS) - 1;

export function increment(data: Uint32Array, field: number): void {
  const value = data[field] ?? 0;
  if (value < MAX_COUNT) data[field] = value + 1;
}

/** Fixed-size slots in chunks that are allocated as needed, with a free list. */
export class SlotPool {
  private readonly chunks: Uint32Array[] = [];
  private used = 0;
  private readonly free: number[] = [];

  constructor(private readonly maxSlots: number) {}

  /** Returns a cleared slot number, or null when all `maxSlots` are in use. */
  allocate(): number | null {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used >= this.maxSlots) return null;
      slot = this.used;
      this.used += 1;
      if (slot >>> CHUNK_BITS >= this.chunks.length) {
        const slots = Math.min(CHUNK_MASK + 1, this.maxSlots - slot);
        this.chunks.push(new Uint32Array(slots * SLOT_SIZE));
      }
    }
    this.clear(slot);
    return slot;
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /** Returns the array that contains a slot. The slot's fields start at `base(slot)`. */
  chunk(slot: number): Uint32Array {
    const chunk = this.chunks[slot >>> CHUNK_BITS];
    if (chunk === undefined) throw new RangeError(`slot ${slot} was never allocated`);
    return chunk;
  }

  base(slot: number): number {
    return (slot & CHUNK_MASK) * SLOT_SIZE;
  }

  clear(slot: number): void {
    const data = this.chunk(slot);
    const base = this.base(slot);
    data.fill(0, base, base + SLOT_SIZE);
    data[base + FIELD_FIRST_SEEN] = UNSET;
    data[base + FIELD_LAST_SEEN] = UNSET;
    for (const { lastIndexField } of WINDOW_LAYOUT) data[base + lastIndexField] = UNSET;
  }
}

/**
 * Returns the window counts at `nowMs` in WINDOWS order: buckets newer than
 * `now - window`, including buckets ahead of this clock.
 */
export function readWindows(data: Uint32Array, base: number, nowMs: number): number[] {
  const counts: number[] = [];
  for (const { window, lastIndexField, firstBucketField } of WINDOW_LAYOUT) {
    const last = data[base + lastIndexField] ?? UNSET;
    let total = 0;
    if (last !== UNSET) {
      const oldest = Math.max(last, bucketIndex(window, nowMs)) - window.buckets + 1;
      // Bucket indices start at 0 (the Unix epoch), so negative ones do not exist.
      for (let index = Math.max(oldest, last - window.buckets + 1, 0); index <= last; index += 1) {
        total += data[base + firstBucketField + (index % window.buckets)] ?? 0;
      }
    }
    counts.push(total);
  }
  return counts;
}

/** Counts one message at `nowMs` in every window. A message older than a whole ring is not counted in that window. */
export function recordWindows(data: Uint32Array, base: number, nowMs: number): void {
  for (const { window, lastIndexField, firstBucketField } of WINDOW_LAYOUT) {
    const index = bucketIndex(window, nowMs);
    const last = data[base + lastIndexField] ?? UNSET;
    if (last === UNSET || index > last) {
      // Clear the buckets skipped since the last message, at most the whole ring.
      const from = last === UNSET ? index - window.buckets + 1 : Math.max(last + 1, index - window.buckets + 1);
      for (let skipped = Math.max(from, 0); skipped <= index; skipped += 1) {
        data[base + firstBucketField + (skipped % window.buckets)] = 0;
      }
      data[base + lastIndexField] = index;
    } else if (last - index >= window.buckets) {
      continue;
    }
    increment(data, base + firstBucketField + (index % window.buckets));
  }
}
