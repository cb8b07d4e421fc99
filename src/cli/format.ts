/**
 * Output formats of `spamward scan`: one record per message as JSON Lines,
 * CSV (RFC 4180) or an aligned text table. Writers return the text to print,
 * so the caller controls the stream and its backpressure.
 */
import type { Action, ScoreResult, VerdictName } from '../pipeline/types.js';

export const OUTPUT_FORMATS = ['table', 'jsonl', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Rows aligned together in the table format; the table is printed in blocks of this many rows. */
const TABLE_BLOCK_ROWS = 200;
/** Symbols shown per row in the table format; JSONL and CSV list all of them. */
const TABLE_TOP_SYMBOLS = 3;
const CSV_COLUMNS = ['source', 'messageId', 'score', 'probability', 'verdict', 'action', 'symbols', 'degraded', 'errorCode', 'errorMessage'] as const;
const TABLE_HEADER = ['VERDICT', 'SCORE', 'ACTION', 'SOURCE', 'SYMBOLS'] as const;
/** C0 and C1 control characters, which a terminal would act on. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** One output record. The result fields of a failed message are null, and `error` describes the failure. */
export interface OutputRecord {
  source: string;
  messageId: string | null;
  score: number | null;
  probability: number | null;
  verdict: VerdictName | null;
  action: Action | null;
  symbols: { name: string; score: number }[];
  degraded: string[];
  error: { code: string; message: string } | null;
}

export interface RecordWriter {
  /** Text printed before the first record. */
  start(): string;
  /** Text printed for one record; the table returns text only when a block is full. */
  write(record: OutputRecord): string;
  /** Text printed after the last record. */
  end(): string;
}

/** Rounds to 3 decimals and turns -0 into 0. */
function round3(value: number): number {
  const rounded = Math.round(value * 1000) / 1000;
  return rounded === 0 ? 0 : rounded;
}

export function resultRecord(source: string, result: ScoreResult, extraDegraded: string[] = []): OutputRecord {
  return {
    source,
    messageId: result.messageId,
    score: round3(result.score),
    probability: round3(result.probability),
    verdict: result.verdict,
    action: result.action,
    symbols: result.symbols.map((symbol) => ({ name: symbol.name, score: round3(symbol.score) })),
    degraded: [...result.degraded, ...extraDegraded],
    error: null,
  };
}

export function errorRecord(source: string, error: { code: string; message: string }): OutputRecord {
  return {
    source,
    messageId: null,
    score: null,
    probability: null,
    verdict: null,
    action: null,
    symbols: [],
    degraded: [],
    error: { code: error.code, message: error.message },
  };
}

/** Replaces control characters with `\xNN`, so file names and messages cannot move the cursor or recolour a terminal. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Quotes a CSV field when it contains a comma, a double quote, CR or LF, doubling inner quotes (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

function formatSigned(score: number): string {
  return score > 0 ? `+${score}` : String(score);
}

function csvRow(record: OutputRecord): string {
  const fields: Record<(typeof CSV_COLUMNS)[number], string> = {
    source: record.source,
    messageId: record.messageId ?? '',
    score: record.score === null ? '' : String(record.score),
    probability: record.probability === null ? '' : String(record.probability),
    verdict: record.verdict ?? '',
    action: record.action ?? '',
    symbols: record.symbols.map((symbol) => `${symbol.name}=${symbol.score}`).join(';'),
    degraded: record.degraded.join(';'),
    errorCode: record.error?.code ?? '',
    errorMessage: record.error?.message ?? '',
  };
  return CSV_COLUMNS.map((column) => csvField(fields[column])).join(',');
}

function tableCells(record: OutputRecord): string[] {
  if (record.error !== null) {
    return ['error', '-', '-', escapeControlCharacters(record.source), escapeControlCharacters(`${record.error.code}: ${record.error.message}`)];
  }
  const symbols = record.symbols
    .slice(0, TABLE_TOP_SYMBOLS)
    .map((symbol) => `${symbol.name}(${formatSigned(symbol.score)})`)
    .join(' ');
  const more = record.symbols.length > TABLE_TOP_SYMBOLS ? ` +${record.symbols.length - TABLE_TOP_SYMBOLS} more` : '';
  return [record.verdict ?? '', (record.score ?? 0).toFixed(2), record.action ?? '', escapeControlCharacters(record.source), symbols + more];
}

/** Aligns rows in columns. The score column is right-aligned and the last column is not padded. */
function alignRows(rows: string[][]): string {
  const widths = TABLE_HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => {
        if (column === row.length - 1) return cell;
        const width = widths[column] ?? 0;
        return column === 1 ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

class JsonLinesWriter implements RecordWriter {
  start(): string {
    return '';
  }

  write(record: OutputRecord): string {
    return `${JSON.stringify(record)}\n`;
  }

  end(): string {
    return '';
  }
}

class CsvWriter implements RecordWriter {
  start(): string {
    return `${CSV_COLUMNS.join(',')}\r\n`;
  }

  write(record: OutputRecord): string {
    return `${csvRow(record)}\r\n`;
  }

  end(): string {
    return '';
  }
}

/** Buffers up to TABLE_BLOCK_ROWS rows so each block is aligned; each block repeats the header. */
class TableWriter implements RecordWriter {
  private rows: string[][] = [];

  start(): string {
    return '';
  }

  write(record: OutputRecord): string {
    this.rows.push(tableCells(record));
    return this.rows.length >= TABLE_BLOCK_ROWS ? this.flush() : '';
  }

  end(): string {
    return this.rows.length > 0 ? this.flush() : '';
  }

  private flush(): string {
    const text = alignRows([[...TABLE_HEADER], ...this.rows]);
    this.rows = [];
    return text;
  }
}

export function createRecordWriter(format: OutputFormat): RecordWriter {
  switch (format) {
    case 'jsonl':
      return new JsonLinesWriter();
    case 'csv':
      return new CsvWriter();
    case 'table':
      return new TableWriter();
  }
}

/** Message counts per verdict, plus messages and inputs that failed. */
export interface VerdictCounts {
  ham: number;
  suspect: number;
  spam: number;
  errors: number;
}

/** Formats the counts as one line, such as `Scanned 4 messages: 2 ham, 1 suspect, 0 spam, 1 error.` */
export function summaryLine(counts: VerdictCounts): string {
  const total = counts.ham + counts.suspect + counts.spam + counts.errors;
  const errors = counts.errors === 1 ? '1 error' : `${counts.errors} errors`;
  const messages = total === 1 ? '1 message' : `${total} messages`;
  return `Scanned ${messages}: ${counts.ham} ham, ${counts.suspect} suspect, ${counts.spam} spam, ${errors}.`;
}
