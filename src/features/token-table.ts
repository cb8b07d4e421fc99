/**
 * Per-token spam and ham document counts, and the Robinson-Fisher
 * combination that turns a message's tokens into a spamicity. This is the
 * method bogofilter uses; here it produces model inputs, and the neural
 * model weighs them against the header and structure features.
 */

/** Strength of the prior towards ROBINSON_X for rare tokens (Robinson's s). */
const ROBINSON_S = 1;
/** Prior spam probability of an unseen token (Robinson's x). */
const ROBINSON_X = 0.5;
/** Tokens whose probability lies within this distance of 0.5 are ignored. */
const MIN_DEVIATION = 0.1;
/** Probabilities are clamped away from 0 and 1 so one token cannot decide alone. */
const PROBABILITY_CLAMP = 0.0001;
/**
 * At most this many of the most deviant tokens are combined. It also keeps
 * the chi-square tail accurate: with at most 150 tokens, exp(-chi / 2) only
 * underflows where the true tail is below 1e-300 anyway.
 */
const MAX_COMBINED_TOKENS = 150;

export interface TokenTableData {
  spamDocuments: number;
  hamDocuments: number;
  /** token → [spam documents containing it, ham documents containing it] */
  counts: Record<string, [number, number]>;
}

export interface TokenEvidence {
  spamicity: number;
  spamEvidence: number;
  hamEvidence: number;
  strongSpam: number;
  strongHam: number;
  knownRatio: number;
}

/** Upper tail of the chi-square distribution with an even number of degrees of freedom. */
function chiSquareUpperTail(chi: number, degreesOfFreedom: number): number {
  const m = chi / 2;
  let term = Math.exp(-m);
  let sum = term;
  for (let i = 1; i < degreesOfFreedom / 2; i += 1) {
    term *= m / i;
    sum += term;
  }
  return Math.min(sum, 1);
}

export class TokenTable {
  readonly spamDocuments: number;
  readonly hamDocuments: number;
  private readonly counts: Map<string, [number, number]>;
  /** Probabilities computed once at load, because scoring looks up hundreds of tokens per message. */
  private readonly probabilities = new Map<string, number>();

  constructor(data: TokenTableData) {
    this.spamDocuments = data.spamDocuments;
    this.hamDocuments = data.hamDocuments;
    this.counts = new Map(Object.entries(data.counts));
    for (const token of this.counts.keys()) {
      const probability = this.computeProbability(token);
      if (probability !== null) this.probabilities.set(token, probability);
    }
  }

  get size(): number {
    return this.counts.size;
  }

  /** Robinson's smoothed spam probability of one token, or null when it was never seen. */
  probability(token: string): number | null {
    return this.probabilities.get(token) ?? null;
  }

  private computeProbability(token: string): number | null {
    const entry = this.counts.get(token);
    if (!entry || this.spamDocuments === 0 || this.hamDocuments === 0) return null;
    const [spam, ham] = entry;
    const spamRate = spam / this.spamDocuments;
    const hamRate = ham / this.hamDocuments;
    if (spamRate + hamRate === 0) return null;
    const raw = spamRate / (spamRate + hamRate);
    const seen = spam + ham;
    const smoothed = (ROBINSON_S * ROBINSON_X + seen * raw) / (ROBINSON_S + seen);
    return Math.min(1 - PROBABILITY_CLAMP, Math.max(PROBABILITY_CLAMP, smoothed));
  }

  evidence(tokens: readonly string[]): TokenEvidence {
    let known = 0;
    let strongSpam = 0;
    let strongHam = 0;
    const deviant: number[] = [];
    for (const token of tokens) {
      const probability = this.probability(token);
      if (probability === null) continue;
      known += 1;
      if (probability >= 0.9) strongSpam += 1;
      if (probability <= 0.1) strongHam += 1;
      if (Math.abs(probability - 0.5) >= MIN_DEVIATION) deviant.push(probability);
    }
    if (deviant.length > MAX_COMBINED_TOKENS) {
      deviant.sort((a, b) => Math.abs(b - 0.5) - Math.abs(a - 0.5));
      deviant.length = MAX_COMBINED_TOKENS;
    }
    let sumLogSpam = 0;
    let sumLogHam = 0;
    for (const probability of deviant) {
      sumLogSpam += Math.log(1 - probability);
      sumLogHam += Math.log(probability);
    }
    const used = deviant.length;
    if (used === 0) {
      return { spamicity: 0.5, spamEvidence: 0, hamEvidence: 0, strongSpam, strongHam, knownRatio: tokens.length ? known / tokens.length : 0 };
    }
    // P is small when the tokens are spammy, Q is small when they are hammy.
    const p = chiSquareUpperTail(-2 * sumLogSpam, 2 * used);
    const q = chiSquareUpperTail(-2 * sumLogHam, 2 * used);
    return {
      spamicity: (1 + q - p) / 2,
      spamEvidence: 1 - p,
      hamEvidence: 1 - q,
      strongSpam,
      strongHam,
      knownRatio: known / tokens.length,
    };
  }
}

/** Counts tokens per class over documents, for building a TokenTable in training. */
export class TokenCounter {
  spamDocuments = 0;
  hamDocuments = 0;
  readonly counts = new Map<string, [number, number]>();

  /** Counts one document, or `copies` identical ones (a whole number, at least 1), as training counts a weighted message. */
  add(tokens: readonly string[], isSpam: boolean, copies = 1): void {
    if (!Number.isInteger(copies) || copies < 1) throw new RangeError(`copies must be a whole number of at least 1, got ${copies}.`);
    if (isSpam) this.spamDocuments += copies;
    else this.hamDocuments += copies;
    for (const token of tokens) {
      let entry = this.counts.get(token);
      if (!entry) {
        entry = [0, 0];
        this.counts.set(token, entry);
      }
      entry[isSpam ? 0 : 1] += copies;
    }
  }

  /** Builds table data, dropping tokens seen in fewer than `minDocuments` documents and those in `exclude`. */
  toData(minDocuments: number, exclude: ReadonlySet<string> = new Set()): TokenTableData {
    const counts: Record<string, [number, number]> = {};
    const sorted = [...this.counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [token, [spam, ham]] of sorted) {
      if (spam + ham < minDocuments || exclude.has(token)) continue;
      counts[token] = [spam, ham];
    }
    return { spamDocuments: this.spamDocuments, hamDocuments: this.hamDocuments, counts };
  }
}
