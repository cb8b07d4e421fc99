import { describeError, OptionsError } from '../errors.js';
import type { Envelope, ParsedMessage } from '../parse/types.js';
import { RuleContext } from './context.js';
import { listSome } from './define.js';
import { ADDRESS_RULES } from './rules/address.js';
import { CONTENT_RULES } from './rules/content.js';
import { HEADER_RULES } from './rules/header.js';
import { MIME_RULES } from './rules/mime.js';
import { PARSE_RULES } from './rules/parse.js';
import { SUBJECT_RULES } from './rules/subject.js';
import { URL_RULES } from './rules/url.js';
import type { HeuristicsConfig, ResolvedRule, RuleDefinition, RuleDescription, RuleGroup, RuleHit } from './types.js';

export type { HeuristicsConfig, ResolvedRule, RuleDefinition, RuleDescription, RuleGroup, RuleHit } from './types.js';
export { RuleContext, MAX_SCANNED_CHARS } from './context.js';

/** Symbol of the hit that reports rules which threw; it carries score 0 and is never a rule itself. */
export const RULE_ERROR_SYMBOL = 'RULE_ERROR';
/** Characters of a hit's detail kept; longer details end with an ellipsis. */
export const MAX_DETAIL_LENGTH = 160;

const SYMBOL_FORM = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const GROUPS: readonly RuleGroup[] = ['header', 'content', 'url', 'mime', 'parse'];
/** Control, zero-width and bidirectional characters, which would garble a log line or a header that shows the detail. */
const UNSAFE_DETAIL_CHARACTER = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

/** Every built-in rule, in report order: headers, addresses, subject, content, links, MIME, parser. */
export const RULES: readonly RuleDefinition[] = Object.freeze([
  ...HEADER_RULES,
  ...ADDRESS_RULES,
  ...SUBJECT_RULES,
  ...CONTENT_RULES,
  ...URL_RULES,
  ...MIME_RULES,
  ...PARSE_RULES,
]);

function cleanDetail(detail: string): string {
  const escaped = detail.replace(UNSAFE_DETAIL_CHARACTER, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > MAX_DETAIL_LENGTH ? `${escaped.slice(0, MAX_DETAIL_LENGTH - 1)}…` : escaped;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateRules(rules: readonly RuleDefinition[]): void {
  const seen = new Set<string>();
  for (const rule of rules) {
    const symbol = String(rule.symbol);
    if (!SYMBOL_FORM.test(symbol) || symbol === RULE_ERROR_SYMBOL) {
      throw new OptionsError(`Invalid rule symbol "${symbol}": use UPPER_SNAKE letters and digits, and not ${RULE_ERROR_SYMBOL}.`, { input: symbol });
    }
    if (seen.has(symbol)) throw new OptionsError(`Duplicate rule symbol "${symbol}": each rule needs its own symbol.`, { input: symbol });
    seen.add(symbol);
    if (typeof rule.score !== 'number' || !Number.isFinite(rule.score)) {
      throw new OptionsError(`Rule ${symbol} has an invalid default score ${String(rule.score)}: use a finite number.`, { input: symbol });
    }
    if (!GROUPS.includes(rule.group)) {
      throw new OptionsError(`Rule ${symbol} has an unknown group "${String(rule.group)}": use one of ${GROUPS.join(', ')}.`, { input: symbol });
    }
    if (typeof rule.test !== 'function') throw new OptionsError(`Rule ${symbol} has no test function.`, { input: symbol });
  }
}

function unknownSymbol(symbol: string, option: string): OptionsError {
  return new OptionsError(`Unknown rule symbol "${symbol}" in heuristics ${option}. Symbols are case-sensitive; describeRules() lists them.`, {
    input: `${option}.${symbol}`,
  });
}

function readScores(config: Record<string, unknown>, known: ReadonlySet<string>): Map<string, number> {
  const scores = new Map<string, number>();
  if (config.scores === undefined) return scores;
  if (!isPlainObject(config.scores)) {
    throw new OptionsError('Heuristics option "scores" must be an object that maps rule symbols to numbers.', { input: 'scores' });
  }
  for (const [symbol, score] of Object.entries(config.scores)) {
    if (!known.has(symbol)) throw unknownSymbol(symbol, 'scores');
    if (typeof score !== 'number' || !Number.isFinite(score)) {
      throw new OptionsError(`Invalid score for rule ${symbol}: ${String(score)}. Use a finite number.`, { input: `scores.${symbol}` });
    }
    scores.set(symbol, score);
  }
  return scores;
}

function readDisabled(config: Record<string, unknown>, known: ReadonlySet<string>): Set<string> {
  const disabled = new Set<string>();
  if (config.disabled === undefined) return disabled;
  if (!Array.isArray(config.disabled)) {
    throw new OptionsError('Heuristics option "disabled" must be an array of rule symbols.', { input: 'disabled' });
  }
  for (const symbol of config.disabled as unknown[]) {
    if (typeof symbol !== 'string' || !known.has(symbol)) throw unknownSymbol(String(symbol), 'disabled');
    disabled.add(symbol);
  }
  return disabled;
}

export interface Heuristics {
  /**
   * Runs every enabled rule on one message and returns the hits in rule
   * order. It never throws because of a rule: a rule that throws is skipped,
   * and one RULE_ERROR hit with score 0 names every rule that failed.
   */
  run(message: ParsedMessage, envelope?: Envelope): RuleHit[];
  /** The enabled rules with their configured scores. */
  readonly rules: readonly ResolvedRule[];
}

/**
 * Builds a rule runner from the built-in rules (or `rules`, for tests and
 * extensions) with `config` merged over the defaults. Throws OptionsError
 * for an unknown symbol in `scores` or `disabled`, a score that is not a
 * finite number, or an invalid rule definition.
 */
export function createHeuristics(config: HeuristicsConfig = {}, rules: readonly RuleDefinition[] = RULES): Heuristics {
  if (!isPlainObject(config)) throw new OptionsError('Heuristics configuration must be an object with optional "scores" and "disabled".', { input: 'heuristics' });
  validateRules(rules);
  const known = new Set(rules.map((rule) => rule.symbol));
  const scores = readScores(config, known);
  const disabled = readDisabled(config, known);

  const resolved: readonly ResolvedRule[] = Object.freeze(
    rules
      .filter((rule) => !disabled.has(rule.symbol))
      .map((rule) => Object.freeze({ ...rule, defaultScore: rule.score, score: scores.get(rule.symbol) ?? rule.score })),
  );
  const warned = new Set<string>();

  function reportFailure(symbol: string, error: unknown): void {
    if (warned.has(symbol)) return;
    warned.add(symbol);
    process.emitWarning(`Heuristic rule ${symbol} threw and was skipped: ${describeError(error)}`, { code: 'SPAMWARD_RULE_ERROR' });
  }

  function run(message: ParsedMessage, envelope: Envelope = {}): RuleHit[] {
    const context = new RuleContext(message, envelope);
    const hits: RuleHit[] = [];
    const failures: string[] = [];
    for (const rule of resolved) {
      let result: boolean | string;
      try {
        result = rule.test(context);
      } catch (error) {
        failures.push(`${rule.symbol} (${describeError(error)})`);
        reportFailure(rule.symbol, error);
        continue;
      }
      if (result === true) {
        hits.push({ symbol: rule.symbol, score: rule.score, description: rule.description });
      } else if (typeof result === 'string' && result !== '') {
        hits.push({ symbol: rule.symbol, score: rule.score, description: rule.description, detail: cleanDetail(result) });
      }
    }
    if (failures.length > 0) {
      hits.push({
        symbol: RULE_ERROR_SYMBOL,
        score: 0,
        description: 'A heuristic rule failed and was skipped',
        detail: cleanDetail(listSome(failures)),
      });
    }
    return hits;
  }

  return { run, rules: resolved };
}

/** Returns the built-in rules with their default scores, for documentation. */
export function describeRules(): RuleDescription[] {
  return RULES.map(({ symbol, description, score, group }) => ({ symbol, description, score, group }));
}
