import { describe, expect, it } from 'vitest';
import type { SetMetrics } from '../../src/model/manifest.js';
import { feedbackLoss, gateDecision, type FeedbackOutcome, type ModelEvaluation } from '../../training/gate.js';

function evaluation(auc: number, fpr: number, feedback: FeedbackOutcome[] = [], spamThreshold = 5, recall = 0.8): ModelEvaluation {
  const base: SetMetrics = { set: 'spamassassin', messages: 100, ham: 60, spam: 40, auc, fpr, fnr: 0.05, recallAtFpr1: 0.9, recallAtFpr01: recall };
  return { version: 'v', dir: '/nowhere', spamThreshold, base, rows: [base], scores: [], feedback };
}

function outcome(label: 'spam' | 'ham', score: number, heldOut = true, threshold = 5): FeedbackOutcome {
  const correct = label === 'spam' ? score >= threshold : score < threshold;
  return { sha256: `${label}${score}`, label, score, verdict: score >= threshold ? 'spam' : 'ham', correct, heldOut };
}

describe('gateDecision', () => {
  it('passes a candidate as good as the active model without feedback', () => {
    const decision = gateDecision(evaluation(0.99, 0.01), evaluation(0.99, 0.01));
    expect(decision.passed).toBe(true);
    expect(decision.checks.map((check) => check.name)).toEqual(['auc', 'fpr', 'recall', 'feedback']);
  });

  it('rejects an AUC drop beyond the tolerance and names it', () => {
    const decision = gateDecision(evaluation(0.98, 0.01), evaluation(0.99, 0.01));
    expect(decision.passed).toBe(false);
    const auc = decision.checks.find((check) => check.name === 'auc');
    expect(auc?.passed).toBe(false);
    expect(auc?.detail).toContain('0.0100 lower');
  });

  it('accepts an AUC drop within a given tolerance', () => {
    expect(gateDecision(evaluation(0.98, 0.01), evaluation(0.99, 0.01), { auc: 0.02, fpr: 0, recall: 0 }).passed).toBe(true);
  });

  it('rejects a higher FPR at the threshold', () => {
    const decision = gateDecision(evaluation(0.99, 0.02), evaluation(0.99, 0.01));
    expect(decision.checks.find((check) => check.name === 'fpr')?.passed).toBe(false);
    expect(gateDecision(evaluation(0.99, 0.02), evaluation(0.99, 0.01), { auc: 0, fpr: 0.01, recall: 0 }).passed).toBe(true);
  });

  it('rejects a recall drop beyond the tolerance', () => {
    const decision = gateDecision(evaluation(0.99, 0.01, [], 5, 0.9), evaluation(0.99, 0.01, [], 5, 0.95));
    const recall = decision.checks.find((check) => check.name === 'recall');
    expect(recall?.passed).toBe(false);
    expect(recall?.detail).toContain('5.00 points lower');
    expect(gateDecision(evaluation(0.99, 0.01, [], 5, 0.945), evaluation(0.99, 0.01, [], 5, 0.95)).passed).toBe(true);
  });

  it('needs more held-out feedback right, or as many with less loss', () => {
    const active = evaluation(0.99, 0.01, [outcome('spam', 2), outcome('ham', 1)]);
    expect(gateDecision(evaluation(0.99, 0.01, [outcome('spam', 7), outcome('ham', 1)]), active).passed).toBe(true);
    expect(gateDecision(evaluation(0.99, 0.01, [outcome('spam', 2), outcome('ham', 0)]), active).passed).toBe(true);
    const worse = gateDecision(evaluation(0.99, 0.01, [outcome('spam', 2), outcome('ham', 6)]), active);
    expect(worse.passed).toBe(false);
    expect(worse.checks.find((check) => check.name === 'feedback')?.detail).toContain('candidate 0 of 2, active 1 of 2');
  });

  it('ignores feedback the candidate was trained on', () => {
    const active = evaluation(0.99, 0.01, [outcome('spam', 2, false), outcome('spam', 6)]);
    const candidate = evaluation(0.99, 0.01, [outcome('spam', 9, false), outcome('spam', 5.5)]);
    const check = gateDecision(candidate, active).checks.find((entry) => entry.name === 'feedback');
    expect(check?.detail).toContain('candidate 1 of 1');
    expect(check?.passed).toBe(false);
  });
});

describe('feedbackLoss', () => {
  it('falls as scores move to the right side of the threshold', () => {
    expect(feedbackLoss([outcome('spam', 9)], 5)).toBeLessThan(feedbackLoss([outcome('spam', 5)], 5));
    expect(feedbackLoss([outcome('ham', -4)], 5)).toBeLessThan(feedbackLoss([outcome('ham', 4)], 5));
    expect(feedbackLoss([], 5)).toBe(0);
  });
});
