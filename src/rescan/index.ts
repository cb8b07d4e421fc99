/**
 * Rescan: re-scores stored messages (a quarantine after an outage or a model
 * update) on worker threads, writes one report row per message in input
 * order, and optionally releases the messages that now score below a
 * threshold. A rerun with the same report resumes where the last run stopped.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { OptionsError } from '../errors.js';
import { createScorer, type ScorerOptions } from '../pipeline/scorer.js';
import { readMessages, STDIN_INPUT, type SourcedMessage } from '../pipeline/sources.js';
import { toItemError, type JobOutcome } from './job.js';
import { createInProcessExecutor, resolveWorkerUrl, WorkerPool, type ExecutorResult, type ScoreExecutor } from './pool.js';
import { containsOnlyMessage, openDestination, removeOriginal, type ReleaseDestination } from './release.js';
import { openReport, rowKey, type ReportFile, type RescanRow } from './report.js';
import type { ReleaseDecision, RescanEvent, RescanOptions, RescanSummary } from './types.js';

export type { ReleaseDecision, RescanEvent, RescanOptions, RescanReleaseOptions, RescanSummary } from './types.js';

export { RescanReportError, readReportRows, type RescanRow } from './report.js';
export { isMboxDestination, releaseTarget } from './release.js';
export { ReleaseMboxError, MBOX_INDEX_SUFFIX } from './mbox-release.js';
export { RescanWorkerError, WORKER_FAILED_CODE, resolveWorkerUrl } from './pool.js';
export { writeCsvReport } from './csv.js';
export { writeHtmlReport } from './html.js';

/** Symbols kept per report row. */
const DEFAULT_TOP_SYMBOLS = 5;
/** Messages read ahead per worker thread when `maxInFlight` is not given. */
const IN_FLIGHT_PER_WORKER = 4;
/**
 * Default milliseconds a worker thread may take for one message. Scoring
 * takes milliseconds, and the parser bounds mailparser at 10 s, so only a
 * hang reaches this.
 */
const DEFAULT_MESSAGE_TIMEOUT_MS = 60_000;
/** Inputs that --move never removes, even when they contain one message. */
const MBOX_FILE_NAME = /\.mbox(?:\.gz)?$/i;

/** A message read from the inputs, waiting for its score or for its turn to be written. */
interface Pending {
  item: SourcedMessage;
  sha256: string | null;
  key: string;
  /** Bytes of the message that were read, kept because the bytes themselves may be transferred to a worker. */
  keptBytes: number;
  /** Null when the message is not scored: a source failure, or a key already in the report or in flight. */
  scoring: Promise<ExecutorResult> | null;
  result: ExecutorResult | null;
}

interface RunState {
  report: ReportFile;
  destination: ReleaseDestination | null;
  summary: RescanSummary;
  stopped: boolean;
}

function errorRow(source: string, sha256: string | null, error: { code: string; message: string }): RescanRow {
  return {
    source,
    messageId: null,
    sha256,
    verdict: null,
    score: null,
    symbols: [],
    degraded: [],
    error: { code: error.code, message: error.message },
    previousScore: null,
    previousFlagged: null,
    modelVersion: null,
  };
}

function outcomeRow(pending: Pending, outcome: JobOutcome): RescanRow {
  const { item, sha256 } = pending;
  if (outcome.error !== undefined) return errorRow(item.source, sha256, outcome.error);
  const degraded = [...outcome.fields.degraded];
  if ('raw' in item && item.truncated) degraded.push(`source: message truncated to the first ${pending.keptBytes} of ${item.size} bytes`);
  const { fields } = outcome;
  return {
    source: item.source,
    messageId: fields.messageId,
    sha256,
    verdict: fields.verdict,
    score: fields.score,
    symbols: fields.symbols,
    degraded,
    error: null,
    previousScore: fields.previousScore,
    previousFlagged: fields.previousFlagged,
    modelVersion: fields.modelVersion,
  };
}

function positiveInteger(value: number | undefined, name: string, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isInteger(resolved) || resolved < 1) throw new OptionsError(`${name} must be a positive integer, got ${JSON.stringify(value)}.`, { input: name });
  return resolved;
}

function validate(options: RescanOptions): void {
  const topSymbols = options.topSymbols ?? DEFAULT_TOP_SYMBOLS;
  if (!Number.isInteger(topSymbols) || topSymbols < 0) {
    throw new OptionsError(`topSymbols must be a non-negative integer, got ${JSON.stringify(options.topSymbols)}.`, { input: 'topSymbols' });
  }
  const release = options.release;
  if (release === undefined) return;
  if (!Number.isFinite(release.below)) {
    throw new OptionsError(`release.below must be a finite number, got ${JSON.stringify(release.below)}.`, { input: 'release.below' });
  }
  if (release.destination === '') {
    throw new OptionsError('release.destination must be a folder or mbox path, got an empty string.', { input: 'release.destination' });
  }
  // Released files inside an input would be read back as new messages on the next run.
  const destination = path.resolve(release.destination);
  for (const input of options.inputs) {
    if (input === STDIN_INPUT) continue;
    const relative = path.relative(path.resolve(input), destination);
    if (!relative.startsWith('..') && !path.isAbsolute(relative)) {
      throw new OptionsError(`The release destination ${release.destination} is inside the input ${input}; choose a path outside the inputs.`, { input: 'release.destination' });
    }
  }
}

/** Keeps only what a worker can receive: no logger, no store, no shared DNS client. */
function workerScorerOptions(options: ScorerOptions | undefined): ScorerOptions {
  const { logger: _logger, store: _store, ...rest } = options ?? {};
  if (rest.auth?.dnsClient === undefined) return { ...rest, store: null };
  const { dnsClient: _client, ...auth } = rest.auth;
  return { ...rest, auth, store: null };
}

async function createExecutor(options: RescanOptions, workers: number, topSymbols: number): Promise<ScoreExecutor> {
  if (workers === 1 || options.createScorer !== undefined) {
    return createInProcessExecutor(options.createScorer ?? createScorer, options.scorer ?? {}, topSymbols, options.signal);
  }
  const logger = options.scorer?.logger;
  return WorkerPool.start({
    size: workers,
    scorer: workerScorerOptions(options.scorer),
    topSymbols,
    messageTimeoutMs: positiveInteger(options.messageTimeoutMs, 'messageTimeoutMs', DEFAULT_MESSAGE_TIMEOUT_MS),
    workerUrl: options.workerUrl ?? resolveWorkerUrl(import.meta.url),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onWarning: (message) => {
      if (logger !== undefined) logger.warn(message);
      else process.emitWarning(message, { code: 'SPAMWARD_DEGRADED' });
    },
  });
}

/** Releases the message when its score qualifies, then removes the original with `move`. A failure is returned, not thrown, so the run goes on. */
async function decideRelease(pending: Pending, score: number | null, raw: Buffer | null, state: RunState, options: RescanOptions): Promise<ReleaseDecision | null> {
  const { release, maxMessageBytes } = options;
  const { destination } = state;
  const { item, sha256 } = pending;
  if (release === undefined || destination === null || sha256 === null || score === null || !('raw' in item)) return null;
  if (!(score < release.below)) return null;
  const target = destination.target(sha256);
  if (item.truncated) return { target, outcome: 'truncated' };
  let singleFile = item.offset === undefined && item.path !== STDIN_INPUT;
  // A file named .mbox stays an mbox even with one message, because a delivery agent may still append to it.
  const mboxName = MBOX_FILE_NAME.test(item.path);
  if (release.move === true && item.offset === 0 && item.path !== STDIN_INPUT && !mboxName) singleFile = await containsOnlyMessage(item.path, sha256, maxMessageBytes);
  if (release.apply !== true) {
    const decision: ReleaseDecision = { target, outcome: (await destination.has(sha256)) ? 'exists' : 'planned' };
    if (release.move === true) decision.move = singleFile ? 'planned' : 'refused';
    return decision;
  }
  let decision: ReleaseDecision;
  try {
    if (raw === null || raw.length === 0) throw new Error('the message bytes are no longer available');
    decision = { target, outcome: await destination.release(raw, sha256) };
  } catch (error) {
    return { target, outcome: 'failed', error: toItemError(error).message };
  }
  if (release.move !== true) return decision;
  if (!singleFile) return { ...decision, move: 'refused' };
  try {
    await removeOriginal(item.path);
    return { ...decision, move: 'moved' };
  } catch (error) {
    return { ...decision, move: 'failed', moveError: toItemError(error).message };
  }
}

function count(summary: RescanSummary, event: RescanEvent): void {
  if (event.verdict === null) summary.errors += 1;
  else summary[event.verdict] += 1;
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
  if (event.release?.move === 'moved') summary.moved += 1;
  else if (event.release?.move === 'refused' || event.release?.move === 'failed') summary.notMoved += 1;
}

/**
 * Writes the finished messages at the head of `window` in one batch: their
 * new rows are appended with one fsync, and then each message is released
 * and reported. Stops at the first message still being scored, or at a
 * cancelled one, which ends the run.
 */
async function flushReady(window: Pending[], inFlight: Set<string>, state: RunState, options: RescanOptions): Promise<void> {
  const batch: Pending[] = [];
  for (const pending of window) {
    if (pending.scoring !== null && pending.result === null) break;
    if (pending.result?.cancelled === true) {
      state.stopped = true;
      break;
    }
    batch.push(pending);
  }
  if (batch.length === 0) return;
  window.splice(0, batch.length);

  // A message is resumed when the report, or an earlier message of this batch, has its key.
  const { checkpoint } = state.report;
  const rows: (RescanRow | null)[] = [];
  const batchKeys = new Set<string>();
  for (const pending of batch) {
    let row: RescanRow | null = null;
    if (pending.result !== null && pending.result.cancelled !== true) row = outcomeRow(pending, pending.result.outcome);
    else if ('error' in pending.item && !checkpoint.has(null, pending.item.source) && !batchKeys.has(pending.key)) row = errorRow(pending.item.source, null, toItemError(pending.item.error));
    batchKeys.add(pending.key);
    rows.push(row);
  }
  // The rows go in first, durable when a message of the batch may be released. A crash before a release is repaired on rerun, because resumed rows are released too.
  await state.report.append(rows.filter((row): row is RescanRow => row !== null), options.release?.apply === true);

  for (const [index, pending] of batch.entries()) {
    inFlight.delete(pending.key);
    const row = rows[index] ?? null;
    const entry = row === null ? checkpoint.get(pending.sha256, pending.item.source) : undefined;
    let verdict = entry?.verdict ?? null;
    let score = entry?.score ?? null;
    if (row !== null) {
      verdict = row.error === null ? row.verdict : null;
      score = row.error === null ? row.score : null;
    }
    let raw: Buffer | null = null;
    if (pending.result !== null && pending.result.cancelled !== true) raw = pending.result.bytes;
    else if ('raw' in pending.item) raw = pending.item.raw;
    const event: RescanEvent = {
      source: pending.item.source,
      row,
      verdict,
      score,
      resumed: row === null,
      size: 'raw' in pending.item ? pending.item.size : 0,
      release: await decideRelease(pending, score, raw, state, options),
    };
    count(state.summary, event);
    await options.onMessage?.(event);
  }
}

/** Reads the next message and starts scoring it unless the report or the messages in flight have its key. */
function admit(item: SourcedMessage, executor: ScoreExecutor, inFlight: Set<string>, report: ReportFile): Pending {
  if ('error' in item) return { item, sha256: null, key: rowKey(null, item.source), keptBytes: 0, scoring: null, result: null };
  const sha256 = createHash('sha256').update(item.raw).digest('hex');
  const key = rowKey(sha256, item.source);
  const pending: Pending = { item, sha256, key, keptBytes: item.raw.length, scoring: null, result: null };
  if (report.checkpoint.has(sha256, item.source) || inFlight.has(key)) return pending;
  inFlight.add(key);
  pending.scoring = executor.score(item.raw).then((result) => {
    pending.result = result;
    return result;
  });
  // The rejection is awaited when the message reaches the head of the window; this only keeps it from being reported as unhandled before then.
  pending.scoring.catch(() => undefined);
  return pending;
}

/**
 * Re-scores every message of `options.inputs` and appends a row per message
 * to `options.report`, in input order. Messages whose sha256 and source
 * already have a row are not scored again, but still released when their
 * row qualifies, so a dry run followed by a run with `apply` releases all.
 * A message that cannot be read or scored, also one whose worker thread
 * stopped, gets a row with `error`, and the run goes on.
 *
 * Throws an OptionsError for invalid options, and a RescanReportError when
 * the report cannot be opened or parsed. Throws the ModelLoadError of
 * createScorer, a RescanWorkerError when worker threads cannot start, and a
 * ReleaseMboxError when the release mbox cannot be opened. Throws the system
 * error when the release folder cannot be created or a row cannot be written.
 */
export async function rescan(options: RescanOptions): Promise<RescanSummary> {
  validate(options);
  const topSymbols = options.topSymbols ?? DEFAULT_TOP_SYMBOLS;
  const workers = positiveInteger(options.workers, 'workers', os.availableParallelism());
  const maxInFlight = positiveInteger(options.maxInFlight, 'maxInFlight', IN_FLIGHT_PER_WORKER * workers);

  const report = await openReport(options.report);
  const state: RunState = {
    report,
    destination: null,
    summary: {
      ham: 0,
      suspect: 0,
      spam: 0,
      errors: 0,
      resumed: 0,
      released: 0,
      alreadyReleased: 0,
      wouldRelease: 0,
      releaseFailures: 0,
      moved: 0,
      notMoved: 0,
      truncatedReportBytes: report.truncatedBytes,
      interrupted: false,
    },
    stopped: false,
  };
  let executor: ScoreExecutor | null = null;
  try {
    if (options.release !== undefined) state.destination = await openDestination(options.release.destination, options.release.apply === true);
    executor = await createExecutor(options, workers, topSymbols);
    const window: Pending[] = [];
    const inFlight = new Set<string>();
    const messages = readMessages(options.inputs, { maxMessageBytes: options.maxMessageBytes, signal: options.signal, stdin: options.stdin });
    try {
      for await (const item of messages) {
        window.push(admit(item, executor, inFlight, report));
        await flushReady(window, inFlight, state, options);
        while (window.length >= maxInFlight && !state.stopped) {
          await window[0]?.scoring;
          await flushReady(window, inFlight, state, options);
        }
        if (state.stopped || options.signal?.aborted === true) break;
      }
    } catch (error) {
      // readMessages throws the abort reason when the signal stops a read; any other error stops the run.
      if (options.signal?.aborted !== true || error !== options.signal.reason) throw error;
    }
    // The messages already read are written, unless the abort cancelled them.
    while (window.length > 0 && !state.stopped) {
      await window[0]?.scoring;
      await flushReady(window, inFlight, state, options);
    }
  } finally {
    await report.close();
    await executor?.close();
    await state.destination?.close();
  }
  state.summary.interrupted = options.signal?.aborted === true;
  return state.summary;
}
