/**
 * Argument parsers for commander options. Each throws commander's
 * InvalidArgumentError, which commander reports with the option's flags and
 * the rejected value, and which the CLI turns into exit status 2.
 */
import { InvalidArgumentError } from 'commander';

/** Rule symbols are UPPER_SNAKE, as in results and in the rule table. */
const RULE_SYMBOL = /^[A-Z][A-Z0-9_]*$/;
/** A decimal number as people type it: optional sign, digits, optional fraction and exponent. */
const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

function parseDecimal(value: string): number | undefined {
  const trimmed = value.trim();
  if (!DECIMAL_NUMBER.test(trimmed)) return undefined;
  const number = Number(trimmed);
  return Number.isFinite(number) ? number : undefined;
}

/** Parses a finite number, once. Commander passes the earlier value as `previous` when the option repeats. */
export function parseFiniteNumberOnce(value: string, previous: number | undefined): number {
  if (previous !== undefined) throw new InvalidArgumentError('The option was given more than once.');
  const number = parseDecimal(value);
  if (number === undefined) throw new InvalidArgumentError('Expected a finite number, such as 5 or -1.5.');
  return number;
}

/** Parses a positive integer byte count, once. */
export function parseByteCountOnce(value: string, previous: number | undefined): number {
  if (previous !== undefined) throw new InvalidArgumentError('The option was given more than once.');
  const trimmed = value.trim();
  const number = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError('Expected a whole number of bytes, at least 1, such as 10485760.');
  }
  return number;
}

/** Parses a folder path, once, so `--model a --model b` is not silently resolved. */
export function parsePathOnce(value: string, previous: string | boolean | undefined): string {
  if (typeof previous === 'string') throw new InvalidArgumentError('The option was given more than once.');
  if (value.trim() === '') throw new InvalidArgumentError('Expected a folder path.');
  return value;
}

/** Adds a rule symbol to the list; repeats of the same symbol are rejected. */
export function collectRuleSymbol(value: string, previous: string[] | undefined): string[] {
  const symbol = value.trim();
  if (!RULE_SYMBOL.test(symbol)) throw new InvalidArgumentError('Expected an UPPER_SNAKE rule symbol, such as MISSING_DATE.');
  const symbols = previous ?? [];
  if (symbols.includes(symbol)) throw new InvalidArgumentError(`Rule ${symbol} was given more than once.`);
  return [...symbols, symbol];
}

/** Adds a `SYMBOL=N` pair to the score map; repeats of the same symbol are rejected. */
export function collectRuleScore(value: string, previous: Record<string, number> | undefined): Record<string, number> {
  const equals = value.indexOf('=');
  const symbol = equals === -1 ? '' : value.slice(0, equals).trim();
  const score = equals === -1 ? undefined : parseDecimal(value.slice(equals + 1));
  if (!RULE_SYMBOL.test(symbol) || score === undefined) {
    throw new InvalidArgumentError('Expected SYMBOL=N with an UPPER_SNAKE rule symbol and a finite number, such as MISSING_DATE=2.5.');
  }
  const scores = previous ?? {};
  if (Object.hasOwn(scores, symbol)) throw new InvalidArgumentError(`Rule ${symbol} was given more than once.`);
  return { ...scores, [symbol]: score };
}
