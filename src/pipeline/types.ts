/** The result record of one message, and the names used in it. */

import type { AuthResultName } from '../features/index.js';

/** One authentication mechanism's result and a short reason. */
export interface AuthMechanismResult {
  result: AuthResultName;
  reason: string;
}

export type VerdictName = 'ham' | 'suspect' | 'spam';
export type Action = 'accept' | 'tag' | 'quarantine' | 'reject';

/** One named reason in a result: a heuristic rule or one of the model's largest feature contributions. */
export interface SymbolHit {
  /** UPPER_SNAKE rule symbol, or `MODEL_` followed by the feature name for model contributions. */
  name: string;
  /** Points this symbol added to the score; negative values pull towards ham. */
  score: number;
  /** Short human-readable reason. */
  description: string;
  /** Origin of the symbol: a rule, the model, the parser's limits, or user reports (REPORTED_*). */
  source: 'rule' | 'model' | 'parse' | 'feedback';
}

export interface ScoreResult {
  /** Message-ID header without angle brackets, or an empty string. */
  messageId: string;
  /** Total score; higher means more likely spam. Rule scores plus the model's score. */
  score: number;
  /** Spam probability from 0 to 1, combined from the model and the rules. */
  probability: number;
  verdict: VerdictName;
  action: Action;
  /** Every fired rule and the model's largest contributions, sorted by absolute score. */
  symbols: SymbolHit[];
  /** What was missing or cut while scoring, each as `area: reason`. Empty when nothing was. */
  degraded: string[];
  /** The model's own spam probability, or null when scoring ran on heuristics only. */
  modelProbability: number | null;
  /** SPF, DKIM, DMARC and ARC results; `unknown`, `timeout` or `skipped` when they could not be checked. */
  auth: { spf: AuthMechanismResult; dkim: AuthMechanismResult; dmarc: AuthMechanismResult; arc: AuthMechanismResult; source: 'trusted-header' | 'dns' | 'none' };
  /** Model version used, or null. */
  modelVersion: string | null;
  /**
   * Milliseconds spent per stage. The authentication stage and the behaviour
   * store run while features and rules are computed; `auth` is the time left
   * waiting for them afterwards.
   */
  timings: { parse: number; auth: number; features: number; model: number; heuristics: number; total: number };
}
