/**
 * Rescan: re-scores stored messages (a quarantine after an outage or a model
 * update), writes one report row per message and optionally releases the
 * messages that now score below a threshold. A rerun with the same report
 * resumes where the last run stopped.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describeError, OptionsError, SpamwardError } from '../errors.js';
import { createScorer, type Scorer, type ScorerOptions } from '../pipeline/scorer.js';
import { readMessages, STDIN_INPUT, type SourcedRaw } from '../pipeline/sources.js';
import type { ScoreResult } from '../pipeline/types.js';
import { exists, releaseMessage, releaseTarget, type ReleaseOutcome } from './release.js';
import { openReport, rowKey, type RescanRow } from './report.js';

export { RescanReportError, type RescanRow } from './report.js';
export { releaseTarget } from './release.js';

/** Symbols kept per report row. */
const DEFAULT_TOP_SYMBOLS = 5;

export interface RescanReleaseOptions {
  /** Messages whose report score is strictly below this value are released. */
  below: number;
  /** Folder the messages are copied to as `<sha256>.eml`; created when missing. */
  folder: string;
  /** Copy the files. When false (the default) the run only lists what it would release. */
  apply?: boolean;
}

export interface RescanOptions {
  /** Files, folders, mbox files, Maildirs or `-`, as readMessages reads them. */
  inputs: string[];
  /** The JSONL report, appended to and used as the checkpoint. */
  report: string;
  /** Scorer options. `store` is always null, because stored messages must neither read nor add to the sender history of live mail. */
  scorer?: ScorerOptions;
  /** Replaces createScorer, for tests. */
  createScorer?: (options: ScorerOptions) => Promise<Scorer>;
  release?: RescanReleaseOptions;
  /** Bytes read per message; see readMessages. Default 10 MiB. A truncated message is scored but never released. */
  maxMessageBytes?: number;
  /** Symbols kept per row, by absolute score. Default 5. */
  topSymbols?: number;
  /** Aborting stops the run after the current message. */
  signal?: AbortSignal;
  /** The stream read for the input `-`. Default process.stdin. */
  stdin?: Readable;
  /** Called once per message, after its row is in the report and any release is done. The run waits for a returned promise. */
  onMessage?: (event: RescanEvent) => void | Promise<void>;
}

/** The outcome for one message that qualified for release. `planned` marks a dry run, and `failed` carries `error`. */
export interface ReleaseDecision {
  target: string;
  outcome: ReleaseOutcome | 'planned' | 'truncated' | 'failed';
  error?: string;
}

export interface RescanEvent {
  row: RescanRow;
  /** True when the row was already in the report and the message was not scored again. */
  resumed: boolean;
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
  /** Messages a dry run would release; those already in the release folder count as `alreadyReleased`. */
  wouldRelease: number;
  /** Releases that failed, and messages not released because only their start was read. */
  releaseFailures: number;
  /** Bytes of a partial last report line cut off at the start. */
  truncatedReportBytes: number;
  /** True when `signal` stopped the run early. */
  interrupted: boolean;
}

function toItemError(error: unknown): { code: string; message: string } {
  if (error instanceof SpamwardError) return { code: error.code, message: error.message };
  return { code: 'SPAMWARD_ERROR', message: describeError(error) };
}

function round3(value: number): number {
  const rounded = Math.round(value * 1000) / 1000;
  return rounded === 0 ? 0 : rounded;
}

function resultRow(item: SourcedRaw, sha256: string, result: ScoreResult, topSymbols: number): RescanRow {
  const degraded = [...result.degraded];
  if (item.truncated) degraded.push(`source: message truncated to the first ${item.raw.length} of ${item.size} bytes`);
  return {
    source: item.source,
    messageId: result.messageId,
    sha256,
    verdict: result.verdict,
    score: round3(result.score),
    symbols: [...result.symbols]
      .sort((a, b) => Math.abs(b.score) - Math.abs(a.score))
      .slice(0, topSymbols)
      .map((symbol) => ({ name: symbol.name, score: round3(symbol.score) })),
    degraded,
    error: null,
  };
}

function errorRow(source: string, sha256: string | null, error: { code: string; message: string }): RescanRow {
  return { source, messageId: null, sha256, verdict: null, score: null, symbols: [], degraded: [], error: { code: error.code, message: error.message } };
}

function validate(options: RescanOptions): void {
  const topSymbols = options.topSymbols ?? DEFAULT_TOP_SYMBOLS;
  if (!Number.isInteger(topSymbols) || topSymbols < 0) {
    throw new OptionsError(`topSymbols must be a non-negative integer, got ${JSON.stringify(options.topSymbols)}.`, { input: 'topSymbols' });
  }
  if (options.release !== undefined && !Number.isFinite(options.release.below)) {
    throw new OptionsError(`release.below must be a finite number, got ${JSON.stringify(options.release.below)}.`, { input: 'release.below' });
  }
  if (options.release !== undefined && options.release.folder === '') {
    throw new OptionsError('release.folder must be a folder path, got an empty string.', { input: 'release.folder' });
  }
  // Released files inside an input folder would be read back as new messages on the next run.
  const folder = options.release === undefined ? null : path.resolve(options.release.folder);
  for (const input of options.inputs) {
    if (folder === null || input === STDIN_INPUT) continue;
    const relative = path.relative(path.resolve(input), folder);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
      throw new OptionsError(`The release folder ${options.release?.folder ?? ''} is inside the input ${input}; choose a folder outside the inputs.`, { input: 'release.folder' });
    }
  }
}

/** Releases the message of `row` when it qualifies. A failure is returned, not thrown, so the run goes on. */
async function decideRelease(row: RescanRow, item: SourcedRaw, release: RescanReleaseOptions | undefined): Promise<ReleaseDecision | null> {
  if (release === undefined || row.sha256 === null || row.score === null || row.error !== null) return null;
  if (!(row.score < release.below)) return null;
  const target = releaseTarget(release.folder, row.sha256);
  if (item.truncated) return { target, outcome: 'truncated' };
  if (release.apply !== true) return { target, outcome: (await exists(target)) ? 'exists' : 'planned' };
  try {
    return { target, outcome: await releaseMessage(item.raw, row.sha256, release.folder) };
  } catch (error) {
    return { target, outcome: 'failed', error: describeError(error) };
  }
}

function count(summary: RescanSummary, event: RescanEvent): void {
  if (event.row.error !== null) summary.errors += 1;
  else if (event.row.verdict !== null) summary[event.row.verdict] += 1;
  if (event.resumed) summary.resumed += 1;
  switch (event.release?.outcome) {
    case 'written':
      summary.released += 1;
      break;
    case 'exists':
      summary.alreadyReleased += 1;
      break;
    case 'planned':
      summary.wouldRelease += 1;
      break;
    case 'truncated':
    case 'failed':
      summary.releaseFailures += 1;
      break;
    case undefined:
      break;
  }
}

/**
 * Re-scores every message of `options.inputs` with one scorer and appends a
 * row per message to `options.report`. Messages whose sha256 and source
 * already have a row are not scored again, but still released when their
 * row qualifies, so a dry run followed by a run with `apply` releases all.
 * A message that cannot be read or scored gets a row with `error`, and the
 * run goes on.
 *
 * Throws an OptionsError for invalid options, a RescanReportError when the
 * report cannot be opened or parsed, the ModelLoadError of createScorer, and
 * the system error when the release folder cannot be created or a report row
 * cannot be written.
 */
export async function rescan(options: RescanOptions): Promise<RescanSummary> {
  validate(options);
  const topSymbols = options.topSymbols ?? DEFAULT_TOP_SYMBOLS;
  const release = options.release;
  if (release?.apply === true) await mkdir(release.folder, { recursive: true });

  const report = await openReport(options.report);
  const summary: RescanSummary = {
    ham: 0,
    suspect: 0,
    spam: 0,
    errors: 0,
    resumed: 0,
    released: 0,
    alreadyReleased: 0,
    wouldRelease: 0,
    releaseFailures: 0,
    truncatedReportBytes: report.truncatedBytes,
    interrupted: false,
  };
  let scorer: Scorer | null = null;
  try {
    scorer = await (options.createScorer ?? createScorer)({ ...options.scorer, store: null });
    const messages = readMessages(options.inputs, { maxMessageBytes: options.maxMessageBytes, signal: options.signal, stdin: options.stdin });
    for await (const item of messages) {
      let event: RescanEvent;
      if ('error' in item) {
        const existing = report.rows.get(rowKey(null, item.source));
        const row = existing ?? errorRow(item.source, null, item.error);
        if (existing === undefined) await report.append(row);
        event = { row, resumed: existing !== undefined, release: null };
      } else {
        const sha256 = createHash('sha256').update(item.raw).digest('hex');
        const existing = report.rows.get(rowKey(sha256, item.source));
        let row: RescanRow;
        if (existing !== undefined) {
          row = existing;
        } else {
          try {
            row = resultRow(item, sha256, await scorer.score(item.raw), topSymbols);
          } catch (error) {
            row = errorRow(item.source, sha256, toItemError(error));
          }
          await report.append(row);
        }
        // The row goes in first. A crash before the release is repaired on rerun, because resumed rows are released too.
        event = { row, resumed: existing !== undefined, release: await decideRelease(row, item, release) };
      }
      count(summary, event);
      await options.onMessage?.(event);
      if (options.signal?.aborted === true) break;
    }
  } catch (error) {
    // readMessages throws the abort reason when the signal stops a read.
    if (options.signal?.aborted !== true) throw error;
  } finally {
    await report.close();
    await scorer?.close();
  }
  summary.interrupted = options.signal?.aborted === true;
  return summary;
}
