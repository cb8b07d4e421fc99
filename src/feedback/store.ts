/**
 * The feedback store: messages that administrators reported as spam or ham,
 * kept for retraining. A feedback folder contains `index.jsonl` (one line per
 * report, append-only) and `messages/<first two hex digits>/<sha256>.eml`
 * (one copy per distinct message). Relabelling appends a report, so the
 * latest label wins and the history is kept.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../errors.js';
import { DEFAULT_PARSE_LIMITS } from '../parse/limits.js';
import { ensureFolder, fileContains, writeFileDurably } from '../durable.js';
import { FeedbackInputError, FeedbackStoreError } from './errors.js';
import { exportEntries } from './export.js';
import { appendReport, readIndex, type IndexProblem } from './index-file.js';
import type { AddResult, CopyStatus, ExportSummary, FeedbackEntry, FeedbackLabel, FeedbackLogger, FeedbackMeta, FeedbackReport, FeedbackStoreOptions, ListOptions } from './types.js';

/** Default longest `reason`, `reporter` or `source`, in characters. */
export const DEFAULT_MAX_FIELD_LENGTH = 4096;
export const INDEX_FILE = 'index.jsonl';
export const MESSAGES_FOLDER = 'messages';
const SHA256_HEX = /^[0-9a-f]{64}$/;

const defaultLogger: FeedbackLogger = {
  warn(message: string) {
    process.emitWarning(message, { code: 'SPAMWARD_FEEDBACK_INDEX' });
  },
};

export interface FeedbackStore {
  /** The feedback folder, resolved to an absolute path. */
  readonly dir: string;
  /** Largest message add() accepts, in bytes (option maxMessageBytes). */
  readonly maxMessageBytes: number;
  /**
   * Stores a report of `raw` with `label`. The message copy is written (temp
   * file, fsync, rename, folder fsync) unless the same bytes are stored
   * already, and then the report line is appended and fsynced. Every call
   * appends a line, also for a duplicate or a relabel. Calls on one store are
   * serialised. Throws a FeedbackInputError for an empty or oversized
   * message, an unknown label or an invalid meta field, and a
   * FeedbackStoreError when the folder cannot be written.
   */
  add(raw: Uint8Array, label: FeedbackLabel, meta?: FeedbackMeta): Promise<AddResult>;
  /** Returns one entry per reported message, in the order of its first report, each with its copy checked. */
  list(options?: ListOptions): Promise<FeedbackEntry[]>;
  /** Returns the entry of one message with its copy hashed, or null when it was never reported. */
  get(sha256: string): Promise<FeedbackEntry | null>;
  /** Returns the path of a message's stored copy, whether or not it exists. */
  messagePath(sha256: string): string;
  /**
   * Writes every message with an intact copy to `outDir/<label>/<sha256>.eml`
   * under its latest label, removes its copy under the other label from an
   * earlier export, and then writes `outDir/labels.jsonl`. Messages whose copy
   * is missing or changed are skipped and returned in `skipped`.
   */
  export(outDir: string): Promise<ExportSummary>;
}

function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function checkPositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new FeedbackInputError(`Feedback option ${name} must be a positive integer, got ${JSON.stringify(value)}.`, { input: name });
  }
  return value;
}

function checkDigest(sha256: string): string {
  const digest = typeof sha256 === 'string' ? sha256.toLowerCase() : '';
  if (!SHA256_HEX.test(digest)) {
    throw new FeedbackInputError(`Invalid message digest ${JSON.stringify(sha256)}: expected 64 hex digits of a SHA-256.`, { input: String(sha256) });
  }
  return digest;
}

function checkField(name: string, value: unknown, source: string, maxLength: number): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new FeedbackInputError(`Feedback ${name} for ${source} must be a string, got ${typeof value}.`, { input: source });
  if (value.length > maxLength) {
    throw new FeedbackInputError(`Feedback ${name} for ${source} is ${value.length} characters long, over the limit of ${maxLength} (option maxFieldLength).`, { input: source });
  }
  return value;
}

function checkTime(time: FeedbackMeta['time'], source: string): string {
  if (time === undefined) return new Date().toISOString();
  const date = time instanceof Date ? time : new Date(time);
  if (Number.isNaN(date.getTime())) throw new FeedbackInputError(`Feedback time for ${source} is not a valid date: ${String(time)}.`, { input: source });
  return date.toISOString();
}

/** Groups reports by message in the order of each message's first report. */
function groupReports(reports: FeedbackReport[]): Map<string, FeedbackReport[]> {
  const groups = new Map<string, FeedbackReport[]>();
  for (const report of reports) {
    const history = groups.get(report.sha256);
    if (history === undefined) groups.set(report.sha256, [report]);
    else history.push(report);
  }
  return groups;
}

/** Checks a stored copy: by hashing it, or with `verify` false by its size only. */
async function checkCopy(file: string, sha256: string, size: number, verify: boolean): Promise<{ status: CopyStatus; problem: string | null }> {
  try {
    if (verify) {
      const actual = sha256Of(await readFile(file));
      if (actual === sha256) return { status: 'ok', problem: null };
      return { status: 'mismatch', problem: `Stored copy ${file} no longer matches its name: its SHA-256 is ${actual}.` };
    }
    const info = await stat(file);
    if (info.size === size) return { status: 'ok', problem: null };
    return { status: 'mismatch', problem: `Stored copy ${file} is ${info.size} bytes, but ${size} bytes were reported.` };
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { status: 'missing', problem: `Stored copy ${file} is missing.` };
    return { status: 'unreadable', problem: `Cannot read stored copy ${file}: ${describeError(error)}.` };
  }
}

class FolderFeedbackStore implements FeedbackStore {
  readonly dir: string;
  private readonly indexPath: string;
  readonly maxMessageBytes: number;
  private readonly maxFieldLength: number;
  private readonly logger: FeedbackLogger;
  /** Index problems already reported, by byte offset, so each is logged once. */
  private readonly warned = new Set<number>();
  /** Latest label per message from the index read so far, and the offset read to. */
  private readonly latestLabels = new Map<string, FeedbackLabel>();
  private indexEnd = 0;
  /** Tail of the queue that serialises add() calls. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string, options: FeedbackStoreOptions) {
    this.dir = path.resolve(dir);
    this.indexPath = path.join(this.dir, INDEX_FILE);
    this.maxMessageBytes = checkPositiveInteger('maxMessageBytes', options.maxMessageBytes ?? DEFAULT_PARSE_LIMITS.maxMessageBytes);
    this.maxFieldLength = checkPositiveInteger('maxFieldLength', options.maxFieldLength ?? DEFAULT_MAX_FIELD_LENGTH);
    this.logger = options.logger ?? defaultLogger;
  }

  messagePath(sha256: string): string {
    const digest = checkDigest(sha256);
    return path.join(this.dir, MESSAGES_FOLDER, digest.slice(0, 2), `${digest}.eml`);
  }

  add(raw: Uint8Array, label: FeedbackLabel, meta: FeedbackMeta = {}): Promise<AddResult> {
    // Checked before queueing, so an invalid report is rejected at once instead of after the queued ones.
    let report: FeedbackReport;
    try {
      report = this.checkReport(raw, label, meta);
    } catch (error) {
      return Promise.reject(error);
    }
    const result = this.queue.then(() => this.store(raw, report));
    this.queue = result.catch(() => {});
    return result;
  }

  async list(options: ListOptions = {}): Promise<FeedbackEntry[]> {
    const verify = options.verify ?? true;
    const groups = groupReports(await this.readReports());
    const entries: FeedbackEntry[] = [];
    for (const [sha256, history] of groups) entries.push(await this.entryOf(sha256, history, verify));
    return entries;
  }

  async get(sha256: string): Promise<FeedbackEntry | null> {
    const digest = checkDigest(sha256);
    const history = (await this.readReports()).filter((report) => report.sha256 === digest);
    return history.length === 0 ? null : this.entryOf(digest, history, true);
  }

  async export(outDir: string): Promise<ExportSummary> {
    return exportEntries(await this.list({ verify: false }), outDir);
  }

  private checkReport(raw: Uint8Array, label: FeedbackLabel, meta: FeedbackMeta): FeedbackReport {
    const source = typeof meta.source === 'string' && meta.source !== '' ? meta.source : 'the message';
    if (!(raw instanceof Uint8Array)) throw new FeedbackInputError(`Message ${source} must be a Buffer or Uint8Array, got ${typeof raw}.`, { input: source });
    if (label !== 'spam' && label !== 'ham') {
      throw new FeedbackInputError(`Invalid feedback label ${JSON.stringify(label)} for ${source}: expected "spam" or "ham".`, { input: source });
    }
    if (raw.length === 0) throw new FeedbackInputError(`Message ${source} is empty, so there is nothing to learn from.`, { input: source });
    if (raw.length > this.maxMessageBytes) {
      throw new FeedbackInputError(`Message ${source} is ${raw.length} bytes, over the feedback limit of ${this.maxMessageBytes} bytes (option maxMessageBytes).`, { input: source });
    }
    return {
      time: checkTime(meta.time, source),
      sha256: sha256Of(raw),
      label,
      reason: checkField('reason', meta.reason, source, this.maxFieldLength),
      reporter: checkField('reporter', meta.reporter, source, this.maxFieldLength),
      source: checkField('source', meta.source, source, this.maxFieldLength),
      size: raw.length,
    };
  }

  private async store(raw: Uint8Array, report: FeedbackReport): Promise<AddResult> {
    await this.refreshLabels();
    const previousLabel = this.latestLabels.get(report.sha256) ?? null;
    const target = this.messagePath(report.sha256);
    try {
      // A copy with other bytes was damaged after it was stored; the report replaces it.
      if (!(await fileContains(target, raw))) {
        await ensureFolder(path.dirname(target));
        await writeFileDurably(target, raw);
      }
    } catch (error) {
      throw new FeedbackStoreError(`Cannot store the message ${report.source ?? report.sha256} in ${target}: ${describeError(error)}.`, { input: target, cause: error });
    }
    await appendReport(this.indexPath, this.dir, report);
    this.latestLabels.set(report.sha256, report.label);

    let outcome: AddResult['outcome'] = 'new';
    if (previousLabel !== null) outcome = previousLabel === report.label ? 'duplicate' : 'relabelled';
    return { sha256: report.sha256, duplicate: previousLabel !== null, previousLabel, outcome };
  }

  /** Reads the index lines appended since the last read, by this or another process. */
  private async refreshLabels(): Promise<void> {
    const read = await readIndex(this.indexPath, this.indexEnd);
    if (read.end < this.indexEnd) this.latestLabels.clear();
    this.reportProblems(read.problems);
    for (const report of read.reports) this.latestLabels.set(report.sha256, report.label);
    this.indexEnd = read.end;
  }

  private async readReports(): Promise<FeedbackReport[]> {
    const read = await readIndex(this.indexPath);
    this.reportProblems(read.problems);
    return read.reports;
  }

  private reportProblems(problems: IndexProblem[]): void {
    for (const problem of problems) {
      if (this.warned.has(problem.offset)) continue;
      this.warned.add(problem.offset);
      this.logger.warn(problem.message);
    }
  }

  private async entryOf(sha256: string, history: FeedbackReport[], verify: boolean): Promise<FeedbackEntry> {
    const latest = history[history.length - 1] as FeedbackReport;
    const file = this.messagePath(sha256);
    const { status, problem } = await checkCopy(file, sha256, latest.size, verify);
    return { sha256, label: latest.label, reports: history.length, history, size: latest.size, path: file, status, problem };
  }
}

/**
 * Opens the feedback folder `dir`, creating it unless `options.create` is
 * false. Throws a FeedbackStoreError when `dir` is not a folder or cannot be
 * created, and a FeedbackInputError for an invalid option.
 */
export async function openFeedbackStore(dir: string, options: FeedbackStoreOptions = {}): Promise<FeedbackStore> {
  if (typeof dir !== 'string' || dir.trim() === '') throw new FeedbackInputError('The feedback folder path is empty.', { input: 'dir' });
  const store = new FolderFeedbackStore(dir, options);
  try {
    const info = await stat(store.dir);
    if (!info.isDirectory()) throw new FeedbackStoreError(`Feedback folder ${dir} is not a folder.`, { input: dir });
  } catch (error) {
    if (error instanceof FeedbackStoreError) throw error;
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    if (!missing) throw new FeedbackStoreError(`Cannot open feedback folder ${dir}: ${describeError(error)}.`, { input: dir, cause: error });
    if (options.create === false) throw new FeedbackStoreError(`Feedback folder ${dir} does not exist; report a message first or give another folder.`, { input: dir, cause: error });
    try {
      await ensureFolder(store.dir);
    } catch (createError) {
      throw new FeedbackStoreError(`Cannot create feedback folder ${dir}: ${describeError(createError)}.`, { input: dir, cause: createError });
    }
  }
  return store;
}
