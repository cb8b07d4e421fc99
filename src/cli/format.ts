/**
 * Output formats of `spamward scan`: one record per message as JSON Lines,
 * CSV (RFC 4180) or an aligned text table. Writers return the text to print,
 * so the caller controls the stream and its backpressure.
 */
import type { DnsStats } from '../auth/dns/types.js';
import type { Action, AuthMechanismResult, ScoreResult, VerdictName } from '../pipeline/types.js';
import { csvField } from '../csv.js';

export const OUTPUT_FORMATS = ['table', 'jsonl', 'csv'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Rows aligned together in the table format; the table is printed in blocks of this many rows. */
const TABLE_BLOCK_ROWS = 200;
/** Symbols shown per row in the table format; JSONL and CSV list all of them. */
const TABLE_TOP_SYMBOLS = 3;
const AUTH_MECHANISMS = ['spf', 'dkim', 'dmarc', 'arc'] as const;
const CSV_COLUMNS = ['source', 'messageId', 'score', 'probability', 'verdict', 'action', 'symbols', 'degraded', ...AUTH_MECHANISMS, 'errorCode', 'errorMessage'] as const;
const TABLE_HEADER = ['VERDICT', 'SCORE', 'ACTION', 'SOURCE', 'AUTH', 'SYMBOLS'] as const;
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
  symbols: { name: string; score: number; description: string }[];
  degraded: string[];
  /** SPF, DKIM, DMARC and ARC results with their reasons, and where they came from. */
  auth: ScoreResult['auth'] | null;
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

/** Copies only `result` and `reason`, so the JSON row has the same keys whatever else the scorer adds. */
function copyMechanism(entry: AuthMechanismResult): AuthMechanismResult {
  return { result: entry.result, reason: entry.reason };
}

export function resultRecord(source: string, result: ScoreResult, extraDegraded: string[] = []): OutputRecord {
  return {
    source,
    messageId: result.messageId,
    score: round3(result.score),
    probability: round3(result.probability),
    verdict: result.verdict,
    action: result.action,
    symbols: result.symbols.map((symbol) => ({ name: symbol.name, score: round3(symbol.score), description: symbol.description })),
    degraded: [...result.degraded, ...extraDegraded],
    auth: {
      spf: copyMechanism(result.auth.spf),
      dkim: copyMechanism(result.auth.dkim),
      dmarc: copyMechanism(result.auth.dmarc),
      arc: copyMechanism(result.auth.arc),
      source: result.auth.source,
    },
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
    auth: null,
    error: { code: error.code, message: error.message },
  };
}

/** Replaces control characters with `\xNN`, so file names and messages cannot move the cursor or recolour a terminal. */
export function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (character) => `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
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
    spf: record.auth?.spf.result ?? '',
    dkim: record.auth?.dkim.result ?? '',
    dmarc: record.auth?.dmarc.result ?? '',
    arc: record.auth?.arc.result ?? '',
    errorCode: record.error?.code ?? '',
    errorMessage: record.error?.message ?? '',
  };
  return CSV_COLUMNS.map((column) => csvField(fields[column])).join(',');
}

/** Lists the mechanisms whose result is known, such as `spf=pass dkim=none`, or `-` when every result is unknown. */
export function authSummary(auth: OutputRecord['auth']): string {
  if (auth === null) return '-';
  const known = AUTH_MECHANISMS.filter((mechanism) => auth[mechanism].result !== 'unknown').map((mechanism) => `${mechanism}=${auth[mechanism].result}`);
  return known.length === 0 ? '-' : known.join(' ');
}

function tableCells(record: OutputRecord): string[] {
  if (record.error !== null) {
    return ['error', '-', '-', escapeControlCharacters(record.source), '-', escapeControlCharacters(`${record.error.code}: ${record.error.message}`)];
  }
  const symbols = record.symbols
    .slice(0, TABLE_TOP_SYMBOLS)
    .map((symbol) => `${symbol.name}(${formatSigned(symbol.score)})`)
    .join(' ');
  const more = record.symbols.length > TABLE_TOP_SYMBOLS ? ` +${record.symbols.length - TABLE_TOP_SYMBOLS} more` : '';
  return [record.verdict ?? '', (record.score ?? 0).toFixed(2), record.action ?? '', escapeControlCharacters(record.source), authSummary(record.auth), symbols + more];
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

/**
 * Formats the DNS client's counters as one line, such as `DNS: 12 lookups
 * (4 cache hits, 0 stale), 8 queries sent (0 hedged, 0 over TCP), 0 query
 * timeouts, 0 failed lookups, breaker closed.` Failed lookups are broken
 * down by status when there are any.
 */
export function dnsStatsLine(stats: DnsStats): string {
  const failures = Object.entries(stats.failures).filter(([, count]) => count > 0);
  const failed = failures.reduce((sum, [, count]) => sum + count, 0);
  const failedByStatus = failures.length === 0 ? '' : ` (${failures.map(([status, count]) => `${status} ${count}`).join(', ')})`;
  return (
    `DNS: ${stats.queries} lookups (${stats.cacheHits} cache hits, ${stats.staleAnswers} stale), ` +
    `${stats.upstreamQueries} queries sent (${stats.hedgedQueries} hedged, ${stats.tcpFallbacks} over TCP), ` +
    `${stats.timeouts} query timeouts, ${failed} failed lookups${failedByStatus}, breaker ${stats.breaker.state}.`
  );
}
