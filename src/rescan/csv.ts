/**
 * The CSV report of a rescan, written from the JSONL report, so a resumed
 * run writes the same file as an uninterrupted one.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { csvField } from '../csv.js';
import { readReportRows, type RescanRow } from './report.js';

/** CSV columns, in order. `source` is the path, or `path:offset` (byte offset of the `From ` line) for a message of an mbox. */
export const RESCAN_CSV_COLUMNS = [
  'source',
  'messageId',
  'sha256',
  'verdict',
  'score',
  'previousScore',
  'previousFlagged',
  'symbols',
  'degraded',
  'errorCode',
  'errorMessage',
  'modelVersion',
] as const;

function optional(value: number | boolean | string | null): string {
  return value === null ? '' : String(value);
}

/** Formats one row as a CSV line without its CRLF. Symbols are `NAME=score;NAME=score`, and degraded entries are joined with `;`. */
export function csvLine(row: RescanRow): string {
  const fields: Record<(typeof RESCAN_CSV_COLUMNS)[number], string> = {
    source: row.source,
    messageId: row.messageId ?? '',
    sha256: row.sha256 ?? '',
    verdict: row.verdict ?? '',
    score: optional(row.score),
    previousScore: optional(row.previousScore),
    previousFlagged: optional(row.previousFlagged),
    symbols: row.symbols.map((symbol) => `${symbol.name}=${symbol.score}`).join(';'),
    degraded: row.degraded.join(';'),
    errorCode: row.error?.code ?? '',
    errorMessage: row.error?.message ?? '',
    modelVersion: row.modelVersion ?? '',
  };
  return RESCAN_CSV_COLUMNS.map((column) => csvField(fields[column])).join(',');
}

/**
 * Writes `csvFile` (RFC 4180, CRLF line ends, a header row) from the rows of
 * the JSONL `reportFile`, one line per row in report order. The file is
 * written under a temporary name and renamed, so it is either the old file
 * or complete. Throws a RescanReportError for a bad report line and the
 * system error when a file cannot be read or written.
 */
export async function writeCsvReport(reportFile: string, csvFile: string): Promise<number> {
  const temporary = `${csvFile}.tmp`;
  const output = createWriteStream(temporary);
  let rows = 0;
  try {
    const write = async (line: string): Promise<void> => {
      if (!output.write(`${line}\r\n`)) await once(output, 'drain');
    };
    await write(RESCAN_CSV_COLUMNS.join(','));
    for await (const row of readReportRows(reportFile)) {
      await write(csvLine(row));
      rows += 1;
    }
    output.end();
    await once(output, 'finish');
  } catch (error) {
    output.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, csvFile);
  return rows;
}
