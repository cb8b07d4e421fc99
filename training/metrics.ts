/** Ranking and threshold metrics over scored, labelled messages. Spam is the positive class. */

export interface Scored {
  score: number;
  spam: boolean;
}

/** ROC AUC by the rank-sum method, with ties counted as half. Null when one class is missing. */
export function rocAuc(items: readonly Scored[]): number | null {
  const positives = items.filter((item) => item.spam).length;
  const negatives = items.length - positives;
  if (positives === 0 || negatives === 0) return null;
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let rankSum = 0;
  let index = 0;
  while (index < sorted.length) {
    let end = index;
    while (end + 1 < sorted.length && (sorted[end + 1] as Scored).score === (sorted[index] as Scored).score) end += 1;
    const averageRank = (index + end) / 2 + 1;
    for (let tied = index; tied <= end; tied += 1) if ((sorted[tied] as Scored).spam) rankSum += averageRank;
    index = end + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function ratesAt(items: readonly Scored[], threshold: number): { fpr: number | null; fnr: number | null } {
  const ham = items.filter((item) => !item.spam);
  const spam = items.filter((item) => item.spam);
  return {
    fpr: ham.length ? ham.filter((item) => item.score >= threshold).length / ham.length : null,
    fnr: spam.length ? spam.filter((item) => item.score < threshold).length / spam.length : null,
  };
}

/**
 * Spam recall at the lowest threshold whose false-positive rate stays at or
 * below `maxFpr`. Messages at the threshold count as spam, so tied ham
 * scores are not split in the model's favour.
 */
export function recallAtFpr(items: readonly Scored[], maxFpr: number): number | null {
  const hamScores = items.filter((item) => !item.spam).map((item) => item.score).sort((a, b) => b - a);
  const spamScores = items.filter((item) => item.spam).map((item) => item.score);
  if (hamScores.length === 0 || spamScores.length === 0) return null;
  const allowed = Math.floor(maxFpr * hamScores.length);
  // The threshold must sit above the (allowed + 1)-th highest ham score.
  const bound = hamScores[allowed];
  if (bound === undefined) return 1;
  return spamScores.filter((score) => score > bound).length / spamScores.length;
}

/** The lowest threshold (from the observed scores) with a false-positive rate at or below `maxFpr`. */
export function thresholdForFpr(items: readonly Scored[], maxFpr: number): number {
  const hamScores = items.filter((item) => !item.spam).map((item) => item.score).sort((a, b) => b - a);
  const allowed = Math.floor(maxFpr * hamScores.length);
  const bound = hamScores[allowed];
  if (bound === undefined) return Math.min(...items.map((item) => item.score));
  const above = items.map((item) => item.score).filter((score) => score > bound).sort((a, b) => a - b);
  return above.length ? (bound + (above[0] as number)) / 2 : bound + 1e-6;
}

/** ROC points (FPR, TPR) from the highest score down, for plotting. */
export function rocCurve(items: readonly Scored[]): { fpr: number; tpr: number }[] {
  const positives = items.filter((item) => item.spam).length;
  const negatives = items.length - positives;
  if (positives === 0 || negatives === 0) return [];
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const points = [{ fpr: 0, tpr: 0 }];
  let truePositives = 0;
  let falsePositives = 0;
  for (let index = 0; index < sorted.length; index += 1) {
    const item = sorted[index] as Scored;
    if (item.spam) truePositives += 1;
    else falsePositives += 1;
    const next = sorted[index + 1];
    if (next === undefined || next.score !== item.score) points.push({ fpr: falsePositives / negatives, tpr: truePositives / positives });
  }
  return points;
}
