/**
 * The feedback index, `index.jsonl`: one JSON object per report, appended
 * with one write() on a file opened with O_APPEND, so lines from several
 * processes never interleave. A power loss or a full disk can still leave a
 * partial last line. Readers skip it, and the next append starts on a new line.
 *
 * NOTE: lines stay whole because Linux serialises write() calls on one file
 * in local file systems. NFS does not implement O_APPEND atomically, so
 * processes on several NFS clients can still interleave lines.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { describeError } from '../errors.js';
import { FeedbackStoreError } from './errors.js';
import { syncFolder } from '../durable.js';
import type { FeedbackReport } from './types.js';

/** Bytes read from the index per read() call. */
const READ_CHUNK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A line that is not a report, or a partial last line. */
export interface IndexProblem {
  /** Byte offset of the line's start, which identifies it across reads. */
  offset: number;
  message: string;
}

export interface IndexRead {
  reports: FeedbackReport[];
  problems: IndexProblem[];
  /** Offset just past the last complete line; the next incremental read starts here. */
  end: number;
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Returns the report in `line`, or a description of what is wrong with it. */
function parseReport(line: string): FeedbackReport | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `is not valid JSON (${describeError(error)})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  const record = value as Record<string, unknown>;
  if (typeof record.sha256 !== 'string' || !SHA256_HEX.test(record.sha256)) return 'has no valid sha256';
  if (record.label !== 'spam' && record.label !== 'ham') return 'has no label "spam" or "ham"';
  if (typeof record.time !== 'string' || Number.isNaN(Date.parse(record.time))) return 'has no valid time';
  if (typeof record.size !== 'number' || !Number.isSafeInteger(record.size) || record.size < 0) return 'has no valid size';
  if (!isNullableString(record.reason) || !isNullableString(record.reporter) || !isNullableString(record.source)) {
    return 'has a reason, reporter or source that is not a string or null';
  }
  return {
    time: record.time,
    sha256: record.sha256,
    label: record.label,
    reason: record.reason,
    reporter: record.reporter,
    source: record.source,
    size: record.size,
  };
}

/**
 * Reads the complete lines of the index from byte `start` on. Blank lines are
 * skipped; invalid lines and a partial last line become problems. A missing
 * index reads as empty. `start` must be the start of a line.
 */
export async function readIndex(file: string, start = 0): Promise<IndexRead> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { reports: [], problems: [], end: 0 };
    throw new FeedbackStoreError(`Cannot open feedback index ${file}: ${describeError(error)}.`, { input: file, cause: error });
  }
  const result: IndexRead = { reports: [], problems: [], end: start };
  try {
    const { size } = await handle.stat();
    // A file shorter than the offset was replaced or cut by someone else, so it is read again from the start.
    let position = size < start ? 0 : start;
    result.end = position;
    let pending = Buffer.alloc(0);
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      let data = Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      let newline = data.indexOf(NEWLINE);
      while (newline !== -1) {
        const line = data.subarray(0, newline).toString('utf8');
        const offset = result.end;
        result.end += newline + 1;
        if (line.trim() !== '') {
          const parsed = parseReport(line);
          if (typeof parsed === 'string') result.problems.push({ offset, message: `Feedback index ${file}: the line at byte ${offset} ${parsed}; it is skipped.` });
          else result.reports.push(parsed);
        }
        data = data.subarray(newline + 1);
        newline = data.indexOf(NEWLINE);
      }
      pending = Buffer.from(data);
    }
    if (pending.length > 0) {
      result.problems.push({
        offset: result.end,
        message: `Feedback index ${file} ends with a partial line of ${pending.length} bytes at byte ${result.end}, left by a write that stopped or still in progress; it is skipped, and the next report starts on a new line.`,
      });
    }
  } catch (error) {
    throw new FeedbackStoreError(`Cannot read feedback index ${file}: ${describeError(error)}.`, { input: file, cause: error });
  } finally {
    await handle.close();
  }
  return result;
}

/**
 * Appends one report as one line with a single write() and fsyncs it. When
 * the file does not end with a newline (a partial line left by a crash), the
 * line is prefixed with one, so the partial line stays a line of its own.
 */
export async function appendReport(file: string, folder: string, report: FeedbackReport): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'a+');
  } catch (error) {
    throw new FeedbackStoreError(`Cannot open feedback index ${file} for appending: ${describeError(error)}.`, { input: file, cause: error });
  }
  try {
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== NEWLINE) prefix = '\n';
    }
    const line = Buffer.from(`${prefix}${JSON.stringify(report)}\n`, 'utf8');
    const { bytesWritten } = await handle.write(line, 0, line.length);
    if (bytesWritten !== line.length) {
      throw new Error(`only ${bytesWritten} of ${line.length} bytes were written (is the disk full?)`);
    }
    await handle.sync();
    // A new index file must survive a crash as well as its first line.
    if (size === 0) await syncFolder(folder);
  } catch (error) {
    throw new FeedbackStoreError(`Cannot append to feedback index ${file}: ${describeError(error)}.`, { input: file, cause: error });
  } finally {
    await handle.close();
  }
}
