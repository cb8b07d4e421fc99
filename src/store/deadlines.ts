/**
 * Deadlines of in-flight store calls, all served by one timer. A Redis call
 * usually returns within a millisecond, far below its timeout, so arming and
 * clearing a timer per call would cost more than the call's own bookkeeping.
 */

/** Why a registered call ended without being removed: its time ran out, or `close()` was called. */
export type DeadlineReason = 'timeout' | 'closed';

/** A call registered with `Deadlines.add`. */
export interface DeadlineEntry {
  /** Value of the `now` clock at which the call times out, in milliseconds. */
  readonly expiresAt: number;
  readonly onExpire: (reason: DeadlineReason) => void;
}

/** Shortest delay the timer is re-armed with, in milliseconds, so expiring calls are swept in batches. */
const MIN_REARM_MS = 1;

/**
 * Times out registered calls `timeoutMs` after they were added. One timer is
 * armed while calls are registered. It stays armed after they complete and
 * stops when it fires with nothing left to time out, so a steady stream of
 * calls never clears and re-arms it. A call times out no earlier than
 * `timeoutMs` after it was added, and later only by the timer's own lateness.
 */
export class Deadlines {
  /** Entries in the order they were added, which is also the order of their `expiresAt`. */
  private readonly entries = new Set<DeadlineEntry>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Number of registered calls. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Registers a call. `onExpire` runs once, with `timeout` after `timeoutMs`
   * or with `closed` from `close()`, unless `remove` runs first.
   */
  add(onExpire: (reason: DeadlineReason) => void): DeadlineEntry {
    const entry: DeadlineEntry = { expiresAt: this.now() + this.timeoutMs, onExpire };
    this.entries.add(entry);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return entry;
  }

  /** Unregisters a call that completed. The timer stays armed until it fires, see the class comment. */
  remove(entry: DeadlineEntry): void {
    this.entries.delete(entry);
  }

  /** Clears the timer and ends every registered call with `closed`. Calls added later still get a timer. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const entries = [...this.entries];
    this.entries.clear();
    for (const entry of entries) entry.onExpire('closed');
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.sweep(), delayMs);
  }

  private sweep(): void {
    this.timer = undefined;
    const now = this.now();
    for (const entry of this.entries) {
      // Entries expire in insertion order, so the first one still running ends the sweep.
      if (entry.expiresAt > now) {
        this.arm(Math.max(MIN_REARM_MS, Math.ceil(entry.expiresAt - now)));
        return;
      }
      this.entries.delete(entry);
      entry.onExpire('timeout');
    }
  }
}
