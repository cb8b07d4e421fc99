/** The contract shared by every behaviour store, and the records it returns. */

/** Verdict or user report label that the stores count. `suspect` verdicts are not counted. */
export type BehaviourLabel = 'ham' | 'spam';

/** History of one behaviour key as it was before the current message. */
export interface KeyStats {
  /** Messages seen in the last minute (10-second buckets, so the window spans 50 to 60 s). */
  count1m: number;
  /** Messages seen in the last hour (5-minute buckets, so the window spans 55 to 60 min). */
  count1h: number;
  /** Messages seen in the last 24 hours (1-hour buckets, so the window spans 23 to 24 h). */
  count24h: number;
  /** Whole seconds since the key was first seen, or null for a key never seen (or expired). */
  firstSeenAgeSeconds: number | null;
  /** Estimated number of distinct recipient addresses the key has sent to. */
  distinctRecipients: number;
  hamVerdicts: number;
  spamVerdicts: number;
  spamReports: number;
  hamReports: number;
}

/**
 * A verdict and/or user report for the keys of an earlier message, written
 * along with an observe() call instead of by a separate recordVerdict() or
 * recordReport() call. Each part is checked and counted exactly as those
 * methods would count it.
 */
export interface PendingWrite {
  /** Behaviour keys to count the labels for, checked like the keys of recordVerdict(). */
  keys: readonly string[];
  /** Verdict to count, as recordVerdict() does. */
  verdict?: BehaviourLabel;
  /** User report to count, as recordReport() does. */
  report?: BehaviourLabel;
  /** Time of the write in milliseconds since the Unix epoch. Defaults to the store's clock. */
  now?: number;
}

/** One message seen by the gateway. */
export interface BehaviourEvent {
  /** Time of the message in milliseconds since the Unix epoch. Defaults to the store's clock. */
  now?: number;
  /** Envelope recipients (RCPT TO). Compared case-insensitively. */
  recipients: readonly string[];
  /** Verdict to count along with the message, when it is already known. */
  verdict?: BehaviourLabel;
  /**
   * Writes left over from earlier messages, usually the verdict of the
   * previous message, which the scorer only knows after its observe() call.
   * They are applied in order, before this message's keys are read, so a
   * key's stats include its own earlier verdicts. Each store limits them to
   * `maxPendingWritesPerCall` (default 64) per call, and drops and reports
   * the rest in `degraded`.
   */
  pending?: readonly PendingWrite[];
}

export interface ObserveResult {
  /** Stats per accepted key, from before this message. Rejected keys are absent. */
  stats: Record<string, KeyStats>;
  /**
   * Problems of this call (input dropped, fallback used), each as
   * `behaviour-store: reason` like `ScoreResult.degraded`. Empty when the
   * call was served in full.
   */
  degraded: string[];
}

export interface WriteResult {
  /** Same form as `ObserveResult.degraded`. */
  degraded: string[];
}

/**
 * Sender-behaviour history shared by the gateways of a cluster. Each method
 * takes the behaviour keys of one message (see `behaviourKeys`).
 */
export interface BehaviourStore {
  /**
   * Applies `event.pending`, then returns the stats of each key as they were
   * before this message, and records the message, all in one operation (one
   * round trip for Redis). When the call rejects or times out, its pending
   * writes may or may not have been applied; see each store for details.
   */
  observe(keys: readonly string[], event: BehaviourEvent): Promise<ObserveResult>;
  /** Counts a verdict for each key, such as the scorer's final verdict. */
  recordVerdict(keys: readonly string[], verdict: BehaviourLabel, now?: number): Promise<WriteResult>;
  /** Counts a user report (a message marked as spam or as not spam) for each key. */
  recordReport(keys: readonly string[], label: BehaviourLabel, now?: number): Promise<WriteResult>;
  /** Releases connections and timers. Later calls are served as degraded or rejected, depending on the store. */
  close(): Promise<void>;
}

/** Logger for store state changes. `console` fits, and so do pino and winston loggers. */
export interface BehaviourStoreLogger {
  warn(message: string): void;
  info?(message: string): void;
}

/** Returns the current time in milliseconds since the Unix epoch. */
export type Clock = () => number;
