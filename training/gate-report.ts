import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPAMASSASSIN_SET } from './corpus.js';
import { metricsTable, rocSvg, type SetScores } from './evaluation.js';
import type { GateDecision, ModelEvaluation } from './gate.js';
import type { Scored } from './metrics.js';

/**
 * The retraining report: the gate's checks, ROC curves and score histograms
 * of the active and the candidate model, and the feedback messages whose
 * verdict the candidate changes. Written as gate.md with two SVG files.
 */

/** Histogram bins: scores are clamped into [MIN_SCORE, MAX_SCORE). */
const MIN_SCORE = -20;
const MAX_SCORE = 30;
const BIN_WIDTH = 2;

function pooled(scores: readonly SetScores[], base: boolean): Scored[] {
  return scores.filter((entry) => (entry.set === SPAMASSASSIN_SET) === base).flatMap((entry) => entry.items);
}

function bins(items: readonly Scored[], spam: boolean): number[] {
  const counts = new Array<number>((MAX_SCORE - MIN_SCORE) / BIN_WIDTH).fill(0);
  for (const item of items) {
    if (item.spam !== spam || !Number.isFinite(item.score)) continue;
    const clamped = Math.min(MAX_SCORE - 1e-9, Math.max(MIN_SCORE, item.score));
    const index = Math.floor((clamped - MIN_SCORE) / BIN_WIDTH);
    counts[index] = (counts[index] ?? 0) + 1;
  }
  return counts;
}

/** Renders ham and spam score histograms of two models side by side as one SVG, with each model's spam threshold. */
export function histogramSvg(panels: readonly { label: string; items: readonly Scored[]; threshold: number }[]): string {
  const panelWidth = 420;
  const panelHeight = 240;
  const left = 50;
  const top = 40;
  const width = panels.length * panelWidth + 20;
  const height = panelHeight + 90;
  const binCount = (MAX_SCORE - MIN_SCORE) / BIN_WIDTH;
  const plotWidth = panelWidth - left - 10;

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  panels.forEach((panel, panelIndex) => {
    const x0 = panelIndex * panelWidth + left;
    const ham = bins(panel.items, false);
    const spam = bins(panel.items, true);
    const peak = Math.max(1, ...ham, ...spam);
    const x = (score: number): number => x0 + ((score - MIN_SCORE) / (MAX_SCORE - MIN_SCORE)) * plotWidth;
    const y = (count: number): number => top + panelHeight - (count / peak) * panelHeight;

    // Title, axis and tick labels.
    parts.push(`<text x="${x0 + plotWidth / 2}" y="24" text-anchor="middle" font-size="14">${escapeXml(panel.label)}</text>`);
    parts.push(`<line x1="${x0}" y1="${top + panelHeight}" x2="${x0 + plotWidth}" y2="${top + panelHeight}" stroke="black"/>`);
    for (let score = MIN_SCORE; score <= MAX_SCORE; score += 10) {
      parts.push(`<text x="${x(score)}" y="${top + panelHeight + 16}" text-anchor="middle">${score}</text>`);
    }
    parts.push(`<text x="${x0 - 6}" y="${top + 10}" text-anchor="end">${peak}</text>`);

    // One ham and one spam bar per bin, drawn half transparent so overlaps show.
    for (let index = 0; index < binCount; index += 1) {
      const start = MIN_SCORE + index * BIN_WIDTH;
      const barWidth = (BIN_WIDTH / (MAX_SCORE - MIN_SCORE)) * plotWidth;
      for (const [counts, colour] of [[ham, '#2e933c'], [spam, '#d1495b']] as const) {
        const count = counts[index] ?? 0;
        if (count === 0) continue;
        parts.push(`<rect x="${x(start).toFixed(1)}" y="${y(count).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(top + panelHeight - y(count)).toFixed(1)}" fill="${colour}" fill-opacity="0.5"/>`);
      }
    }

    const threshold = Math.min(MAX_SCORE, Math.max(MIN_SCORE, panel.threshold));
    parts.push(`<line x1="${x(threshold)}" y1="${top}" x2="${x(threshold)}" y2="${top + panelHeight}" stroke="black" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x(threshold) + 4}" y="${top + 12}">spam ≥ ${panel.threshold}</text>`);
    parts.push(`<text x="${x0 + plotWidth / 2}" y="${top + panelHeight + 36}" text-anchor="middle">score (clamped to ${MIN_SCORE}…${MAX_SCORE}); green ham, red spam</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function flippedRows(active: ModelEvaluation, candidate: ModelEvaluation): string[] {
  const before = new Map(active.feedback.map((outcome) => [outcome.sha256, outcome]));
  const rows: string[] = [];
  for (const after of candidate.feedback) {
    const old = before.get(after.sha256);
    if (!old || old.verdict === after.verdict) continue;
    rows.push(`| \`${after.sha256.slice(0, 16)}\` | ${after.label} | ${after.heldOut ? 'yes' : 'no'} | ${old.score.toFixed(2)} ${old.verdict} | ${after.score.toFixed(2)} ${after.verdict} |`);
  }
  return rows;
}

export interface GateReportInput {
  active: ModelEvaluation;
  candidate: ModelEvaluation;
  decision: GateDecision;
  /** Outcome after the gate: promoted, rejected, or promoted with --force. */
  outcome: string;
  command: string;
}

/** Writes gate.md, gate-roc.svg and gate-histogram.svg into `dir` and returns the path of gate.md. */
export function writeGateReport(dir: string, input: GateReportInput): string {
  const { active, candidate, decision } = input;
  mkdirSync(dir, { recursive: true });
  const curves = [
    { label: `${active.version}, SpamAssassin test split`, items: pooled(active.scores, true) },
    { label: `${candidate.version}, SpamAssassin test split`, items: pooled(candidate.scores, true) },
  ];
  if (pooled(active.scores, false).length > 0) {
    curves.push({ label: `${active.version}, modern sets`, items: pooled(active.scores, false) });
    curves.push({ label: `${candidate.version}, modern sets`, items: pooled(candidate.scores, false) });
  }
  writeFileSync(join(dir, 'gate-roc.svg'), rocSvg(curves, `ROC: active ${active.version} vs candidate ${candidate.version}`));
  writeFileSync(
    join(dir, 'gate-histogram.svg'),
    histogramSvg([
      { label: `active ${active.version}`, items: active.scores.flatMap((entry) => entry.items), threshold: active.spamThreshold },
      { label: `candidate ${candidate.version}`, items: candidate.scores.flatMap((entry) => entry.items), threshold: candidate.spamThreshold },
    ]),
  );
  const flipped = flippedRows(active, candidate);
  const held = candidate.feedback.filter((outcome) => outcome.heldOut).length;
  const text = `# Retraining gate: candidate ${candidate.version} vs active ${active.version}

Command: \`${input.command}\`
Date: ${new Date().toISOString()}

Outcome: **${input.outcome}**

| check | result | detail |
| --- | --- | --- |
${decision.checks.map((check) => `| ${check.name} | ${check.passed ? 'pass' : 'FAIL'} | ${check.detail} |`).join('\n')}

## Active model ${active.version}

${metricsTable(active.rows)}

## Candidate ${candidate.version}

${metricsTable(candidate.rows)}

![ROC curves](gate-roc.svg)

![Score histograms](gate-histogram.svg)

## Feedback whose verdict changed

${candidate.feedback.length} feedback messages, ${held} of them held out of training. Scores are without a behaviour store.

${flipped.length === 0 ? 'None.' : ['| sha256 | label | held out | active | candidate |', '| --- | --- | --- | --- | --- |', ...flipped].join('\n')}
`;
  const path = join(dir, 'gate.md');
  writeFileSync(path, text);
  return path;
}
