import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { DEFAULT_REPORT_POINTS, reportSymbols, resolveReportPoints } from '../../src/pipeline/reports.js';
import type { KeyStats } from '../../src/store/index.js';

function stats(spamReports: number, hamReports: number): KeyStats {
  return { count1m: 0, count1h: 0, count24h: 0, firstSeenAgeSeconds: 10, distinctRecipients: 1, hamVerdicts: 0, spamVerdicts: 0, spamReports, hamReports };
}

const keys = { keys: ['sender:a@example.com', 'content:ab'], byKind: { sender: 'sender:a@example.com', content: 'content:ab' } };

describe('reportSymbols', () => {
  it('adds points for content and sender reported as spam', () => {
    const symbols = reportSymbols(keys, { 'sender:a@example.com': stats(1, 0), 'content:ab': stats(2, 0) }, DEFAULT_REPORT_POINTS);
    expect(symbols.map((symbol) => [symbol.name, symbol.score])).toEqual([
      ['REPORTED_SPAM_CONTENT', DEFAULT_REPORT_POINTS.content],
      ['REPORTED_SPAM_SENDER', DEFAULT_REPORT_POINTS.sender],
    ]);
    expect(symbols[0]?.source).toBe('feedback');
    expect(symbols[0]?.description).toContain('2 spam, 0 ham reports');
  });

  it('takes points off for ham reports and nothing for a tie', () => {
    const symbols = reportSymbols(keys, { 'sender:a@example.com': stats(1, 1), 'content:ab': stats(0, 1) }, DEFAULT_REPORT_POINTS);
    expect(symbols.map((symbol) => [symbol.name, symbol.score])).toEqual([['REPORTED_HAM_CONTENT', -DEFAULT_REPORT_POINTS.content]]);
  });

  it('is silent without stats, without reports, or with the points at 0', () => {
    expect(reportSymbols(keys, null, DEFAULT_REPORT_POINTS)).toEqual([]);
    expect(reportSymbols(keys, { 'content:ab': stats(0, 0) }, DEFAULT_REPORT_POINTS)).toEqual([]);
    expect(reportSymbols(keys, { 'content:ab': stats(3, 0) }, { content: 0, sender: 4 })).toEqual([]);
  });
});

describe('resolveReportPoints', () => {
  it('takes overrides and rejects negative or non-finite points', () => {
    expect(resolveReportPoints({ sender: 2 })).toEqual({ content: DEFAULT_REPORT_POINTS.content, sender: 2 });
    expect(() => resolveReportPoints({ content: -1 })).toThrow(OptionsError);
    expect(() => resolveReportPoints({ sender: Number.NaN })).toThrow(/reportPoints.sender/);
  });
});
