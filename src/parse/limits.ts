import { OptionsError } from '../errors.js';

/**
 * Parser limits. Hitting one never throws: the message is truncated at the
 * limit, the matching `PARSE_LIMIT_*` symbol is added to the result, and
 * scoring goes on with what was read.
 */
export interface ParseLimits {
  /** Bytes of raw message read; the rest is dropped. Default 10 MiB (10,485,760). */
  maxMessageBytes: number;
  /** MIME entities walked, the top-level entity included. Default 256. */
  maxParts: number;
  /** Multipart nesting depth below the top-level entity. Default 16. */
  maxDepth: number;
  /** Header fields kept from the top-level header block. Default 512. */
  maxHeaders: number;
  /** Characters kept of one unfolded header field; longer fields are cut. Default 16,384. */
  maxHeaderLength: number;
  /** Characters of HTML converted to text and scanned for links. Default 2,000,000. */
  maxHtmlLength: number;
  /** Links kept per message. Default 1,000. */
  maxLinks: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseLimits> = Object.freeze({
  maxMessageBytes: 10 * 1024 * 1024,
  maxParts: 256,
  maxDepth: 16,
  maxHeaders: 512,
  maxHeaderLength: 16_384,
  maxHtmlLength: 2_000_000,
  maxLinks: 1_000,
});

/** Symbols added when a limit is hit, keyed by the option that sets it. */
export const LIMIT_SYMBOLS: Readonly<Record<keyof ParseLimits, string>> = Object.freeze({
  maxMessageBytes: 'PARSE_LIMIT_SIZE',
  maxParts: 'PARSE_LIMIT_PARTS',
  maxDepth: 'PARSE_LIMIT_DEPTH',
  maxHeaders: 'PARSE_LIMIT_HEADERS',
  maxHeaderLength: 'PARSE_LIMIT_HEADER_LENGTH',
  maxHtmlLength: 'PARSE_LIMIT_HTML',
  maxLinks: 'PARSE_LIMIT_LINKS',
});

/** Merges caller limits over the defaults and rejects values that are not positive integers. */
export function resolveParseLimits(overrides: Partial<ParseLimits> = {}): ParseLimits {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_PARSE_LIMITS)) {
      throw new OptionsError(`Unknown parse limit "${key}". Known limits: ${Object.keys(DEFAULT_PARSE_LIMITS).join(', ')}.`, { input: key });
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new OptionsError(`Parse limit ${key} must be a positive integer, got ${JSON.stringify(value)}.`, { input: key });
    }
    limits[key as keyof ParseLimits] = value;
  }
  return limits;
}
