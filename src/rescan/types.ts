/** Options, events and totals of a rescan; see rescan() in index.ts. */
import type { Readable } from 'node:stream';
import type { Scorer, ScorerOptions } from '../pipeline/scorer.js';
import type { VerdictName } from '../pipeline/types.js';
import type { ReleaseOutcome } from './release.js';
import type { RescanRow } from './report.js';

export interface RescanReleaseOptions {
  /** Messages whose report score is strictly below this value are released. */
  below: number;
  /**
   * A folder, where each message is copied as `<sha256>.eml` (created when
   * missing), or an mbox file (a name ending in .mbox, or an existing
   * regular file), to which messages are appended.
   */
  destination: string;
  /** Copy the messages. When false (the default) the run only lists what it would release. */
  apply?: boolean;
  /**
   * Remove the original file once its copy is durable. Only files that
   * contain one message are removed, also one that starts with a `From `
   * line, unless its name ends in .mbox or .mbox.gz. A message inside an mbox of several is released, its mbox is never
   * changed, and its decision's `move` is `refused`. Default false.
   */
  move?: boolean;
}

export interface RescanOptions {
  /** Files, folders, mbox files, Maildirs or `-`, as readMessages reads them. */
  inputs: string[];
  /** The JSONL report, appended to and used as the checkpoint. */
  report: string;
  /**
   * Scorer options, passed as they are to each worker's createScorer, so
   * they must be plain data. `logger` stays in this thread and receives the
   * workers' warnings. `store` is always null, because stored messages must
   * neither read nor add to the sender history of live mail.
   */
  scorer?: ScorerOptions;
  /** Replaces createScorer, for tests. A function cannot cross threads, so the run then scores in this thread. */
  createScorer?: (options: ScorerOptions) => Promise<Scorer>;
  /** Worker threads, each with its own scorer. 1 scores in this thread. Default os.availableParallelism(). */
  workers?: number;
  /**
   * Messages read but not yet written to the report, which bounds memory
   * to about `maxInFlight × maxMessageBytes`. Default 4 per worker.
   */
  maxInFlight?: number;
  /**
   * Milliseconds a worker thread may take for one message; the worker is
   * then stopped and replaced, and the message gets an error row. Default
   * 60,000.
   * NOTE: with one worker (scoring in this thread) there is no thread to
   * stop, so this limit does not apply.
   */
  messageTimeoutMs?: number;
  /** The worker script; default the worker.js beside this module (see resolveWorkerUrl). */
  workerUrl?: URL;
  release?: RescanReleaseOptions;
  /** Bytes read per message; see readMessages. Default 10 MiB. A truncated message is scored but never released. */
  maxMessageBytes?: number;
  /** Symbols kept per row, by absolute score. Default 5. */
  topSymbols?: number;
  /** Aborting stops the run once the messages already being scored are written. */
  signal?: AbortSignal;
  /** The stream read for the input `-`. Default process.stdin. */
  stdin?: Readable;
  /** Called once per message, in input order, after its row is in the report and any release is done. The run waits for a returned promise. */
  onMessage?: (event: RescanEvent) => void | Promise<void>;
}

/** The outcome for one message that qualified for release. `planned` marks a dry run, and `failed` carries `error`. */
export interface ReleaseDecision {
  target: string;
  outcome: ReleaseOutcome | 'planned' | 'truncated' | 'failed';
  error?: string;
  /** With `move`: whether the original was removed, would be (`planned`), cannot be (`refused`, a message inside an mbox or stdin) or failed. */
  move?: 'moved' | 'planned' | 'refused' | 'failed';
  moveError?: string;
}

export interface RescanEvent {
  source: string;
  /** The row written now, or null when the message already had a row and was not scored again. */
  row: RescanRow | null;
  /** The verdict of the row, or null for a message that failed. */
  verdict: VerdictName | null;
  score: number | null;
  /** True when the row was already in the report. */
  resumed: boolean;
  /** Bytes of the message as counted by the source, 0 when it could not be read. */
  size: number;
  /** Null when release is off or the message does not qualify. */
  release: ReleaseDecision | null;
}

/** Totals of one run. Verdicts and errors count scored and resumed messages alike. */
export interface RescanSummary {
  ham: number;
  suspect: number;
  spam: number;
  errors: number;
  /** Messages whose row was already in the report. */
  resumed: number;
  released: number;
  alreadyReleased: number;
  /** Messages a dry run would release; those already in the destination count as `alreadyReleased`. */
  wouldRelease: number;
  /** Releases that failed, and messages not released because only their start was read. */
  releaseFailures: number;
  /** Originals removed with `move`. */
  moved: number;
  /** Originals `move` did not remove: messages inside an mbox or stdin, and failed removals. */
  notMoved: number;
  /** Bytes of a partial last report line cut off at the start. */
  truncatedReportBytes: number;
  /** True when `signal` stopped the run early. */
  interrupted: boolean;
}
