/**
 * Sliding-window counters as fixed rings of time buckets, so one key costs
 * the same memory however many messages it sends. The memory store and the
 * Redis script both follow these definitions.
 *
 * A window of `buckets` buckets of `bucketMs` each counts the current
 * bucket and the `buckets - 1` before it. Buckets newer than the reader's
 * clock (written by a gateway whose clock runs ahead) are counted too.
 */

export interface WindowSpec {
  /** Name of the stat in `KeyStats`. */
  stat: 'count1m' | 'count1h' | 'count24h';
  /** Field prefix in Redis hashes. */
  field: string;
  bucketMs: number;
  buckets: number;
}

export const WINDOWS: readonly WindowSpec[] = [
  { stat: 'count1m', field: 'm', bucketMs: 10_000, buckets: 6 },
  { stat: 'count1h', field: 'h', bucketMs: 300_000, buckets: 12 },
  { stat: 'count24h', field: 'd', bucketMs: 3_600_000, buckets: 24 },
];

/** Total number of buckets over all windows. */
export const TOTAL_BUCKETS = WINDOWS.reduce((sum, window) => sum + window.buckets, 0);

/** Index of the bucket that contains `nowMs`. */
export function bucketIndex(window: WindowSpec, nowMs: number): number {
  return Math.floor(nowMs / window.bucketMs);
}
