import { afterEach, describe, expect, test, vi } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { createHeuristics, describeRules, MAX_DETAIL_LENGTH, RULE_ERROR_SYMBOL, RULES, type RuleDefinition } from '../../src/heuristics/index.js';
import { parseMessage } from '../../src/parse/index.js';
import { encodedWord, mail } from './messages.js';

const spamMessage = () => parseMessage(mail({ 'Message-ID': null, Subject: 'URGENT BUSINESS PROPOSAL' }));

function rule(symbol: string, test: RuleDefinition['test'], score = 1): RuleDefinition {
  return { symbol, description: `${symbol} test rule`, score, group: 'content', test };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('RULES', () => {
  test('has at least 45 rules', () => {
    expect(RULES.length).toBeGreaterThanOrEqual(45);
  });

  test('symbols are UPPER_SNAKE', () => {
    const invalid = RULES.map((entry) => entry.symbol).filter((symbol) => !/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/.test(symbol));
    expect(invalid).toEqual([]);
  });

  test('symbols are unique', () => {
    const symbols = RULES.map((entry) => entry.symbol);
    expect(new Set(symbols).size).toBe(symbols.length);
  });

  test('default scores are modest', () => {
    for (const entry of RULES) {
      expect(entry.score, entry.symbol).toBeGreaterThanOrEqual(-1);
      expect(entry.score, entry.symbol).toBeLessThanOrEqual(3);
    }
  });

  test('some rules are hammy', () => {
    expect(RULES.filter((entry) => entry.score < 0).map((entry) => entry.symbol)).toEqual(expect.arrayContaining(['IN_REPLY_TO_PRESENT', 'LIST_HEADERS']));
  });

  test('no rule is named RULE_ERROR', () => {
    expect(RULES.map((entry) => entry.symbol)).not.toContain(RULE_ERROR_SYMBOL);
  });
});

describe('describeRules', () => {
  test('lists every rule with its default', () => {
    const rows = describeRules();
    expect(rows).toHaveLength(RULES.length);
    expect(rows).toContainEqual({ symbol: 'MISSING_MESSAGE_ID', description: 'No Message-ID header', score: 1, group: 'header' });
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(['description', 'group', 'score', 'symbol']);
  });
});

describe('createHeuristics config', () => {
  test('defaults apply without config', async () => {
    const hits = createHeuristics().run(await spamMessage());
    expect(hits.find((hit) => hit.symbol === 'MISSING_MESSAGE_ID')).toEqual({ symbol: 'MISSING_MESSAGE_ID', score: 1, description: 'No Message-ID header' });
  });

  test('scores replace defaults', async () => {
    const heuristics = createHeuristics({ scores: { MISSING_MESSAGE_ID: 2.5 } });
    const hit = heuristics.run(await spamMessage()).find((entry) => entry.symbol === 'MISSING_MESSAGE_ID');
    expect(hit?.score).toBe(2.5);
    const resolved = heuristics.rules.find((entry) => entry.symbol === 'MISSING_MESSAGE_ID');
    expect(resolved?.score).toBe(2.5);
    expect(resolved?.defaultScore).toBe(1);
  });

  test('re-scoring leaves other rules alone', async () => {
    const hits = createHeuristics({ scores: { MISSING_MESSAGE_ID: 2.5 } }).run(await spamMessage());
    expect(hits.find((hit) => hit.symbol === 'SUBJECT_ALL_CAPS')?.score).toBe(1);
  });

  test('disabled rules never fire', async () => {
    const heuristics = createHeuristics({ disabled: ['MISSING_MESSAGE_ID'] });
    const symbols = heuristics.run(await spamMessage()).map((hit) => hit.symbol);
    expect(symbols).not.toContain('MISSING_MESSAGE_ID');
    expect(symbols).toContain('SUBJECT_ALL_CAPS');
    expect(heuristics.rules.map((entry) => entry.symbol)).not.toContain('MISSING_MESSAGE_ID');
  });

  test('unknown score symbol is rejected', () => {
    expect(() => createHeuristics({ scores: { MISSING_MESAGE_ID: 1 } })).toThrow(OptionsError);
    expect(() => createHeuristics({ scores: { MISSING_MESAGE_ID: 1 } })).toThrow(/Unknown rule symbol "MISSING_MESAGE_ID" in heuristics scores/);
  });

  test('unknown disabled symbol is rejected', () => {
    expect(() => createHeuristics({ disabled: ['missing_message_id'] })).toThrow(/Unknown rule symbol "missing_message_id" in heuristics disabled/);
  });

  test('error names the input', () => {
    try {
      createHeuristics({ disabled: ['NOPE'] });
      expect.unreachable('createHeuristics accepted NOPE');
    } catch (error) {
      expect(error).toBeInstanceOf(OptionsError);
      expect((error as OptionsError).input).toBe('disabled.NOPE');
      expect((error as OptionsError).code).toBe('SPAMWARD_INVALID_OPTION');
    }
  });

  test.each([Number.NaN, Number.POSITIVE_INFINITY, '2', null])('score %s is rejected', (score) => {
    expect(() => createHeuristics({ scores: { MISSING_MESSAGE_ID: score as number } })).toThrow(/Invalid score for rule MISSING_MESSAGE_ID/);
  });

  test('negative and zero scores are accepted', () => {
    const heuristics = createHeuristics({ scores: { MISSING_MESSAGE_ID: 0, LIST_HEADERS: -2 } });
    expect(heuristics.rules.find((entry) => entry.symbol === 'LIST_HEADERS')?.score).toBe(-2);
  });

  test('malformed config shapes are rejected', () => {
    expect(() => createHeuristics('strict' as never)).toThrow(OptionsError);
    expect(() => createHeuristics({ scores: [] as never })).toThrow(/"scores" must be an object/);
    expect(() => createHeuristics({ disabled: 'MISSING_DATE' as never })).toThrow(/"disabled" must be an array/);
  });
});

describe('custom rule sets', () => {
  test('duplicate symbols are rejected', () => {
    const always = () => true;
    expect(() => createHeuristics({}, [rule('TWICE', always), rule('TWICE', always)])).toThrow(/Duplicate rule symbol "TWICE"/);
  });

  test.each(['lower_case', 'TRAILING_', 'RULE_ERROR', ''])('symbol %j is rejected', (symbol) => {
    expect(() => createHeuristics({}, [rule(symbol, () => true)])).toThrow(OptionsError);
  });

  test('non-finite default score is rejected', () => {
    expect(() => createHeuristics({}, [rule('BAD_SCORE', () => true, Number.NaN)])).toThrow(/invalid default score/);
  });

  test('empty string does not fire', async () => {
    const hits = createHeuristics({}, [rule('EMPTY_DETAIL', () => '')]).run(await spamMessage());
    expect(hits).toEqual([]);
  });
});

describe('run with a throwing rule', () => {
  const failing = rule('THROWS', () => {
    throw new Error('boom');
  });
  const working = rule('WORKS', () => 'still ran', 2);

  test('other rules still run', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const hits = createHeuristics({}, [failing, working]).run(await spamMessage());
    expect(hits).toContainEqual({ symbol: 'WORKS', score: 2, description: 'WORKS test rule', detail: 'still ran' });
  });

  test('failure is one zero-score hit', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const second = rule('THROWS_TOO', () => {
      throw new TypeError('bad');
    });
    const hits = createHeuristics({}, [failing, second, working]).run(await spamMessage());
    const errors = hits.filter((hit) => hit.symbol === RULE_ERROR_SYMBOL);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.score).toBe(0);
    expect(errors[0]?.detail).toBe('THROWS (boom), THROWS_TOO (bad)');
  });

  test('warning is emitted once per rule', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const heuristics = createHeuristics({}, [failing, working]);
    const message = await spamMessage();
    heuristics.run(message);
    heuristics.run(message);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]?.[0]).toMatch(/THROWS threw and was skipped: boom/);
    expect(warn.mock.calls[0]?.[1]).toEqual({ code: 'SPAMWARD_RULE_ERROR' });
  });

  test('built-in rules survive a malformed message', async () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const message = await spamMessage();
    const broken = { ...message, links: null, attachments: undefined, parts: 'x' } as never;
    const hits = createHeuristics().run(broken);
    expect(hits.map((hit) => hit.symbol)).toContain('MISSING_MESSAGE_ID');
    expect(hits.filter((hit) => hit.symbol === RULE_ERROR_SYMBOL)).toHaveLength(1);
  });
});

describe('hit detail', () => {
  test('control characters are escaped', async () => {
    const hits = createHeuristics({}, [rule('DETAIL', () => 'a\r\nX-Injected: 1\u202e')]).run(await spamMessage());
    expect(hits[0]?.detail).toBe('a\\u000d\\u000aX-Injected: 1\\u202e');
  });

  test('long detail is clipped', async () => {
    const hits = createHeuristics({}, [rule('DETAIL', () => 'x'.repeat(1_000))]).run(await spamMessage());
    expect(hits[0]?.detail).toHaveLength(MAX_DETAIL_LENGTH);
    expect(hits[0]?.detail?.endsWith('…')).toBe(true);
  });

  test('display name detail is escaped', async () => {
    const message = await parseMessage(mail({ From: `${encodedWord('P\u0430ypal\u202e Support')} <alice@example.org>` }));
    const hit = createHeuristics().run(message).find((entry) => entry.symbol === 'FROM_NAME_MIXED_SCRIPT');
    expect(hit?.detail).toBe('P\u0430ypal\\u202e Support');
  });
});
