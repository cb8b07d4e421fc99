/**
 * The HTML report of a rescan: one self-contained page with inline CSS and
 * SVG, and no scripts or external assets. It shows the verdict counts and a
 * histogram of the new scores. When the messages carry an earlier filter's
 * score or verdict, it shows the earlier scores beside the new ones and the
 * messages whose verdict changed. It is written from the JSONL report, so a
 * resumed run writes the same page.
 */
import { rename, writeFile } from 'node:fs/promises';
import { MAX_LISTED_CHANGES, reportStats, type Histogram, type ReportStats } from './stats.js';

/** Size of the histogram drawing, in CSS pixels. */
const CHART_WIDTH = 720;
const CHART_HEIGHT = 220;
const CHART_MARGIN = { top: 10, right: 10, bottom: 40, left: 50 } as const;

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}td.text{text-align:left;word-break:break-all}
.before{fill:#999}.after{fill:#2b6cb0}.key span{display:inline-block;width:1em;height:1em;margin:0 .3em 0 1em;vertical-align:middle}
svg text{font-size:11px;fill:#444}`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function row(cells: (string | number)[], header = false): string {
  const tag = header ? 'th' : 'td';
  return `<tr>${cells.map((cell) => `<${tag}>${typeof cell === 'number' ? cell : escapeHtml(cell)}</${tag}>`).join('')}</tr>`;
}

function binLabel(edges: readonly number[], index: number): string {
  return `${edges[index] ?? ''} to ${edges[index + 1] ?? ''}`;
}

/** Draws the histogram as SVG bars: the new scores, and the earlier ones beside them when `showBefore`. */
function histogramSvg(histogram: Histogram, showBefore: boolean): string {
  const bins = histogram.after.length;
  const plotWidth = CHART_WIDTH - CHART_MARGIN.left - CHART_MARGIN.right;
  const plotHeight = CHART_HEIGHT - CHART_MARGIN.top - CHART_MARGIN.bottom;
  const highest = Math.max(1, ...histogram.after, ...(showBefore ? histogram.before : []));
  const slot = plotWidth / bins;
  const barWidth = showBefore ? slot * 0.4 : slot * 0.8;
  const parts: string[] = [];
  const bar = (value: number, x: number, kind: string, label: string): void => {
    const height = (value / highest) * plotHeight;
    const y = CHART_MARGIN.top + plotHeight - height;
    parts.push(`<rect class="${kind}" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}"><title>${escapeHtml(label)}</title></rect>`);
  };
  for (let index = 0; index < bins; index += 1) {
    const left = CHART_MARGIN.left + index * slot + slot * 0.1;
    const range = binLabel(histogram.edges, index);
    if (showBefore) bar(histogram.before[index] ?? 0, left, 'before', `earlier score ${range}: ${histogram.before[index] ?? 0}`);
    bar(histogram.after[index] ?? 0, showBefore ? left + barWidth : left, 'after', `new score ${range}: ${histogram.after[index] ?? 0}`);
  }
  const axisY = CHART_MARGIN.top + plotHeight;
  parts.push(`<line x1="${CHART_MARGIN.left}" y1="${axisY}" x2="${CHART_WIDTH - CHART_MARGIN.right}" y2="${axisY}" stroke="#444"/>`);
  const labelEvery = Math.ceil(bins / 10);
  for (let index = 0; index <= bins; index += labelEvery) {
    const x = CHART_MARGIN.left + index * slot;
    parts.push(`<text x="${x.toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${histogram.edges[index] ?? ''}</text>`);
  }
  parts.push(`<text x="${CHART_MARGIN.left + plotWidth / 2}" y="${CHART_HEIGHT - 6}" text-anchor="middle">score</text>`);
  parts.push(`<text x="${CHART_MARGIN.left - 8}" y="${CHART_MARGIN.top + 10}" text-anchor="end">${highest}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" role="img" aria-label="Score histogram">${parts.join('')}</svg>`;
}

function histogramSection(stats: ReportStats): string {
  const histogram = stats.histogram;
  if (histogram === null) return '<h2>Scores</h2><p>No message was scored.</p>';
  const showBefore = stats.withPreviousScore > 0;
  const key = showBefore ? '<p class="key"><span style="background:#999"></span>earlier filter<span style="background:#2b6cb0"></span>this rescan</p>' : '';
  const header = showBefore ? row(['Score', 'Earlier filter', 'This rescan'], true) : row(['Score', 'Messages'], true);
  const lines = histogram.after.map((after, index) => {
    const label = binLabel(histogram.edges, index);
    return showBefore ? row([label, histogram.before[index] ?? 0, after]) : row([label, after]);
  });
  const note = showBefore
    ? `<p>${stats.withPreviousScore} scored messages carry an earlier filter's score (X-Spam-Score or X-Spam-Status). Earlier filters such as SpamAssassin use their own scale, so compare the shapes, not the positions.</p>`
    : '<p>No message carries an earlier filter\'s score (X-Spam-Score or X-Spam-Status), so only the new scores are shown.</p>';
  return `<h2>Scores</h2>${note}${key}${histogramSvg(histogram, showBefore)}<table class="histogram">${header}${lines.join('')}</table>`;
}

function changesSection(stats: ReportStats): string {
  if (stats.comparable === 0) return '<h2>Changed verdicts</h2><p>No scored message says whether an earlier filter flagged it (X-Spam-Status or X-Spam-Flag).</p>';
  const changed = stats.newlyFlagged + stats.noLongerFlagged;
  const summary =
    `<p id="changed">${changed} of ${stats.comparable} messages with an earlier verdict changed: ${stats.newlyFlagged} are now flagged (suspect or spam) and ` +
    `${stats.noLongerFlagged} are no longer flagged (ham).</p>`;
  if (stats.changes.length === 0) return `<h2>Changed verdicts</h2>${summary}`;
  const listed = changed > stats.changes.length ? `<p>The first ${MAX_LISTED_CHANGES} are listed.</p>` : '';
  const lines = stats.changes.map(
    (change) =>
      `<tr><td class="text">${escapeHtml(change.source)}</td><td class="text">${escapeHtml(change.messageId ?? '')}</td><td>${change.previousScore ?? ''}</td><td>${change.score}</td><td>${change.verdict}</td></tr>`,
  );
  return `<h2>Changed verdicts</h2>${summary}${listed}<table>${row(['Source', 'Message-ID', 'Earlier score', 'New score', 'New verdict'], true)}${lines.join('')}</table>`;
}

/** Renders the page for `stats`. `title` names the report, such as the JSONL file. */
export function renderHtmlReport(stats: ReportStats, title: string): string {
  const verdicts = row(['Verdict', 'Messages'], true) + (['ham', 'suspect', 'spam', 'errors'] as const).map((name) => row([name, stats.verdicts[name]])).join('') + row(['total', stats.rows]);
  const versions = Object.entries(stats.modelVersions)
    .map(([version, count]) => `${escapeHtml(version)} (${count})`)
    .join(', ');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>spamward rescan: ${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>spamward rescan</h1><p>Report: ${escapeHtml(title)}. Model versions: ${versions === '' ? 'none' : versions}.</p>
<h2>Verdicts</h2><table class="verdicts">${verdicts}</table>
${histogramSection(stats)}
${changesSection(stats)}
</body></html>
`;
}

/**
 * Writes the HTML report of the JSONL `reportFile` to `htmlFile`, under a
 * temporary name that is then renamed. Returns the stats it shows. Throws a
 * RescanReportError for a bad report line and the system error when a file
 * cannot be read or written.
 */
export async function writeHtmlReport(reportFile: string, htmlFile: string, title = reportFile): Promise<ReportStats> {
  const stats = await reportStats(reportFile);
  const temporary = `${htmlFile}.tmp`;
  await writeFile(temporary, renderHtmlReport(stats, title));
  await rename(temporary, htmlFile);
  return stats;
}
