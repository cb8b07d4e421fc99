import { describe, expect, it } from 'vitest';
import { createRecordWriter, csvField, errorRecord, escapeControlCharacters, resultRecord, summaryLine } from '../../src/cli/format.js';
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
  timings: { parse: 0, features: 0, model: 0, heuristics: 0, total: 0 },
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
    expect(record.symbols[0]).toEqual({ name: 'RULE_A', score: 2 });
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
    expect(row).toMatch(/^error\s+-\s+-\s+x\.eml\s+SPAMWARD_SOURCE_FAILED: Cannot read x\.eml: permission denied\.$/);
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
