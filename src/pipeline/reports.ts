import type { BehaviourKeySet } from '../features/index.js';
import { OptionsError } from '../errors.js';
import type { KeyStats } from '../store/index.js';
import type { SymbolHit } from './types.js';

/**
 * Fast adaptation to user reports. A message reported as spam or as not
 * spam (`scorer.report`) is counted in the behaviour store under its sender
 * and its content fingerprint. Later messages with the same sender or
 * near-identical content get a REPORTED_* symbol at once, before any
 * retraining. The points are added to the score as they are, not scaled by
 * the model's rule weight, so they are in the score's log-odds units.
 */

export interface ReportPoints {
  /** Points for a message whose content fingerprint was reported more often as spam than as ham (minus for the reverse). Default 10. */
  content: number;
  /** Points for a message whose envelope sender was reported more often as spam than as ham (minus for the reverse). Default 4. */
  sender: number;
}

export const DEFAULT_REPORT_POINTS: Readonly<ReportPoints> = Object.freeze({ content: 10, sender: 4 });

export function resolveReportPoints(overrides: Partial<ReportPoints> = {}): ReportPoints {
  const points: ReportPoints = { ...DEFAULT_REPORT_POINTS };
  for (const key of ['content', 'sender'] as const) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new OptionsError(`reportPoints.${key} must be a finite number of at least 0, got ${JSON.stringify(value)}.`, { input: `reportPoints.${key}` });
    }
    points[key] = value;
  }
  return points;
}

const KINDS = [
  { kind: 'content', option: 'content', what: 'near-identical content' },
  { kind: 'sender', option: 'sender', what: 'this envelope sender' },
] as const;

/** Returns the REPORTED_* symbols of a message, from its keys' stats as the store returned them. */
export function reportSymbols(keys: BehaviourKeySet, stats: Record<string, KeyStats> | null, points: ReportPoints): SymbolHit[] {
  if (!stats) return [];
  const symbols: SymbolHit[] = [];
  for (const { kind, option, what } of KINDS) {
    const key = keys.byKind[kind];
    const entry = key === undefined ? undefined : stats[key];
    if (!entry || points[option] === 0 || entry.spamReports === entry.hamReports) continue;
    const spam = entry.spamReports > entry.hamReports;
    symbols.push({
      name: `REPORTED_${spam ? 'SPAM' : 'HAM'}_${kind.toUpperCase()}`,
      score: spam ? points[option] : -points[option],
      description: `feedback: ${what} was reported as ${spam ? 'spam' : 'not spam'} (${entry.spamReports} spam, ${entry.hamReports} ham reports)`,
      source: 'feedback',
    });
  }
  return symbols;
}
