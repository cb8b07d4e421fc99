import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../cli/capture.js';
import { RESCAN_CSV_COLUMNS, writeCsvReport } from '../../src/rescan/csv.js';
import { writeHtmlReport } from '../../src/rescan/html.js';
import { previousFilterResult } from '../../src/rescan/job.js';
import type { RescanRow } from '../../src/rescan/report.js';
import { binEdges, binIndex, reportStats } from '../../src/rescan/stats.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-export-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function row(source: string, overrides: Partial<RescanRow> = {}): RescanRow {
  return {
    source,
    messageId: `${source}@example.com`,
    sha256: 'c'.repeat(64),
    verdict: 'ham',
    score: 0,
    symbols: [],
    degraded: [],
    error: null,
    previousScore: null,
    previousFlagged: null,
    modelVersion: 'v1',
    ...overrides,
  };
}

async function reportOf(name: string, rows: RescanRow[]): Promise<string> {
  const file = path.join(root, `${name}.jsonl`);
  await writeFile(file, rows.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  return file;
}

/** Rows with earlier scores: two changed verdicts (one each way), two unchanged, one failure. */
const MIXED: RescanRow[] = [
  row('a', { verdict: 'ham', score: -2, previousScore: 6.5, previousFlagged: true }),
  row('b', { verdict: 'spam', score: 12, previousScore: 1, previousFlagged: false }),
  row('c', { verdict: 'spam', score: 11.5, previousScore: 9, previousFlagged: true }),
  row('d', { verdict: 'ham', score: -1, previousScore: -0.5, previousFlagged: false }),
  row('e', { verdict: 'suspect', score: 3 }),
  row('f', { sha256: null, verdict: null, score: null, error: { code: 'SPAMWARD_SOURCE_FAILED', message: 'f is empty, "really"' }, modelVersion: null }),
];

describe('previous filter result', () => {
  it('reads X-Spam-Score', () => {
    const raw = Buffer.from('X-Spam-Score: 4.2\nSubject: x\n\nX-Spam-Score: 9\n');
    expect(previousFilterResult(raw)).toEqual({ score: 4.2, flagged: null });
  });

  it('reads X-Spam-Status score', () => {
    const raw = Buffer.from('Subject: x\r\nX-Spam-Status: Yes, score=12.3 required=5.0\r\n\ttests=A,B\r\n\r\nbody');
    expect(previousFilterResult(raw)).toEqual({ score: 12.3, flagged: true });
  });

  it('reads old hits= on a folded line', () => {
    const raw = Buffer.from('X-Spam-Status: No,\n\thits=-2.5 required=5.0\n\nbody');
    expect(previousFilterResult(raw)).toEqual({ score: -2.5, flagged: false });
  });

  it('reads X-Spam-Flag', () => {
    expect(previousFilterResult(Buffer.from('X-Spam-Flag: YES\n\n'))).toEqual({ score: null, flagged: true });
  });

  it('ignores the body', () => {
    expect(previousFilterResult(Buffer.from('Subject: x\n\nX-Spam-Status: Yes, score=3\n'))).toEqual({ score: null, flagged: null });
  });
});

describe('histogram bins', () => {
  it('covers the range', () => {
    const edges = binEdges(-2.3, 12);
    expect(edges[0]).toBeLessThanOrEqual(-2.3);
    expect(edges.at(-1)).toBeGreaterThanOrEqual(12);
    expect(binIndex(edges, -2.3)).toBe(0);
    expect(binIndex(edges, 12)).toBe(edges.length - 2);
  });

  it('handles one value', () => {
    const edges = binEdges(3, 3);
    expect(edges.length).toBeGreaterThanOrEqual(2);
    expect(binIndex(edges, 3)).toBe(0);
  });
});

describe('csv report', () => {
  it('writes a header and one line per row', async () => {
    const report = await reportOf('csv', MIXED);
    const file = path.join(root, 'out.csv');
    const count = await writeCsvReport(report, file);
    const text = await readFile(file, 'utf8');
    const lines = parseCsv(text);

    expect(count).toBe(6);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(lines[0]).toEqual([...RESCAN_CSV_COLUMNS]);
    expect(lines).toHaveLength(7);
    const failed = lines[6] ?? [];
    expect(failed[RESCAN_CSV_COLUMNS.indexOf('errorMessage')]).toBe('f is empty, "really"');
    expect(failed[RESCAN_CSV_COLUMNS.indexOf('score')]).toBe('');
    const first = lines[1] ?? [];
    expect(first[RESCAN_CSV_COLUMNS.indexOf('previousScore')]).toBe('6.5');
    expect(first[RESCAN_CSV_COLUMNS.indexOf('previousFlagged')]).toBe('true');
    expect(first[RESCAN_CSV_COLUMNS.indexOf('modelVersion')]).toBe('v1');
  });

  it('joins symbols', async () => {
    const report = await reportOf('symbols', [row('s', { symbols: [{ name: 'A', score: 1.5 }, { name: 'B', score: -2 }], degraded: ['x: y', 'z: w'] })]);
    const file = path.join(root, 'symbols.csv');
    await writeCsvReport(report, file);
    const line = parseCsv(await readFile(file, 'utf8'))[1] ?? [];

    expect(line[RESCAN_CSV_COLUMNS.indexOf('symbols')]).toBe('A=1.5;B=-2');
    expect(line[RESCAN_CSV_COLUMNS.indexOf('degraded')]).toBe('x: y;z: w');
  });
});

describe('html report', () => {
  it('counts verdicts and changes', async () => {
    const stats = await reportStats(await reportOf('stats', MIXED));

    expect(stats.verdicts).toEqual({ ham: 2, suspect: 1, spam: 2, errors: 1 });
    expect(stats.withPreviousScore).toBe(4);
    expect(stats.comparable).toBe(4);
    expect(stats.newlyFlagged).toBe(1);
    expect(stats.noLongerFlagged).toBe(1);
    expect(stats.changes.map((change) => change.source)).toEqual(['a', 'b']);
    expect(stats.modelVersions).toEqual({ v1: 5 });
  });

  it('fills both histograms', async () => {
    const stats = await reportStats(await reportOf('histogram', MIXED));
    const histogram = stats.histogram;

    expect(histogram).not.toBeNull();
    expect(histogram?.after.reduce((sum, value) => sum + value, 0)).toBe(5);
    expect(histogram?.before.reduce((sum, value) => sum + value, 0)).toBe(4);
    const edges = histogram?.edges ?? [];
    expect(histogram?.after[binIndex(edges, -2)]).toBe(1);
    // 11.5 and 12 share the last bin, which includes its upper edge.
    expect(histogram?.after[binIndex(edges, 12)]).toBe(2);
    expect(histogram?.before[binIndex(edges, 6.5)]).toBe(1);
  });

  it('writes a self-contained page', async () => {
    const report = await reportOf('page', [...MIXED, row('<script>alert(1)</script>', { verdict: 'ham', score: 1, previousFlagged: true })]);
    const file = path.join(root, 'page.html');
    await writeHtmlReport(report, file);
    const html = await readFile(file, 'utf8');

    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    expect(html).toContain('<tr><td>spam</td><td>2</td></tr>');
    expect(html).toContain('<tr><td>errors</td><td>1</td></tr>');
    expect(html).toContain('3 of 5 messages with an earlier verdict changed: 1 are now flagged');
    expect(html).toContain('&#60;script&#62;');
    expect(html).toContain('<th>Earlier filter</th>');
  });

  it('shows new scores only without earlier ones', async () => {
    const report = await reportOf('plain', [row('x', { score: 1 }), row('y', { score: 2, verdict: 'suspect' })]);
    const file = path.join(root, 'plain.html');
    const stats = await writeHtmlReport(report, file);
    const html = await readFile(file, 'utf8');

    expect(stats.withPreviousScore).toBe(0);
    expect(html).not.toContain('Earlier filter');
    expect(html).toContain('only the new scores are shown');
    expect(html).toContain('No scored message says whether an earlier filter flagged it');
  });
});
