import { describe, expect, test } from 'vitest';
import { createHeuristics, RULES } from '../../src/heuristics/index.js';
import { LIMIT_SYMBOLS } from '../../src/parse/limits.js';
import { parseMessage } from '../../src/parse/index.js';
import { CASES, EDGE_CASES, type Sample } from './cases.js';
import { BASE_BODY, htmlMail, mail } from './messages.js';

const heuristics = createHeuristics();

async function firedSymbols(sample: Sample): Promise<string[]> {
  const message = await parseMessage(sample.raw, sample.limits);
  return heuristics.run(message, sample.envelope).map((hit) => hit.symbol);
}

describe('rule table', () => {
  test('every rule has a case', () => {
    const missing = RULES.map((rule) => rule.symbol).filter((symbol) => !(symbol in CASES));
    expect(missing).toEqual([]);
  });

  test('every case names a rule', () => {
    const symbols = new Set(RULES.map((rule) => rule.symbol));
    const unknown = Object.keys(CASES).filter((symbol) => !symbols.has(symbol));
    expect(unknown).toEqual([]);
  });

  test('every parse limit has a rule', () => {
    const parseRules = RULES.filter((rule) => rule.group === 'parse').map((rule) => rule.symbol);
    for (const symbol of Object.values(LIMIT_SYMBOLS)) expect(parseRules).toContain(symbol);
  });
});

describe.each(Object.entries(CASES))('%s', (symbol, ruleCase) => {
  test('fires', async () => {
    expect(await firedSymbols(ruleCase.fires)).toContain(symbol);
  });

  test('stays quiet', async () => {
    expect(await firedSymbols(ruleCase.quiet)).not.toContain(symbol);
  });
});

describe('rule edges', () => {
  test.each(EDGE_CASES)('%s (%s)', async (_name, symbol, sample, fires) => {
    const symbols = await firedSymbols(sample);
    if (fires) expect(symbols).toContain(symbol);
    else expect(symbols).not.toContain(symbol);
  });
});

describe('clean mail', () => {
  test('plain message fires nothing', async () => {
    expect(await firedSymbols({ raw: mail() })).toEqual([]);
  });

  test('HTML alternative fires nothing', async () => {
    const html = `<html><body><p>${BASE_BODY}</p><a href="https://www.example.org/notes">www.example.org</a></body></html>`;
    expect(await firedSymbols({ raw: htmlMail(html, `${BASE_BODY}\nhttps://www.example.org/notes`) })).toEqual([]);
  });
});

// Inputs that a regular expression with unbounded repetition would scan in
// quadratic time; each must finish well inside the test timeout.
describe('large adversarial input', () => {
  const inputs: [string, string][] = [
    ['digit run', mail({}, '1,'.repeat(50_000))],
    ['long display name', mail({ From: `"${'a'.repeat(16_000)}" <alice@example.org>` })],
    ['zero-width run', mail({ 'Content-Type': 'text/plain; charset=utf-8' }, 'a\u200b'.repeat(40_000))],
    ['repeated phrase prefix', mail({}, 'verify your '.repeat(10_000))],
    ['long anchor text', htmlMail(`<a href="https://www.example.net/">${'a.'.repeat(20_000)}com</a>`, 'link')],
  ];

  test.each(inputs)('%s', async (_name, raw) => {
    const hits = createHeuristics().run(await parseMessage(raw));
    expect(hits.map((hit) => hit.symbol)).not.toContain('RULE_ERROR');
  });
});
