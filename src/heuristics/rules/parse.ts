import { defineRules, listSome, type RuleDefaults, type RulePredicate } from '../define.js';

/**
 * Rules on what the parser reported: one per parse limit, named after the
 * limit's symbol, and one for structural warnings. Scores stay small,
 * because large but honest mail hits limits too.
 */

const DEFAULTS = {
  PARSE_LIMIT_SIZE: { score: 0.1, description: 'Message is larger than the parser reads; the rest was not scanned' },
  PARSE_LIMIT_PARTS: { score: 0.5, description: 'More MIME parts than the parser walks' },
  PARSE_LIMIT_DEPTH: { score: 1.0, description: 'MIME parts nested deeper than the parser walks' },
  PARSE_LIMIT_HEADERS: { score: 1.0, description: 'More header fields than the parser keeps' },
  PARSE_LIMIT_HEADER_LENGTH: { score: 0.5, description: 'A header field longer than the parser keeps' },
  PARSE_LIMIT_HTML: { score: 0.3, description: 'More HTML than the parser converts and scans' },
  PARSE_LIMIT_LINKS: { score: 0.5, description: 'More links than the parser keeps' },
  PARSE_WARNINGS: { score: 0.5, description: 'Malformed MIME structure' },
} satisfies Record<string, RuleDefaults>;

type LimitSymbol = Exclude<keyof typeof DEFAULTS, 'PARSE_WARNINGS'>;

/** Returns a predicate that fires when the parser lists `symbol`. The parser takes its symbols from LIMIT_SYMBOLS in src/parse/limits.ts. */
function limitRule(symbol: LimitSymbol): RulePredicate {
  return (context) => context.message.limitsHit.includes(symbol);
}

const LIMIT_PREDICATES: Record<LimitSymbol, RulePredicate> = {
  PARSE_LIMIT_SIZE: limitRule('PARSE_LIMIT_SIZE'),
  PARSE_LIMIT_PARTS: limitRule('PARSE_LIMIT_PARTS'),
  PARSE_LIMIT_DEPTH: limitRule('PARSE_LIMIT_DEPTH'),
  PARSE_LIMIT_HEADERS: limitRule('PARSE_LIMIT_HEADERS'),
  PARSE_LIMIT_HEADER_LENGTH: limitRule('PARSE_LIMIT_HEADER_LENGTH'),
  PARSE_LIMIT_HTML: limitRule('PARSE_LIMIT_HTML'),
  PARSE_LIMIT_LINKS: limitRule('PARSE_LIMIT_LINKS'),
};

export const PARSE_RULES = defineRules('parse', DEFAULTS, {
  ...LIMIT_PREDICATES,
  PARSE_WARNINGS: (context) => {
    const warnings = context.message.warnings;
    return warnings.length === 0 ? false : listSome(warnings, 2);
  },
});
