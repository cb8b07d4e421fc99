import type { RuleContext } from './context.js';
import type { RuleDefinition, RuleGroup } from './types.js';

/** The data half of a rule: what a rule file lists in its defaults table. */
export interface RuleDefaults {
  score: number;
  description: string;
}

export type RulePredicate = (context: RuleContext) => boolean | string;

/**
 * Joins a defaults table with its predicates. Both are keyed by symbol, so
 * the compiler rejects a table row without a predicate and a predicate
 * without a row. Rules keep the order of the defaults table.
 */
export function defineRules<Name extends string>(
  group: RuleGroup,
  defaults: Readonly<Record<Name, RuleDefaults>>,
  predicates: Readonly<Record<Name, RulePredicate>>,
): RuleDefinition[] {
  const symbols = Object.keys(defaults) as Name[];
  return symbols.map((symbol) => ({
    symbol,
    description: defaults[symbol].description,
    score: defaults[symbol].score,
    group,
    test: predicates[symbol],
  }));
}

/** Returns the items joined with ", ", stopping after `max` of them. */
export function listSome(items: readonly string[], max = 3): string {
  const listed = items.slice(0, max).join(', ');
  return items.length > max ? `${listed} and ${items.length - max} more` : listed;
}

/** Returns "1 link" or "3 links": the count with the noun in singular or plural. */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`;
}
