import { describe, expect, it } from 'vitest';
import { authSummary, createRecordWriter, dnsStatsLine, errorRecord, escapeControlCharacters, resultRecord, summaryLine } from '../../src/cli/format.js';
import { csvField } from '../../src/csv.js';
import type { DnsStats } from '../../src/auth/dns/types.js';
import type { ScoreResult } from '../../src/pipeline/types.js';

const RESULT: ScoreResult = {
  messageId: 'm1@example.com',
  score: -0.0001,
  probability: 0.4999,
  verdict: 'ham',
  action: 'accept',
  symbols: [
    { name: 'RULE_A', score: 2.00049, description: 'a', source: 'rule' },
    { name: 'RULE_B', score: -1, description: 'b', source: 'rule' },
    { name: 'RULE_C', score: 0.5, description: 'c', source: 'rule' },
    { name: 'RULE_D', score: 0.25, description: 'd', source: 'rule' },
  ],
  degraded: [],
  modelProbability: null,
  modelVersion: null,
  auth: {
    spf: { result: 'unknown', reason: 'not checked' },
    dkim: { result: 'unknown', reason: 'not checked' },
    dmarc: { result: 'unknown', reason: 'not checked' },
    arc: { result: 'unknown', reason: 'not checked' },
    source: 'none',
  },
  timings: { parse: 0, auth: 0, features: 0, model: 0, heuristics: 0, total: 0 },
};

const KNOWN_AUTH: ScoreResult['auth'] = {
  spf: { result: 'pass', reason: 'sender IP is listed' },
  dkim: { result: 'fail', reason: 'body hash did not verify' },
  dmarc: { result: 'timeout', reason: 'deadline of 800 ms passed' },
  arc: { result: 'unknown', reason: 'not checked' },
  source: 'dns',
};

describe('csvField', () => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['', ''],
  ];
  it.each(cases)('quotes %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});

describe('resultRecord', () => {
  it('rounds and drops negative zero', () => {
    const record = resultRecord('a.eml', RESULT);
    expect(Object.is(record.score, 0)).toBe(true);
    expect(record.probability).toBe(0.5);
    expect(record.symbols[0]).toEqual({ name: 'RULE_A', score: 2, description: 'a' });
  });

  it('appends extra degraded entries', () => {
    const record = resultRecord('a.eml', { ...RESULT, degraded: ['model: unavailable'] }, ['source: truncated']);
    expect(record.degraded).toEqual(['model: unavailable', 'source: truncated']);
  });
});

describe('table writer', () => {
  it('shows three symbols and a count', () => {
    const writer = createRecordWriter('table');
    expect(writer.write(resultRecord('a.eml', RESULT))).toBe('');
    const text = writer.end();
    expect(text).toContain('RULE_A(+2) RULE_B(-1) RULE_C(+0.5) +1 more');
    expect(text).not.toContain('RULE_D');
  });

  it('prints full blocks as they fill', () => {
    const writer = createRecordWriter('table');
    const outputs: string[] = [];
    for (let i = 0; i < 450; i += 1) outputs.push(writer.write(resultRecord(`m${i}.eml`, RESULT)));
    outputs.push(writer.end());
    const blocks = outputs.filter((text) => text !== '');
    expect(blocks).toHaveLength(3);
    expect(blocks.map((block) => block.trimEnd().split('\n').length)).toEqual([201, 201, 51]);
    for (const block of blocks) expect(block.startsWith('VERDICT')).toBe(true);
  });

  it('shows errors in their row', () => {
    const writer = createRecordWriter('table');
    writer.write(errorRecord('x.eml', { code: 'SPAMWARD_SOURCE_FAILED', message: 'Cannot read x.eml: permission denied.' }));
    const [, row] = writer.end().trimEnd().split('\n');
    expect(row).toMatch(/^error\s+-\s+-\s+x\.eml\s+-\s+SPAMWARD_SOURCE_FAILED: Cannot read x\.eml: permission denied\.$/);
  });

  it('shows known auth results', () => {
    const writer = createRecordWriter('table');
    writer.write(resultRecord('a.eml', { ...RESULT, auth: KNOWN_AUTH }));
    const [header, row] = writer.end().trimEnd().split('\n');
    const authColumn = header!.indexOf('AUTH');
    expect(row!.slice(authColumn)).toMatch(/^spf=pass dkim=fail dmarc=timeout +RULE_A/);
  });
});

describe('auth in records', () => {
  it('copies results and reasons', () => {
    const record = resultRecord('a.eml', { ...RESULT, auth: KNOWN_AUTH });
    expect(record.auth).toEqual(KNOWN_AUTH);
  });

  it('is null for errors', () => {
    expect(errorRecord('x.eml', { code: 'SPAMWARD_SOURCE_FAILED', message: 'gone' }).auth).toBeNull();
  });

  it('writes results to CSV columns', () => {
    const writer = createRecordWriter('csv');
    const header = writer.start().trimEnd().split(',');
    const row = writer.write(resultRecord('a.eml', { ...RESULT, auth: KNOWN_AUTH })).trimEnd().split(',');
    const cell = (column: string): string | undefined => row[header.indexOf(column)];
    expect(cell('spf')).toBe('pass');
    expect(cell('dkim')).toBe('fail');
    expect(cell('dmarc')).toBe('timeout');
    expect(cell('arc')).toBe('unknown');
  });
});

describe('authSummary', () => {
  it('lists known results', () => {
    expect(authSummary(KNOWN_AUTH)).toBe('spf=pass dkim=fail dmarc=timeout');
  });

  it('shows a dash when all are unknown', () => {
    expect(authSummary(RESULT.auth)).toBe('-');
  });

  it('shows a dash for errors', () => {
    expect(authSummary(null)).toBe('-');
  });
});

describe('dnsStatsLine', () => {
  const stats: DnsStats = {
    queries: 3,
    cacheHits: 1,
    staleAnswers: 1,
    cachedFailures: 0,
    upstreamQueries: 2,
    hedgedQueries: 0,
    tcpFallbacks: 1,
    timeouts: 0,
    failures: { timeout: 0, servfail: 1, refused: 2, malformed: 0, skipped: 0, badname: 0 },
    cacheEntries: 2,
    breaker: { state: 'open', opened: 1, halfOpened: 0, closed: 0, healthChecks: 0 },
  };

  it('lists failures by status', () => {
    expect(dnsStatsLine(stats)).toBe('DNS: 3 lookups (1 cache hits, 1 stale), 2 queries sent (0 hedged, 1 over TCP), 0 query timeouts, 3 failed lookups (servfail 1, refused 2), breaker open.');
  });

  it('omits the breakdown without failures', () => {
    const line = dnsStatsLine({ ...stats, failures: { ...stats.failures, servfail: 0, refused: 0 } });
    expect(line).toContain('0 failed lookups, breaker open.');
  });
});

describe('escapeControlCharacters', () => {
  it('escapes C0 and C1 controls', () => {
    expect(escapeControlCharacters('a\u001b[2Jb\nc\u009bd')).toBe('a\\x1b[2Jb\\x0ac\\x9bd');
  });

  it('keeps printable text', () => {
    expect(escapeControlCharacters('café — ok')).toBe('café — ok');
  });
});

describe('summaryLine', () => {
  it('uses singular forms', () => {
    expect(summaryLine({ ham: 0, suspect: 0, spam: 0, errors: 1 })).toBe('Scanned 1 message: 0 ham, 0 suspect, 0 spam, 1 error.');
  });

  it('uses plural forms', () => {
    expect(summaryLine({ ham: 2, suspect: 1, spam: 1, errors: 0 })).toBe('Scanned 4 messages: 2 ham, 1 suspect, 1 spam, 0 errors.');
  });
});
