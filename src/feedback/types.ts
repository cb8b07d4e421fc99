/** Records of the feedback folder and the options and results of its store. */

/** The label an administrator gives a message the filter got wrong. */
export type FeedbackLabel = 'spam' | 'ham';

/** The labels in the order export and the CLI list them. */
export const FEEDBACK_LABELS: readonly FeedbackLabel[] = Object.freeze(['spam', 'ham']);

/** One report: one line of `index.jsonl`. */
export interface FeedbackReport {
  /** When the report was made, as an ISO 8601 string. */
  time: string;
  /** SHA-256 of the message bytes, lower-case hex. */
  sha256: string;
  label: FeedbackLabel;
  /** Reporter's reason for the label, or null. */
  reason: string | null;
  /** Reporter id, such as an administrator's login, or null. */
  reporter: string | null;
  /** Origin of the message, such as a path or `path:offset`, or null. */
  source: string | null;
  /** Message size in bytes. */
  size: number;
}

/** Optional details of one report. */
export interface FeedbackMeta {
  reason?: string;
  reporter?: string;
  source?: string;
  /** When the report was made. Default: now. */
  time?: Date | string;
}

/**
 * `new` when the message had no earlier report, `duplicate` when its latest
 * earlier report had the same label, `relabelled` when it had the other one.
 */
export type AddOutcome = 'new' | 'duplicate' | 'relabelled';

export interface AddResult {
  sha256: string;
  /** True when the message had been reported before; its copy is then not written again. */
  duplicate: boolean;
  /** The latest earlier label, or null for a new message. */
  previousLabel: FeedbackLabel | null;
  outcome: AddOutcome;
}

/**
 * State of a stored message copy: `ok`, `missing` (no file), `mismatch` (its
 * bytes no longer hash to its name, or with `verify: false` its size differs
 * from the reported size) or `unreadable` (the file exists but reading failed).
 */
export type CopyStatus = 'ok' | 'missing' | 'mismatch' | 'unreadable';

/** One reported message with all its reports, as list() and get() return it. */
export interface FeedbackEntry {
  sha256: string;
  /** The label of the latest report in index order. */
  label: FeedbackLabel;
  /** Number of reports, duplicates and relabels included. */
  reports: number;
  /** Every report in index order, oldest first. */
  history: FeedbackReport[];
  /** Message size in bytes, from the latest report. */
  size: number;
  /** Path of the stored copy. */
  path: string;
  status: CopyStatus;
  /** Description of the copy's problem, naming its path, or null when status is `ok`. */
  problem: string | null;
}

export interface FeedbackLogger {
  warn(message: string): void;
}

export interface FeedbackStoreOptions {
  /**
   * Largest message accepted, in bytes. A longer one is rejected with a
   * FeedbackInputError. Default 10 MiB (10,485,760), the parser's own
   * `maxMessageBytes`, so every stored message is scored whole.
   */
  maxMessageBytes?: number;
  /** Longest `reason`, `reporter` or `source` accepted, in characters. Default 4,096. */
  maxFieldLength?: number;
  /** Create the folder when it is missing. Default true; false makes a missing folder a FeedbackStoreError. */
  create?: boolean;
  /**
   * Receives problems found in index.jsonl (a partial last line, an invalid
   * line), each once per store. Default: `process.emitWarning`.
   */
  logger?: FeedbackLogger;
}

export interface ListOptions {
  /** Hash every stored copy; false only checks that it exists with the reported size. Default true. */
  verify?: boolean;
}

/** Counts and problems of one export() run. */
export interface ExportSummary {
  /** Messages exported per label. */
  spam: number;
  ham: number;
  /** Files written now; the others were already there with the same bytes. */
  written: number;
  /** Copies removed from the other label's folder because the message was relabelled since an earlier export. */
  removed: number;
  /** Messages not exported because their copy is missing, unreadable or changed. */
  skipped: FeedbackEntry[];
  /** `.eml` files in the label folders that the store does not contain; they are left in place. */
  foreign: string[];
  /** Path of the labels file written. */
  labelsPath: string;
}

/** One line of the exported `labels.jsonl`. */
export interface ExportedLabel {
  sha256: string;
  label: FeedbackLabel;
  /** Path of the exported copy relative to the export folder, such as `spam/<sha256>.eml`. */
  file: string;
  reports: number;
  /** Time of the latest report. */
  time: string;
  /** Reason of the latest report, or null. */
  reason: string | null;
}
