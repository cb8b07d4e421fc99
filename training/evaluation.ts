import type { SetMetrics } from '../src/model/manifest.js';
import { arrivalTime } from '../src/features/index.js';
import { DEFAULT_PARSE_LIMITS, parseBytes } from '../src/parse/index.js';
import type { Scorer } from '../src/pipeline/scorer.js';
import type { CorpusMessage } from './corpus.js';
import { ratesAt, recallAtFpr, rocAuc, rocCurve, type Scored } from './metrics.js';
import { Progress } from './progress.js';

export interface SetScores {
  set: string;
  items: Scored[];
}

/**
 * Sorts messages by arrival time (see arrivalTime), stably. A message
 * without one, or that cannot be parsed, takes the time of the message
 * before it in the given order.
 */
export async function inArrivalOrder(messages: readonly CorpusMessage[]): Promise<{ message: CorpusMessage; time: number }[]> {
  const timed = await Promise.all(messages.map(async (message, index) => {
    let time: number | null = null;
    try {
      time = arrivalTime(await parseBytes(message.raw, message.raw.length, DEFAULT_PARSE_LIMITS));
    } catch {
      // An unparsable message keeps its file position.
    }
    return { message, index, time };
  }));
  let last = 0;
  const filled = timed.map((entry) => {
    last = entry.time ?? last;
    return { message: entry.message, index: entry.index, time: last };
  });
  filled.sort((a, b) => a.time - b.time || a.index - b.index);
  return filled.map(({ message, time }) => ({ message, time }));
}

/**
 * Scores a corpus the way a gateway would have met it: each set is replayed
 * through its own fresh scorer (so its own fresh behaviour store), all of
 * its messages in arrival order, each with its arrival time as the
 * envelope's `receivedAt`. Training messages are scored too, because they
 * are the history a gateway would have seen, but only the test split is
 * returned for the metrics. The replay is deterministic, so the metrics can
 * be recomputed exactly.
 */
export async function scoreReplay(makeScorer: () => Promise<Scorer>, messages: readonly CorpusMessage[], label = 'replay'): Promise<SetScores[]> {
  const bySet = new Map<string, CorpusMessage[]>();
  for (const message of messages) {
    const list = bySet.get(message.set) ?? [];
    list.push(message);
    bySet.set(message.set, list);
  }
  const progress = new Progress(label, messages.length);
  const results: SetScores[] = [];
  for (const [set, members] of bySet) {
    const timed = await inArrivalOrder(members);

    const scorer = await makeScorer();
    const items: Scored[] = [];
    for (const { message, time } of timed) {
      progress.tick();
      let score: number;
      try {
        score = (await scorer.score(message.raw, { receivedAt: new Date(time) })).score;
      } catch (error) {
        // A message the scorer cannot read counts on the ham side, as a gateway would accept it.
        process.stderr.write(`\nscoring failed for ${message.path}: ${error instanceof Error ? error.message : String(error)}\n`);
        score = Number.NEGATIVE_INFINITY;
      }
      if (message.split === 'test') items.push({ score, spam: message.label === 'spam' });
    }
    await scorer.close();
    results.push({ set, items });
  }
  progress.done();
  return results;
}

export function metricsFor(set: string, items: readonly Scored[], spamThreshold: number): SetMetrics {
  const spam = items.filter((item) => item.spam).length;
  const { fpr, fnr } = ratesAt(items, spamThreshold);
  return {
    set,
    messages: items.length,
    ham: items.length - spam,
    spam,
    auc: rocAuc(items),
    fpr,
    fnr,
    recallAtFpr1: recallAtFpr(items, 0.01),
    recallAtFpr01: recallAtFpr(items, 0.001),
  };
}

/**
 * Rows for the report: one per set, a pooled row for the modern sets, and
 * for each modern set with one class only a row that pairs it with the
 * other class of the pooled modern sets, so every set gets an AUC and a
 * recall figure of its own.
 */
export function metricRows(scored: readonly SetScores[], spamThreshold: number, baseSet: string): SetMetrics[] {
  const rows = scored.map((entry) => metricsFor(entry.set, entry.items, spamThreshold));
  const modernSets = scored.filter((entry) => entry.set !== baseSet);
  const modern = modernSets.flatMap((entry) => entry.items);
  if (modern.length === 0) return rows;
  rows.push(metricsFor('modern sets combined', modern, spamThreshold));
  const modernHam = modern.filter((item) => !item.spam);
  const modernSpam = modern.filter((item) => item.spam);
  for (const entry of modernSets) {
    const hasSpam = entry.items.some((item) => item.spam);
    const hasHam = entry.items.some((item) => !item.spam);
    if (hasSpam && !hasHam && modernHam.length > 0) rows.push(metricsFor(`${entry.set} vs all modern ham`, [...entry.items, ...modernHam], spamThreshold));
    if (hasHam && !hasSpam && modernSpam.length > 0) rows.push(metricsFor(`${entry.set} vs all modern spam`, [...entry.items, ...modernSpam], spamThreshold));
  }
  return rows;
}

function percent(value: number | null, digits = 2): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(digits)}%`;
}

export function metricsTable(rows: readonly SetMetrics[]): string {
  const lines = [
    '| set | messages | ham | spam | ROC AUC | FPR at default | FNR at default | recall at FPR ≤ 1% | recall at FPR ≤ 0.1% |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    lines.push(`| ${row.set} | ${row.messages} | ${row.ham} | ${row.spam} | ${row.auc === null ? 'n/a' : row.auc.toFixed(4)} | ${percent(row.fpr)} | ${percent(row.fnr)} | ${percent(row.recallAtFpr1, 1)} | ${percent(row.recallAtFpr01, 1)} |`);
  }
  return lines.join('\n');
}

const COLOURS = ['#1b6ca8', '#d1495b', '#2e933c', '#edae49', '#6a4c93', '#00798c', '#8d6a9f', '#3d405b'];

/** Renders ROC curves as a standalone SVG, FPR on a log axis from 0.01% to 100%. */
export function rocSvg(curves: readonly { label: string; items: readonly Scored[] }[], title: string): string {
  const width = 640;
  const height = 480;
  const left = 60;
  const bottom = 50;
  const plotWidth = width - left - 20;
  const plotHeight = height - bottom - 40;
  const minLog = -4;
  const x = (fpr: number): number => left + ((Math.log10(Math.max(fpr, 1e-4)) - minLog) / -minLog) * plotWidth;
  const y = (tpr: number): number => height - bottom - tpr * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${left + plotWidth}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${left}" y2="${height - bottom - plotHeight}" stroke="black"/>`,
  ];
  for (let exponent = minLog; exponent <= 0; exponent += 1) {
    const position = x(10 ** exponent);
    parts.push(`<line x1="${position}" y1="${height - bottom}" x2="${position}" y2="${height - bottom - plotHeight}" stroke="#ddd"/>`);
    parts.push(`<text x="${position}" y="${height - bottom + 16}" text-anchor="middle">${(100 * 10 ** exponent).toString()}%</text>`);
  }
  for (let tick = 0; tick <= 10; tick += 2) {
    const position = y(tick / 10);
    parts.push(`<line x1="${left}" y1="${position}" x2="${left + plotWidth}" y2="${position}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${position + 4}" text-anchor="end">${tick * 10}%</text>`);
  }
  parts.push(`<text x="${left + plotWidth / 2}" y="${height - 12}" text-anchor="middle">false-positive rate (log scale)</text>`);
  parts.push(`<text x="16" y="${height / 2}" text-anchor="middle" transform="rotate(-90 16 ${height / 2})">spam recall</text>`);
  curves.forEach((curve, index) => {
    const points = rocCurve(curve.items);
    if (points.length === 0) return;
    const colour = COLOURS[index % COLOURS.length] as string;
    const path = points.map((point) => `${x(point.fpr).toFixed(1)},${y(point.tpr).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${path}"/>`);
    parts.push(`<text x="${left + plotWidth - 8}" y="${height - bottom - 12 - index * 16}" text-anchor="end" fill="${colour}">${escapeXml(curve.label)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
