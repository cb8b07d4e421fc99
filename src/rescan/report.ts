/**
 * The rescan report: a JSON Lines file with one row per message, which is
 * also the checkpoint of a resumed run. Rows are written before anything
 * else happens to their messages. They are fsynced before any release, and
 * otherwise at least every REPORT_SYNC_INTERVAL_MS, because an fsync per
 * message would bound the rate to the disk's fsyncs per second. After a
 * crash of the process the file contains every written row and at most one
 * partial last line, which `openReport` cuts off. A power loss can also
 * lose the rows of the last interval, and a rerun scores those messages
 * again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describeError, SpamwardError } from '../errors.js';
import type { VerdictName } from '../pipeline/types.js';
import { syncFolder } from '../durable.js';

/** One report row. A failed message has null result fields and `error` set. */
export interface RescanRow {
  /** The path, or `path:offset` for a message of an mbox. */
  source: string;
  messageId: string | null;
  /** SHA-256 of the raw bytes as read, in hex, or null when the message could not be read. */
  sha256: string | null;
  verdict: VerdictName | null;
  /** Score rounded to 3 decimals, the value the release threshold is compared with. */
  score: number | null;
  /** The symbols with the largest absolute scores, largest first. */
  symbols: { name: string; score: number }[];
  degraded: string[];
  error: { code: string; message: string } | null;
  /** Score an earlier filter wrote into the message (`X-Spam-Score`, or `score=`/`hits=` of `X-Spam-Status`), or null when it carries none. */
  previousScore: number | null;
  /** Whether the earlier filter flagged the message (`X-Spam-Status: Yes`, `X-Spam-Flag: YES`), or null when no such header is present. */
  previousFlagged: boolean | null;
  /** Version of the model that scored the message, or null for heuristics only and for failed messages. */
  modelVersion: string | null;
}

/** The report file is unreadable or contains a complete line that is not a rescan row. */
export class RescanReportError extends SpamwardError {
  override readonly code = 'SPAMWARD_RESCAN_REPORT_INVALID';
}

/** Fields of an earlier row that a resumed run needs: its verdict (null for a failed message) and its score. */
export interface CheckpointEntry {
  verdict: VerdictName | null;
  score: number | null;
}

const VERDICT_CODES: readonly (VerdictName | null)[] = ['ham', 'suspect', 'spam', null];
/** Packed entries carry the verdict in the low 2 bits, so the score in thousandths is multiplied by this. */
const VERDICT_CODE_RANGE = 4;
/** Bytes of the row-key digest kept per message; 128 bits make a collision between two rows negligible. */
const ROW_KEY_BYTES = 16;

/**
 * The resume lookup: one entry per row key, holding only what the run needs
 * of the row and not the row. The key is a 16-byte digest of sha256 and
 * source (22 base64 characters whatever the path length), and the value one
 * small integer: the score in thousandths times 4 plus the verdict code.
 */
export class Checkpoint {
  readonly entries = new Map<string, number>();

  get size(): number {
    return this.entries.size;
  }

  has(sha256: string | null, source: string): boolean {
    return this.entries.has(rowKey(sha256, source));
  }

  get(sha256: string | null, source: string): CheckpointEntry | undefined {
    const packed = this.entries.get(rowKey(sha256, source));
    if (packed === undefined) return undefined;
    const code = ((packed % VERDICT_CODE_RANGE) + VERDICT_CODE_RANGE) % VERDICT_CODE_RANGE;
    const verdict = VERDICT_CODES[code] ?? null;
    if (verdict === null) return { verdict: null, score: null };
    return { verdict, score: (packed - code) / VERDICT_CODE_RANGE / 1000 };
  }

  add(row: RescanRow): void {
    const failed = row.error !== null || row.verdict === null || row.score === null;
    const code = failed ? VERDICT_CODES.indexOf(null) : VERDICT_CODES.indexOf(row.verdict);
    const milli = failed ? 0 : Math.round((row.score ?? 0) * 1000);
    this.entries.set(rowKey(row.sha256, row.source), milli * VERDICT_CODE_RANGE + code);
  }
}

/** An open report: the lookup of the rows already in it, and an appender. */
export interface ReportFile {
  /** Rows found at open time and those appended since. */
  readonly checkpoint: Checkpoint;
  /** Bytes of a partial last line that were cut off at open time, or 0 after a clean stop. */
  readonly truncatedBytes: number;
  /**
   * Appends the rows. With `durable` the file is fsynced before the call
   * resolves; otherwise it is fsynced when REPORT_SYNC_INTERVAL_MS have
   * passed since the last fsync.
   */
  append(rows: readonly RescanRow[], durable?: boolean): Promise<void>;
  /** Fsyncs the rows written since the last fsync, and closes the file. */
  close(): Promise<void>;
}

/** Builds the checkpoint key. A message is done when a row with the same sha256 and source exists. */
export function rowKey(sha256: string | null, source: string): string {
  return createHash('sha256')
    .update(`${sha256 ?? ''}\u0000${source}`)
    .digest()
    .subarray(0, ROW_KEY_BYTES)
    .toString('base64url');
}

function isRow(value: unknown): value is RescanRow {
  if (typeof value !== 'object' || value === null) return false;
  const row = value as Record<string, unknown>;
  return typeof row.source === 'string' && (row.sha256 === null || typeof row.sha256 === 'string') && (row.score === null || typeof row.score === 'number') && Array.isArray(row.symbols);
}

/** Fills the fields that reports of earlier versions do not have. */
function normaliseRow(row: RescanRow): RescanRow {
  return { ...row, previousScore: row.previousScore ?? null, previousFlagged: row.previousFlagged ?? null, modelVersion: row.modelVersion ?? null };
}

/** Parses one complete line of `file`; `lineNumber` counts from 1. */
function parseLine(line: string, file: string, lineNumber: number): RescanRow {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new RescanReportError(`Report ${file} line ${lineNumber} is not valid JSON (${describeError(error)}); give a new --report path or remove the line.`, { input: file });
  }
  if (!isRow(value)) {
    throw new RescanReportError(`Report ${file} line ${lineNumber} is not a rescan row; give a new --report path.`, { input: file });
  }
  return normaliseRow(value);
}

/**
 * Reads the rows of a finished report one at a time, so a report of any
 * size is read in constant memory. Throws a RescanReportError for a line
 * that is not a row, and the system error when the file cannot be read.
 */
export async function* readReportRows(file: string): AsyncGenerator<RescanRow> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber += 1;
    if (line !== '') yield parseLine(line, file, lineNumber);
  }
}

/** Maximum milliseconds that written rows wait for an fsync while no release needs one. */
export const REPORT_SYNC_INTERVAL_MS = 200;

/** Bytes read per step while looking for the last newline of a report. */
const TAIL_CHUNK_BYTES = 64 * 1024;

/** Returns the length of the file up to and including its last newline, or 0 when it has none. */
export async function completeLinesEnd(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(TAIL_CHUNK_BYTES);
  let position = size;
  while (position > 0) {
    const start = Math.max(0, position - TAIL_CHUNK_BYTES);
    const { bytesRead } = await handle.read(chunk, 0, position - start, start);
    const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (newline !== -1) return start + newline + 1;
    position = start;
  }
  return 0;
}


/**
 * Opens the report at `file` for appending, creating it when missing. The
 * rows already in it go into the checkpoint, and a partial last line (a row
 * cut by a crash) is truncated so the next row starts on a new line. Throws
 * a RescanReportError when the file cannot be opened or a complete line is
 * not a row.
 */
export async function openReport(file: string): Promise<ReportFile> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'a+');
  } catch (error) {
    throw new RescanReportError(`Cannot open report ${file}: ${describeError(error)}`, { input: file, cause: error });
  }
  try {
    const checkpoint = new Checkpoint();
    const { size } = await handle.stat();
    const end = await completeLinesEnd(handle, size);
    if (end > 0) {
      // The rows are read by line from a stream, so the whole report is never in memory.
      let lineNumber = 0;
      const lines = createInterface({ input: handle.createReadStream({ start: 0, end: end - 1, autoClose: false }), crlfDelay: Infinity });
      for await (const line of lines) {
        lineNumber += 1;
        if (line !== '') checkpoint.add(parseLine(line, file, lineNumber));
      }
    }
    const truncatedBytes = size - end;
    if (truncatedBytes > 0) {
      await handle.truncate(end);
      await handle.sync();
    }
    // A new report file must survive a crash as well as its rows.
    if (size === 0) await syncFolder(path.dirname(path.resolve(file)));
    let unsynced = false;
    let lastSync = performance.now();
    return {
      checkpoint,
      truncatedBytes,
      async append(rows: readonly RescanRow[], durable = false): Promise<void> {
        if (rows.length > 0) {
          await handle.write(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
          unsynced = true;
          for (const row of rows) checkpoint.add(row);
        }
        if (unsynced && (durable || performance.now() - lastSync >= REPORT_SYNC_INTERVAL_MS)) {
          await handle.sync();
          unsynced = false;
          lastSync = performance.now();
        }
      },
      async close(): Promise<void> {
        try {
          if (unsynced) await handle.sync();
        } finally {
          await handle.close();
        }
      },
    };
  } catch (error) {
    await handle.close();
    if (error instanceof RescanReportError) throw error;
    throw new RescanReportError(`Cannot read report ${file}: ${describeError(error)}`, { input: file, cause: error });
  }
}
