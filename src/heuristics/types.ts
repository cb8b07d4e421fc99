import type { RuleContext } from './context.js';

/** Area of the message a rule looks at; used for grouping in reports and docs. */
export type RuleGroup = 'header' | 'content' | 'url' | 'mime' | 'parse';

/**
 * One heuristic: a stable symbol, a default score and a predicate over the
 * message context. `test` returns `true` or a non-empty string when the rule
 * fires (the string is the detail shown with the hit), and `false` otherwise.
 */
export interface RuleDefinition {
  /** Stable UPPER_SNAKE name, used in results and in configuration. */
  symbol: string;
  /** One-line reason, shown with every hit. */
  description: string;
  /** Default points; positive is spammy, negative is hammy. */
  score: number;
  group: RuleGroup;
  test(context: RuleContext): boolean | string;
}

/** A rule with the configured score merged over its default. */
export interface ResolvedRule extends RuleDefinition {
  defaultScore: number;
}

/** One fired rule in the output of `run`. */
export interface RuleHit {
  symbol: string;
  /** Points after configuration. */
  score: number;
  description: string;
  /** The matched value, such as a header value or file name, clipped and with control characters escaped. */
  detail?: string;
}

/** Per-deployment changes to the rule set. */
export interface HeuristicsConfig {
  /** Scores that replace the defaults, keyed by symbol. Each must be a finite number. */
  scores?: Record<string, number>;
  /** Symbols of rules that never run. */
  disabled?: string[];
}

/** A row of the rule table for documentation. */
export interface RuleDescription {
  symbol: string;
  description: string;
  score: number;
  group: RuleGroup;
}
