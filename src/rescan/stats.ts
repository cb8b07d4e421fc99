/**
 * Totals and score histograms of a rescan report, read from the JSONL
 * report in two streaming passes, so reports of any size take constant
 * memory. Each report row counts once: a message rescanned after it changed
 * has two rows.
 */
import type { VerdictName } from '../pipeline/types.js';
import { readReportRows, type RescanRow } from './report.js';

/** Bins a histogram aims for; the width is rounded to 1, 2 or 5 times a power of ten, so the count varies. */
const TARGET_BINS = 20;
/** Narrowest bin, in score points; scores carry 3 decimals, and narrower bins would only split rounding noise. */
const MIN_BIN_WIDTH = 0.1;
/** Messages whose verdict changed that are listed by name; the rest are only counted. */
export const MAX_LISTED_CHANGES = 100;

export interface Histogram {
  /** Bin edges, ascending; bin i counts scores s with edges[i] <= s < edges[i + 1], and the last bin includes its upper edge. */
  edges: number[];
  /** Rows per bin by the new score. */
  after: number[];
  /** Rows per bin by the earlier filter's score; all zero when no row has one. */
  before: number[];
}

/** A message whose earlier filter flagged it differently from the rescan. */
export interface VerdictChange {
  source: string;
  messageId: string | null;
  previousScore: number | null;
  score: number;
  verdict: VerdictName;
  /** True when the rescan flags (suspect or spam) a message the earlier filter passed. */
  nowFlagged: boolean;
}

export interface ReportStats {
  rows: number;
  verdicts: Record<VerdictName | 'errors', number>;
  /** Rows that carry an earlier score. */
  withPreviousScore: number;
  /** Rows scored now that carry an earlier filter's flag. */
  comparable: number;
  /** Comparable rows the earlier filter passed and the rescan flags as suspect or spam. */
  newlyFlagged: number;
  /** Comparable rows the earlier filter flagged and the rescan calls ham. */
  noLongerFlagged: number;
  /** The first MAX_LISTED_CHANGES changed rows, in report order. */
  changes: VerdictChange[];
  /** Rows per model version; `none` for heuristics only. Failed rows are not counted. */
  modelVersions: Record<string, number>;
  /** Null when no row has a score. */
  histogram: Histogram | null;
}

/** Returns a bin width of 1, 2 or 5 times a power of ten near `span / TARGET_BINS`. */
function binWidth(span: number): number {
  const raw = Math.max(span / TARGET_BINS, MIN_BIN_WIDTH);
  const power = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 2, 5, 10];
  return (steps.find((step) => step * power >= raw) ?? 10) * power;
}

/** Returns the bin edges covering [min, max], on multiples of the bin width. */
export function binEdges(min: number, max: number): number[] {
  const width = binWidth(max - min);
  const first = Math.floor(min / width);
  const last = Math.max(first + 1, Math.ceil(max / width));
  const edges: number[] = [];
  // Edges are rounded to the width's precision, so 0.1 + 0.2 prints as 0.3.
  for (let step = first; step <= last; step += 1) edges.push(Number((step * width).toFixed(6)));
  return edges;
}

/** Returns the index of the bin containing `value`. */
export function binIndex(edges: readonly number[], value: number): number {
  const bins = edges.length - 1;
  let low = 0;
  let high = bins - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((edges[middle] ?? Infinity) <= value) low = middle;
    else high = middle - 1;
  }
  return low;
}

function isScored(row: RescanRow): row is RescanRow & { verdict: VerdictName; score: number } {
  return row.error === null && row.verdict !== null && row.score !== null;
}

/** Reads the report twice: once for the totals and the score range, once to fill the histogram. */
export async function reportStats(reportFile: string): Promise<ReportStats> {
  const stats: ReportStats = {
    rows: 0,
    verdicts: { ham: 0, suspect: 0, spam: 0, errors: 0 },
    withPreviousScore: 0,
    comparable: 0,
    newlyFlagged: 0,
    noLongerFlagged: 0,
    changes: [],
    modelVersions: {},
    histogram: null,
  };
  let min = Infinity;
  let max = -Infinity;
  for await (const row of readReportRows(reportFile)) {
    stats.rows += 1;
    if (!isScored(row)) {
      stats.verdicts.errors += 1;
      continue;
    }
    stats.verdicts[row.verdict] += 1;
    const version = row.modelVersion ?? 'none';
    stats.modelVersions[version] = (stats.modelVersions[version] ?? 0) + 1;
    min = Math.min(min, row.score);
    max = Math.max(max, row.score);
    if (row.previousScore !== null) {
      stats.withPreviousScore += 1;
      min = Math.min(min, row.previousScore);
      max = Math.max(max, row.previousScore);
    }
    if (row.previousFlagged === null) continue;
    stats.comparable += 1;
    const nowFlagged = row.verdict !== 'ham';
    if (nowFlagged === row.previousFlagged) continue;
    if (nowFlagged) stats.newlyFlagged += 1;
    else stats.noLongerFlagged += 1;
    if (stats.changes.length < MAX_LISTED_CHANGES) {
      stats.changes.push({ source: row.source, messageId: row.messageId, previousScore: row.previousScore, score: row.score, verdict: row.verdict, nowFlagged });
    }
  }
  if (min > max) return stats;

  const edges = binEdges(min, max);
  const histogram: Histogram = { edges, after: new Array<number>(edges.length - 1).fill(0), before: new Array<number>(edges.length - 1).fill(0) };
  for await (const row of readReportRows(reportFile)) {
    if (!isScored(row)) continue;
    const after = binIndex(edges, row.score);
    histogram.after[after] = (histogram.after[after] ?? 0) + 1;
    if (row.previousScore === null) continue;
    const before = binIndex(edges, row.previousScore);
    histogram.before[before] = (histogram.before[before] ?? 0) + 1;
  }
  stats.histogram = histogram;
  return stats;
}
