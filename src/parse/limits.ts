import { OptionsError } from '../errors.js';

/**
 * Parser limits. Hitting one never throws: the message is truncated at the
 * limit, the matching `PARSE_LIMIT_*` symbol is added to the result, and
 * scoring goes on with what was read.
 */
export interface ParseLimits {
  /**
   * Bytes of raw message read; the rest is dropped. Default 10 MiB
   * (10,485,760), at most 256 MiB because the message is held as one string.
   */
  maxMessageBytes: number;
  /** MIME entities walked, the top-level entity included. Default 256. */
  maxParts: number;
  /**
   * Multipart nesting depth below the top-level entity; an embedded
   * message/rfc822 counts as a level. Default 16, at most 1,000 because
   * mailparser walks the tree recursively and overflows the stack at a few
   * thousand levels.
   */
  maxDepth: number;
  /**
   * Header fields kept from the top-level header block. A MIME part whose
   * header block has more lines than this cuts the message before that part.
   * Default 512.
   */
  maxHeaders: number;
  /** Characters kept of one unfolded header value, and of one field name; longer ones are cut. Default 16,384. */
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

/** The largest value each limit accepts, where one exists; the reason is in the limit's documentation. */
const MAX_LIMIT_VALUES: Readonly<Partial<Record<keyof ParseLimits, number>>> = Object.freeze({
  maxMessageBytes: 256 * 1024 * 1024,
  maxDepth: 1_000,
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

/** Merges caller limits over the defaults and rejects unknown names and values that are not positive integers in range. */
export function resolveParseLimits(overrides: Partial<ParseLimits> = {}): ParseLimits {
  const limits: ParseLimits = { ...DEFAULT_PARSE_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(DEFAULT_PARSE_LIMITS, key)) {
      throw new OptionsError(`Unknown parse limit "${key}". Known limits: ${Object.keys(DEFAULT_PARSE_LIMITS).join(', ')}.`, { input: key });
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      const printed = typeof value === 'number' ? String(value) : JSON.stringify(value);
      throw new OptionsError(`Parse limit ${key} must be a positive integer, got ${printed}.`, { input: key });
    }
    const max = MAX_LIMIT_VALUES[key as keyof ParseLimits];
    if (max !== undefined && value > max) {
      throw new OptionsError(`Parse limit ${key} must be at most ${max}, got ${value}.`, { input: key });
    }
    limits[key as keyof ParseLimits] = value;
  }
  return limits;
}
