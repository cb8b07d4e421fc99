import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelManifest, SetMetrics } from '../src/model/manifest.js';
import { createScorer } from '../src/pipeline/scorer.js';
import type { VerdictName } from '../src/pipeline/types.js';
import { SPAMASSASSIN_SET, type CorpusSet } from './corpus.js';
import { metricRows, scoreReplay, type SetScores } from './evaluation.js';

/**
 * The evaluation gate between a trained candidate and the active model.
 * Both are scored on the same data: the fixed SpamAssassin test split, the
 * test split of the modern sets, and the held-out part of the feedback.
 * The candidate is promoted only when every check passes.
 */

export interface GateTolerances {
  /** Largest drop in ROC AUC on the SpamAssassin test split that still passes. Default 0.002. */
  auc: number;
  /** Largest rise in false-positive rate at the spam threshold on the SpamAssassin test split, as a fraction (0.001 is 0.1 points). Default 0. */
  fpr: number;
  /** Largest drop in spam recall at FPR <= 0.1% on the SpamAssassin test split, as a fraction. Default 0.01. */
  recall: number;
}

export const DEFAULT_GATE_TOLERANCES: Readonly<GateTolerances> = Object.freeze({ auc: 0.002, fpr: 0, recall: 0.01 });

/** One held-out reported message as a model scored it. */
export interface FeedbackOutcome {
  sha256: string;
  label: 'spam' | 'ham';
  score: number;
  verdict: VerdictName;
  /** Spam at or above the spam threshold, ham below it. */
  correct: boolean;
  /** In the held-out quarter that training did not see; only these count in the gate. */
  heldOut: boolean;
}

export interface ModelEvaluation {
  version: string;
  dir: string;
  spamThreshold: number;
  /** Metrics on the SpamAssassin test split. */
  base: SetMetrics;
  /** Every metric row: the SpamAssassin split, each modern set and the modern sets combined. */
  rows: SetMetrics[];
  /** The test-split scores behind the rows, for ROC curves and histograms. */
  scores: SetScores[];
  /** Every feedback message, scored one at a time without a behaviour store. */
  feedback: FeedbackOutcome[];
}

export interface GateCheck {
  name: 'auc' | 'fpr' | 'recall' | 'feedback';
  passed: boolean;
  /** The compared values of both models, the margin and the tolerance, in one sentence. */
  detail: string;
}

export interface GateDecision {
  passed: boolean;
  checks: GateCheck[];
}

/** Mean logistic loss of the scores' distance from the spam threshold: lower means the feedback is classified with more margin. */
export function feedbackLoss(outcomes: readonly FeedbackOutcome[], spamThreshold: number): number {
  if (outcomes.length === 0) return 0;
  let total = 0;
  for (const outcome of outcomes) {
    const margin = (outcome.score - spamThreshold) * (outcome.label === 'spam' ? 1 : -1);
    total += margin > 30 ? 0 : Math.log1p(Math.exp(-margin));
  }
  return total / outcomes.length;
}

function percentPoints(value: number): string {
  return `${(100 * value).toFixed(2)}%`;
}

/** Compares a candidate with the active model. Pure, so every branch is tested without training. */
export function gateDecision(candidate: ModelEvaluation, active: ModelEvaluation, tolerances: GateTolerances = DEFAULT_GATE_TOLERANCES): GateDecision {
  const checks: GateCheck[] = [];

  const candidateAuc = candidate.base.auc ?? 0;
  const activeAuc = active.base.auc ?? 0;
  const aucDrop = activeAuc - candidateAuc;
  checks.push({
    name: 'auc',
    passed: aucDrop <= tolerances.auc + 1e-12,
    detail: `SpamAssassin test split AUC: candidate ${candidateAuc.toFixed(4)}, active ${activeAuc.toFixed(4)} (${aucDrop > 0 ? `${aucDrop.toFixed(4)} lower` : `${(-aucDrop).toFixed(4)} higher`}; tolerance ${tolerances.auc})`,
  });

  const candidateFpr = candidate.base.fpr ?? 0;
  const activeFpr = active.base.fpr ?? 0;
  const fprRise = candidateFpr - activeFpr;
  checks.push({
    name: 'fpr',
    passed: fprRise <= tolerances.fpr + 1e-12,
    detail: `SpamAssassin test split FPR at the spam threshold: candidate ${percentPoints(candidateFpr)} (threshold ${candidate.spamThreshold}), active ${percentPoints(activeFpr)} (threshold ${active.spamThreshold}) (${fprRise > 0 ? `${(100 * fprRise).toFixed(2)} points higher` : 'not higher'}; tolerance ${(100 * tolerances.fpr).toFixed(2)} points)`,
  });

  const candidateHeld = candidate.feedback.filter((outcome) => outcome.heldOut);
  const activeHeld = active.feedback.filter((outcome) => outcome.heldOut);
  const candidateRecall = candidate.base.recallAtFpr01 ?? 0;
  const activeRecall = active.base.recallAtFpr01 ?? 0;
  const recallDrop = activeRecall - candidateRecall;
  checks.push({
    name: 'recall',
    passed: recallDrop <= tolerances.recall + 1e-12,
    detail: `SpamAssassin test split spam recall at FPR <= 0.1%: candidate ${percentPoints(candidateRecall)}, active ${percentPoints(activeRecall)} (${recallDrop > 0 ? `${(100 * recallDrop).toFixed(2)} points lower` : 'not lower'}; tolerance ${(100 * tolerances.recall).toFixed(2)} points)`,
  });

  const held = candidateHeld.length;
  if (held === 0) {
    checks.push({ name: 'feedback', passed: true, detail: 'no held-out feedback to compare on (no feedback given, or none of it in the held-out quarter)' });
  } else {
    const candidateCorrect = candidateHeld.filter((outcome) => outcome.correct).length;
    const activeCorrect = activeHeld.filter((outcome) => outcome.correct).length;
    const candidateLoss = feedbackLoss(candidateHeld, candidate.spamThreshold);
    const activeLoss = feedbackLoss(activeHeld, active.spamThreshold);
    const better = candidateCorrect > activeCorrect || (candidateCorrect === activeCorrect && candidateLoss < activeLoss);
    checks.push({
      name: 'feedback',
      passed: better,
      detail: `held-out feedback classified right: candidate ${candidateCorrect} of ${held}, active ${activeCorrect} of ${held}; mean loss: candidate ${candidateLoss.toFixed(3)}, active ${activeLoss.toFixed(3)} (the candidate must get more right, or as many with a lower loss)`,
    });
  }
  return { passed: checks.every((check) => check.passed), checks };
}

/**
 * Scores a model folder on the corpus test splits (replayed in arrival
 * order, as `npm run evaluate` does) and on every feedback message.
 */
export async function evaluateModel(dir: string, sets: readonly CorpusSet[], feedback: CorpusSet | null, label: string): Promise<ModelEvaluation> {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelManifest;
  const spamThreshold = manifest.thresholds.spam;
  const scores = await scoreReplay(() => createScorer({ modelDir: dir, requireModel: true, auth: { trustTopmostHeader: true } }), sets.flatMap((set) => set.messages), `${label}: replay`);
  const rows = metricRows(scores, spamThreshold, SPAMASSASSIN_SET);
  const base = rows.find((row) => row.set === SPAMASSASSIN_SET);
  if (!base) throw new RangeError('The SpamAssassin set is missing from the evaluation; the gate compares on its test split.');

  const outcomes: FeedbackOutcome[] = [];
  if (feedback) {
    const scorer = await createScorer({ modelDir: dir, requireModel: true, store: null });
    try {
      for (const message of feedback.messages) {
        const result = await scorer.score(message.raw);
        const spam = message.label === 'spam';
        outcomes.push({
          sha256: message.id.slice(message.id.indexOf('/') + 1),
          label: message.label,
          score: result.score,
          verdict: result.verdict,
          correct: spam ? result.score >= spamThreshold : result.score < spamThreshold,
          heldOut: message.split === 'test',
        });
      }
    } finally {
      await scorer.close();
    }
  }
  return { version: manifest.version, dir, spamThreshold, base, rows, scores, feedback: outcomes };
}
