import { FEATURES } from '../features/schema.js';
import type { Prediction } from '../model/index.js';
import type { Action, SymbolHit, VerdictName } from './types.js';

/**
 * Combination of the model and the rules into one score.
 *
 * The score is in log-odds: the model's logit plus the fired rules' points
 * times the model's calibrated rule weight, and `probability` is its
 * sigmoid. A rule worth +1 therefore multiplies the odds of spam by e.
 * Without a model the score is the rule points alone.
 */

export interface Thresholds {
  /** Score at or above which a message is `suspect` and tagged. */
  suspect: number;
  /** Score at or above which a message is `spam` and quarantined. */
  spam: number;
  /** Score at or above which a message is rejected. */
  reject: number;
}

/** Thresholds for heuristics-only scoring, where the score is the sum of rule points. */
export const HEURISTICS_ONLY_THRESHOLDS: Readonly<Thresholds> = Object.freeze({ suspect: 4, spam: 7, reject: 12 });
/** Action for each verdict below the reject threshold. */
const ACTION_BY_VERDICT: Readonly<Record<VerdictName, Action>> = Object.freeze({ ham: 'accept', suspect: 'tag', spam: 'quarantine' });
/** The model's log-odds are clamped so one message cannot dominate a histogram or a sum. */
const MAX_MODEL_POINTS = 15;
const DESCRIPTIONS = new Map(FEATURES.map((feature) => [feature.name, feature.description]));

export interface RuleHitLike {
  symbol: string;
  score: number;
  description: string;
  detail?: string;
}

export function modelSymbolName(feature: string): string {
  return `MODEL_${feature.replace(/[^a-z0-9]+/gi, '_').toUpperCase()}`;
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export interface Combined {
  score: number;
  probability: number;
  verdict: VerdictName;
  action: Action;
  symbols: SymbolHit[];
}

/**
 * Combines a prediction (or none) with the rule hits and the report
 * adjustments. The symbols' scores add up to the total: the model's part is
 * split into its largest feature contributions plus MODEL_REST, which
 * contains the model's bias and the features not listed.
 */
export function combine(prediction: Prediction | null, hits: readonly RuleHitLike[], ruleWeight: number, thresholds: Thresholds, adjustments: readonly SymbolHit[] = []): Combined {
  const symbols: SymbolHit[] = [];
  let score = 0;
  // Report adjustments (REPORTED_*) count in full: they are already in log-odds.
  for (const adjustment of adjustments) {
    score += adjustment.score;
    symbols.push(adjustment);
  }

  if (prediction) {
    const modelPoints = Math.max(-MAX_MODEL_POINTS, Math.min(MAX_MODEL_POINTS, prediction.logit));
    let listed = 0;
    for (const contribution of prediction.contributions) {
      const points = round(contribution.contribution);
      if (points === 0) continue;
      listed += points;
      const direction = contribution.value > contribution.mean ? 'above' : 'below';
      const description = `model: ${DESCRIPTIONS.get(contribution.feature) ?? contribution.feature} is ${formatValue(contribution.value)}, ${direction} the training mean ${formatValue(contribution.mean)}`;
      symbols.push({ name: modelSymbolName(contribution.feature), score: points, description, source: 'model' });
    }
    symbols.push({ name: 'MODEL_REST', score: round(modelPoints - listed), description: 'model: bias and the features not listed', source: 'model' });
    score += modelPoints;
  }

  for (const hit of hits) {
    const points = hit.score * ruleWeight;
    score += points;
    const description = hit.detail ? `${hit.description}: ${hit.detail}` : hit.description;
    symbols.push({ name: hit.symbol, score: round(points), description, source: hit.symbol.startsWith('PARSE_') ? 'parse' : 'rule' });
  }

  symbols.sort((a, b) => Math.abs(b.score) - Math.abs(a.score) || a.name.localeCompare(b.name));
  let verdict: VerdictName = 'ham';
  if (score >= thresholds.spam) verdict = 'spam';
  else if (score >= thresholds.suspect) verdict = 'suspect';
  const action: Action = score >= thresholds.reject ? 'reject' : ACTION_BY_VERDICT[verdict];
  return { score: round(score), probability: 1 / (1 + Math.exp(-score)), verdict, action, symbols };
}
