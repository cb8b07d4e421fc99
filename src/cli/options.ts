/**
 * Argument parsers for commander options. Each throws commander's
 * InvalidArgumentError, which commander reports with the option's flags and
 * the rejected value, and which the CLI turns into exit status 2.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from 'commander';
import { parseResolver } from '../auth/dns/options.js';
import { OptionsError } from '../errors.js';

/** Rule symbols are UPPER_SNAKE, as in results and in the rule table. */
const RULE_SYMBOL = /^[A-Z][A-Z0-9_]*$/;
/** A decimal number as people type it: optional sign, digits, optional fraction and exponent. */
const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;
/** The maximum delay setTimeout accepts (2^31 - 1 ms); Node fires a longer timer after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
/** Whitespace and control characters, which no host name, authserv-id or SMTP address contains unquoted. */
const SPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f-\u009f]/;

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

function rejectRepeat(previous: unknown): void {
  if (previous !== undefined) throw new InvalidArgumentError('The option was given more than once.');
}

/** Adds a value to a list option. An empty value, whitespace inside it, or a repeat of an earlier value (in any case) is rejected. */
function collectWord(value: string, previous: string[] | undefined, expected: string): string[] {
  const word = value.trim();
  if (word === '' || SPACE_OR_CONTROL.test(word)) throw new InvalidArgumentError(expected);
  const words = previous ?? [];
  if (words.some((earlier) => earlier.toLowerCase() === word.toLowerCase())) throw new InvalidArgumentError(`${word} was given more than once.`);
  return [...words, word];
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

/** Parses a whole number of milliseconds from 1 to 2147483647 (the maximum timer delay in Node), once. */
export function parseMillisecondsOnce(value: string, previous: number | undefined): number {
  rejectRepeat(previous);
  const trimmed = value.trim();
  const number = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || number < 1 || number > MAX_TIMER_MS) {
    throw new InvalidArgumentError(`Expected a whole number of milliseconds from 1 to ${MAX_TIMER_MS}, such as 800.`);
  }
  return number;
}

/**
 * Adds a resolver address to the list, normalised to `host:port` by the DNS
 * client's own parser, so the message names the entry and what is wrong
 * with it. Repeats of the same address are rejected.
 */
export function collectResolver(value: string, previous: string[] | undefined): string[] {
  let label: string;
  try {
    label = parseResolver(value).label;
  } catch (error) {
    if (error instanceof OptionsError) throw new InvalidArgumentError(error.message);
    throw error;
  }
  const resolvers = previous ?? [];
  if (resolvers.includes(label)) throw new InvalidArgumentError(`Resolver ${label} was given more than once.`);
  return [...resolvers, label];
}

/** Adds an authserv-id, the first word of the Authentication-Results headers an MTA writes. */
export function collectAuthservId(value: string, previous: string[] | undefined): string[] {
  return collectWord(value, previous, 'Expected an authserv-id without spaces, such as mx.example.org.');
}

/** Adds a host name or IP address of one of the gateway's own MTAs. */
export function collectTrustedHost(value: string, previous: string[] | undefined): string[] {
  return collectWord(value, previous, 'Expected a host name or IP address without spaces, such as mx.example.org or 192.0.2.25.');
}

/** Parses the SMTP client's IPv4 or IPv6 address, once. */
export function parseClientIpOnce(value: string, previous: string | undefined): string {
  rejectRepeat(previous);
  const address = value.trim();
  if (isIP(address) === 0) throw new InvalidArgumentError('Expected an IPv4 or IPv6 address, such as 192.0.2.1 or 2001:db8::1.');
  return address;
}

/** Parses the name the SMTP client gave in HELO or EHLO, once: a host name or an address literal such as [192.0.2.1]. */
export function parseHeloOnce(value: string, previous: string | undefined): string {
  rejectRepeat(previous);
  const name = value.trim();
  if (name === '' || SPACE_OR_CONTROL.test(name)) throw new InvalidArgumentError('Expected the HELO or EHLO name without spaces, such as mail.example.com.');
  return name;
}

/**
 * Parses the SMTP MAIL FROM address, once. Angle brackets are removed, and
 * an empty value or `<>` is the null sender of a bounce.
 */
export function parseMailFromOnce(value: string, previous: string | undefined): string {
  rejectRepeat(previous);
  const trimmed = value.trim();
  const address = trimmed.startsWith('<') && trimmed.endsWith('>') ? trimmed.slice(1, -1).trim() : trimmed;
  if (address === '') return '';
  const at = address.lastIndexOf('@');
  if (at < 1 || at === address.length - 1 || SPACE_OR_CONTROL.test(address)) {
    throw new InvalidArgumentError("Expected an address such as sender@example.com, or '' for the null sender of a bounce.");
  }
  return address;
}

/** Parses the behaviour store: `none`, `memory` or a `redis://` / `rediss://` URL, once. The scorer checks the URL in full. */
export function parseStoreOnce(value: string, previous: string | undefined): string {
  rejectRepeat(previous);
  const trimmed = value.trim();
  if (trimmed === 'none' || trimmed === 'memory' || /^rediss?:\/\/[^\s]+$/.test(trimmed)) return trimmed;
  throw new InvalidArgumentError('Expected "none", "memory" or a Redis URL such as redis://127.0.0.1:6379/0.');
}
