/**
 * The rescan report: a JSON Lines file with one row per message, which is
 * also the checkpoint of a resumed run. Rows are appended and fsynced one
 * at a time, so after a crash the file contains every finished row and at
 * most one partial last line, which `openReport` cuts off.
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { describeError, SpamwardError } from '../errors.js';
import type { VerdictName } from '../pipeline/types.js';

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
}

/** The report file is unreadable or contains a complete line that is not a rescan row. */
export class RescanReportError extends SpamwardError {
  override readonly code = 'SPAMWARD_RESCAN_REPORT_INVALID';
}

/** An open report: the rows already in it, and an appender. */
export interface ReportFile {
  /** Rows by `rowKey`: those found at open time and those appended since. */
  readonly rows: Map<string, RescanRow>;
  /** Bytes of a partial last line that were cut off at open time, or 0 after a clean stop. */
  readonly truncatedBytes: number;
  /** Appends one row and fsyncs the file before resolving. */
  append(row: RescanRow): Promise<void>;
  close(): Promise<void>;
}

/** Builds the checkpoint key. A message is done when a row with the same sha256 and source exists. */
export function rowKey(sha256: string | null, source: string): string {
  return `${sha256 ?? ''}\u0000${source}`;
}

function isRow(value: unknown): value is RescanRow {
  if (typeof value !== 'object' || value === null) return false;
  const row = value as Record<string, unknown>;
  return typeof row.source === 'string' && (row.sha256 === null || typeof row.sha256 === 'string') && (row.score === null || typeof row.score === 'number') && Array.isArray(row.symbols);
}

/** Parses the complete lines of a report. `file` names the report in errors. */
function parseRows(text: string, file: string): Map<string, RescanRow> {
  const rows = new Map<string, RescanRow>();
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new RescanReportError(`Report ${file} line ${index + 1} is not valid JSON (${describeError(error)}); give a new --report path or remove the line.`, { input: file });
    }
    if (!isRow(value)) {
      throw new RescanReportError(`Report ${file} line ${index + 1} is not a rescan row; give a new --report path.`, { input: file });
    }
    rows.set(rowKey(value.sha256, value.source), value);
  }
  return rows;
}

/** Fsyncs a folder so a file created or renamed in it survives a crash. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Opens the report at `file` for appending, creating it when missing. The
 * rows already in it are returned, and a partial last line (a row cut by a
 * crash) is truncated so the next row starts on a new line. Throws a
 * RescanReportError when the file cannot be opened or a complete line is
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
    const content = await handle.readFile();
    const end = content.lastIndexOf(0x0a) + 1;
    const truncatedBytes = content.length - end;
    const rows = parseRows(content.subarray(0, end).toString('utf8'), file);
    if (truncatedBytes > 0) {
      await handle.truncate(end);
      await handle.sync();
    }
    // A new report file must survive a crash as well as its rows.
    if (content.length === 0) await syncFolder(path.dirname(path.resolve(file)));
    return {
      rows,
      truncatedBytes,
      async append(row: RescanRow): Promise<void> {
        await handle.write(`${JSON.stringify(row)}\n`);
        await handle.sync();
        rows.set(rowKey(row.sha256, row.source), row);
      },
      async close(): Promise<void> {
        await handle.close();
      },
    };
  } catch (error) {
    await handle.close();
    if (error instanceof RescanReportError) throw error;
    throw new RescanReportError(`Cannot read report ${file}: ${describeError(error)}`, { input: file, cause: error });
  }
}
