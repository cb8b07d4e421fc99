import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { authInputsFromTopmostHeader } from '../src/auth/index.js';
import { extractFeatures, type AuthInputs, FEATURE_NAMES, FEATURE_SCHEMA_DIGEST, FEATURE_SCHEMA_VERSION, TokenCounter, TokenTable } from '../src/features/index.js';
import { createHeuristics } from '../src/heuristics/index.js';
import { MODEL_FILES, MODEL_FORMAT, sha256, type ModelManifest, type TrainingSetRecord } from '../src/model/index.js';
import { forward, readDenseNetwork } from '../src/model/network.js';
import { createScorer } from '../src/pipeline/scorer.js';
import { SPAMASSASSIN_SET, type CorpusSet } from './corpus.js';
import { parseExamples, replayBehaviour, type Example } from './dataset.js';
import { metricRows, scoreReplay } from './evaluation.js';
import { FEEDBACK_SET } from './feedback-set.js';
import { fitNetwork, loadTf, seededRandom, serialiseModel } from './fit.js';
import { recallAtFpr, rocAuc, thresholdForFpr, type Scored } from './metrics.js';
import { writeModelCard } from './model-card.js';

/**
 * Trains a model folder from corpus sets and, optionally, incident feedback:
 * the one training procedure behind `npm run train`, `spamward train` and
 * the campaign replay.
 */

/** Folds for out-of-fold token features, so training rows see token statistics that exclude themselves. */
const TOKEN_FOLDS = 5;
/** Tokens seen in fewer documents are dropped from the shipped table. */
const MIN_TOKEN_DOCUMENTS = 2;
/** A modern set's effective weight is capped at this many messages, so no single source dominates. */
const MAX_SET_WEIGHT = 600;
/**
 * A token is masked as a source marker when it is in at least this share of
 * one set's messages but in under SOURCE_MARKER_ELSEWHERE of the other
 * messages with the same label. Such tokens are list names, footers and
 * rewritten recipient addresses, which identify the source, not spam or ham.
 */
const SOURCE_MARKER_IN_SET = 0.4;
const SOURCE_MARKER_ELSEWHERE = 0.05;
const SOURCE_MARKER_MIN_SET_SIZE = 50;
const RULE_WEIGHTS = [0, 0.25, 0.5, 0.75, 1];
/**
 * Auth dropout: the share of training rows whose authentication inputs are
 * all set to unknown, and the chance of each remaining mechanism being set
 * to unknown on its own. A gateway whose DNS is down sees unknown auth, and
 * the model must still score such mail well.
 */
const AUTH_DROPOUT_ALL = 0.5;
const AUTH_DROPOUT_EACH = 0.15;
/** Share of training rows whose behaviour inputs are unknown, as when the store fails. */
const BEHAVIOUR_DROPOUT = 0.2;
const UNKNOWN_INPUTS: AuthInputs = { spf: 'unknown', dkim: 'unknown', dmarc: 'unknown', arc: 'unknown' };

/** Returns the example's auth inputs with dropout applied. */
function droppedAuth(inputs: AuthInputs, random: () => number): AuthInputs {
  if (random() < AUTH_DROPOUT_ALL) return UNKNOWN_INPUTS;
  return {
    spf: random() < AUTH_DROPOUT_EACH ? 'unknown' : inputs.spf,
    dkim: random() < AUTH_DROPOUT_EACH ? 'unknown' : inputs.dkim,
    dmarc: random() < AUTH_DROPOUT_EACH ? 'unknown' : inputs.dmarc,
    arc: random() < AUTH_DROPOUT_EACH ? 'unknown' : inputs.arc,
  };
}


function hashDigit(id: string): string {
  return createHash('md5').update(id).digest('hex');
}

/** Training rows that are held back from fitting to calibrate thresholds and the rule weight. */
function isValidation(example: Example): boolean {
  return /^[ab]/.test(hashDigit(`validation:${example.message.id}`));
}

function foldOf(example: Example): number {
  return Number.parseInt(hashDigit(`fold:${example.message.id}`).slice(0, 8), 16) % TOKEN_FOLDS;
}

/**
 * Token counts for the token table. A feedback message counts as
 * `feedbackCopies` documents, as it weighs that much in the network's fit,
 * so the words of a reported campaign move the token evidence as well.
 */
function countTokens(examples: readonly Example[], feedbackCopies: number): TokenCounter {
  const counter = new TokenCounter();
  for (const example of examples) counter.add(example.tokens, example.spam, example.message.set === FEEDBACK_SET ? feedbackCopies : 1);
  return counter;
}

function findSourceMarkers(examples: readonly Example[]): Set<string> {
  const bySet = new Map<string, Example[]>();
  for (const example of examples) {
    if (example.message.set === SPAMASSASSIN_SET) continue;
    const list = bySet.get(example.message.set) ?? [];
    list.push(example);
    bySet.set(example.message.set, list);
  }
  const masked = new Set<string>();
  for (const [set, members] of bySet) {
    if (members.length < SOURCE_MARKER_MIN_SET_SIZE) continue;
    const inSet = new Map<string, number>();
    for (const example of members) for (const token of example.tokens) inSet.set(token, (inSet.get(token) ?? 0) + 1);
    for (const label of [true, false]) {
      const setMembers = members.filter((example) => example.spam === label);
      if (setMembers.length < SOURCE_MARKER_MIN_SET_SIZE) continue;
      const elsewhere = examples.filter((example) => example.spam === label && example.message.set !== set);
      const elsewhereCounts = new Map<string, number>();
      for (const example of elsewhere) for (const token of example.tokens) elsewhereCounts.set(token, (elsewhereCounts.get(token) ?? 0) + 1);
      for (const [token, count] of inSet) {
        if (count / setMembers.length < SOURCE_MARKER_IN_SET) continue;
        if ((elsewhereCounts.get(token) ?? 0) / Math.max(1, elsewhere.length) < SOURCE_MARKER_ELSEWHERE) masked.add(token);
      }
    }
  }
  return masked;
}

/**
 * From and Reply-To tokens are names and address parts. Only those seen in
 * at least MIN_TOKEN_DOCUMENTS messages of the public-domain SpamAssassin
 * corpus are kept, so the shipped token table carries no name or address
 * that only the modern sets, some of which hold personal data, contain.
 */
function addressTokensOutsidePublicCorpus(examples: readonly Example[]): Set<string> {
  const publicCounts = new Map<string, number>();
  const addressTokens = new Set<string>();
  for (const example of examples) {
    for (const token of example.tokens) {
      if (!token.startsWith('f:') && !token.startsWith('r:')) continue;
      addressTokens.add(token);
      if (example.message.set === SPAMASSASSIN_SET) publicCounts.set(token, (publicCounts.get(token) ?? 0) + 1);
    }
  }
  return new Set([...addressTokens].filter((token) => (publicCounts.get(token) ?? 0) < MIN_TOKEN_DOCUMENTS));
}

function maskTokens(examples: Example[], masked: ReadonlySet<string>): void {
  for (const example of examples) example.tokens = example.tokens.filter((token) => !masked.has(token));
}

function setWeights(examples: readonly Example[], feedbackWeight: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const example of examples) counts.set(example.message.set, (counts.get(example.message.set) ?? 0) + 1);
  const weights = new Map<string, number>();
  for (const [set, count] of counts) {
    if (set === FEEDBACK_SET) weights.set(set, feedbackWeight);
    else weights.set(set, set === SPAMASSASSIN_SET ? 1 : Math.min(1, MAX_SET_WEIGHT / count));
  }
  return weights;
}

function normalisation(rows: readonly Float32Array[]): { mean: number[]; std: number[] } {
  const width = rows[0]?.length ?? 0;
  const mean = new Array<number>(width).fill(0);
  const std = new Array<number>(width).fill(0);
  for (const row of rows) row.forEach((value, index) => (mean[index] = (mean[index] as number) + value / rows.length));
  for (const row of rows) row.forEach((value, index) => (std[index] = (std[index] as number) + (value - (mean[index] as number)) ** 2 / rows.length));
  // A constant feature (such as the auth inputs before any auth data) keeps deviation 1, so it standardises to 0.
  return { mean, std: std.map((variance) => (variance > 1e-12 ? Math.sqrt(variance) : 1)) };
}

function standardise(row: Float32Array, norm: { mean: number[]; std: number[] }): Float32Array {
  return row.map((value, index) => (value - (norm.mean[index] as number)) / (norm.std[index] as number));
}

function describeSets(sets: readonly CorpusSet[]): TrainingSetRecord[] {
  return sets.map((set) => ({
    name: set.name,
    licence: set.licence,
    source: set.source,
    sha256: set.sha256,
    messages: {
      train: set.messages.filter((message) => message.split === 'train').length,
      test: set.messages.filter((message) => message.split === 'test').length,
      ham: set.messages.filter((message) => message.label === 'ham').length,
      spam: set.messages.filter((message) => message.label === 'spam').length,
    },
  }));
}

/** Default weight of one feedback message relative to one corpus message. */
export const DEFAULT_FEEDBACK_WEIGHT = 10;

export interface TrainOptions {
  /** Labelled corpus sets; the SpamAssassin set among them is the fixed base. */
  sets: readonly CorpusSet[];
  /** Reported messages (see loadFeedbackSet); their train split is learned from with `feedbackWeight`. */
  feedback?: CorpusSet | null;
  /** Weight of one feedback message relative to one corpus message. Default 10. */
  feedbackWeight?: number;
  /** Model folder to write. */
  out: string;
  version: string;
  /** Version of the model this one replaces, recorded in the manifest. */
  parent?: string | null;
  seed: number;
  epochs: number;
  hidden: number;
  /** Replay the test split through the saved model and record the metrics in the manifest. Default true. */
  evaluate?: boolean;
  /** The command line recorded in the manifest. */
  command: string;
  /** Receives progress lines. Default: stderr. */
  log?: (line: string) => void;
}

export interface TrainResult {
  dir: string;
  manifest: ModelManifest;
}


/**
 * Trains and writes a model folder: manifest.json, model.json, weights.bin,
 * tokens.json and MODEL_CARD.md. Feedback messages in the test split
 * (first hex digit of their sha256 c to f) are held out of training, so a
 * gate can check the model on reports it never saw.
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const feedbackWeight = options.feedbackWeight ?? DEFAULT_FEEDBACK_WEIGHT;
  if (!(Number.isFinite(feedbackWeight) && feedbackWeight > 0)) throw new RangeError(`feedbackWeight must be a positive number, got ${feedbackWeight}.`);
  const feedbackCopies = Math.max(1, Math.round(feedbackWeight));
  const sets = [...options.sets, ...(options.feedback ? [options.feedback] : [])];
  for (const set of sets) log(`corpus ${set.name}: ${set.messages.length} messages (${set.licence})`);

  const all = sets.flatMap((set) => set.messages);
  const trainExamples = await parseExamples(all.filter((message) => message.split === 'train'), 'train split');
  if (!trainExamples.some((example) => example.spam) || !trainExamples.some((example) => !example.spam)) {
    throw new RangeError('The training split needs both ham and spam messages.');
  }
  await replayBehaviour(trainExamples);
  const sourceMarkers = findSourceMarkers(trainExamples);
  const addressTokens = addressTokensOutsidePublicCorpus(trainExamples);
  const masked = new Set([...sourceMarkers, ...addressTokens]);
  maskTokens(trainExamples, masked);
  log(`masked ${sourceMarkers.size} source-marker tokens and ${addressTokens.size} address tokens not in the SpamAssassin corpus`);

  // Feedback is all fitted on: it is small, and the gate checks the model on its own held-out part.
  const held = (example: Example): boolean => example.message.set !== FEEDBACK_SET && isValidation(example);
  const fitExamples = trainExamples.filter((example) => !held(example));
  const validationExamples = trainExamples.filter(held);
  const fitTable = new TokenTable(countTokens(fitExamples, feedbackCopies).toData(MIN_TOKEN_DOCUMENTS));

  // Out-of-fold token statistics for the rows the network is fitted on, and
  // authentication from each message's topmost Authentication-Results, with dropout.
  const random = seededRandom(options.seed + 2);
  const fitAuth = fitExamples.map((example) => droppedAuth(authInputsFromTopmostHeader(example.parsed), random));
  const fitBehaviour = fitExamples.map((example) => (random() < BEHAVIOUR_DROPOUT ? null : example.behaviour ?? null));
  const fitRows: Float32Array[] = new Array(fitExamples.length);
  for (let fold = 0; fold < TOKEN_FOLDS; fold += 1) {
    const table = new TokenTable(countTokens(fitExamples.filter((example) => foldOf(example) !== fold), feedbackCopies).toData(MIN_TOKEN_DOCUMENTS));
    fitExamples.forEach((example, index) => {
      if (foldOf(example) === fold) {
        fitRows[index] = extractFeatures(example.parsed, { tokens: table, auth: fitAuth[index] as AuthInputs, behaviour: fitBehaviour[index] ?? null });
      }
    });
  }
  const norm = normalisation(fitRows);
  const weightsBySet = setWeights(fitExamples, feedbackWeight);

  const tf = await loadTf();
  log(`training on ${fitExamples.length} messages with ${tf.backend}, ${validationExamples.length} held back for calibration`);
  const model = await fitNetwork(tf, fitRows.map((row) => standardise(row, norm)), fitExamples.map((example) => (example.spam ? 1 : 0)), fitExamples.map((example) => weightsBySet.get(example.message.set) ?? 1), {
    seed: options.seed,
    epochs: options.epochs,
    hiddenUnits: options.hidden,
    batchSize: 64,
    learningRate: 0.003,
    l2: 1e-4,
    onEpoch: (epoch, loss) => {
      if ((epoch + 1) % 10 === 0 || epoch === 0) log(`epoch ${epoch + 1}/${options.epochs}: loss ${loss.toFixed(4)}`);
    },
  });
  const artifacts = await serialiseModel(tf, model, `spamward training/trainer.ts, ${tf.backend}`);
  const layers = readDenseNetwork(JSON.parse(artifacts.modelJson), () => artifacts.weights);

  // Calibrate the rule weight and the thresholds on the held-back rows.
  const heuristics = createHeuristics();
  const validation = validationExamples.map((example) => {
    const features = extractFeatures(example.parsed, { tokens: fitTable, auth: authInputsFromTopmostHeader(example.parsed), behaviour: example.behaviour ?? null });
    const logit = forward(layers, standardise(features, norm)).logit;
    const rules = heuristics.run(example.parsed).reduce((sum, hit) => sum + hit.score, 0);
    return { logit: Math.max(-15, Math.min(15, logit)), rules, spam: example.spam };
  });
  let ruleWeight = 0;
  let best = -Infinity;
  for (const weight of RULE_WEIGHTS) {
    const items: Scored[] = validation.map((row) => ({ score: row.logit + weight * row.rules, spam: row.spam }));
    const quality = (recallAtFpr(items, 0.002) ?? 0) + (rocAuc(items) ?? 0);
    log(`rule weight ${weight}: recall at FPR ≤ 0.2% + AUC = ${quality.toFixed(4)} on validation`);
    if (quality > best + 1e-9) {
      best = quality;
      ruleWeight = weight;
    }
  }
  const calibrated: Scored[] = validation.map((row) => ({ score: row.logit + ruleWeight * row.rules, spam: row.spam }));
  const spamThreshold = Math.max(0, thresholdForFpr(calibrated, 0.002));
  // Tagging as suspect starts where spam is at least as likely as ham, or later where 1% of the held-back ham allows.
  const suspectThreshold = Math.min(spamThreshold, Math.max(0, thresholdForFpr(calibrated, 0.01)));
  const thresholds = { suspect: round(suspectThreshold), spam: round(spamThreshold), reject: round(spamThreshold + 6) };

  const out = resolve(options.out);
  mkdirSync(out, { recursive: true });
  const tokensJson = `${JSON.stringify(countTokens(fitExamples, feedbackCopies).toData(MIN_TOKEN_DOCUMENTS))}\n`;
  const files: Record<(typeof MODEL_FILES)[number], string | Buffer> = { 'model.json': artifacts.modelJson, 'weights.bin': artifacts.weights, 'tokens.json': tokensJson };
  const checksums: Record<string, string> = {};
  for (const name of MODEL_FILES) {
    writeFileSync(join(out, name), files[name]);
    checksums[name] = sha256(typeof files[name] === 'string' ? Buffer.from(files[name]) : files[name]);
  }
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: options.version,
    createdAt: new Date().toISOString(),
    parent: options.parent ?? null,
    data: { sets: Object.fromEntries(options.sets.map((set) => [set.name, set.sha256])), feedback: options.feedback ? options.feedback.sha256 : null },
    schema: { version: FEATURE_SCHEMA_VERSION, digest: FEATURE_SCHEMA_DIGEST, features: [...FEATURE_NAMES] },
    normalisation: norm,
    thresholds,
    ruleWeight,
    training: { seed: options.seed, epochs: options.epochs, sets: describeSets(sets), maskedTokens: sourceMarkers.size, maskedAddressTokens: addressTokens.size, backend: tf.backend },
    metrics: { testSplit: [], testSplitAuthUnknown: [], computedAt: '', command: '' },
    checksums,
  };
  writeManifest(out, manifest);

  if (options.evaluate !== false) {
    // Metrics on the test split come from the saved model through the real scorer. Feedback is judged by the gate, not here.
    const corpus = options.sets.flatMap((set) => set.messages);
    const rows = metricRows(await scoreReplay(() => createScorer({ modelDir: out, requireModel: true, auth: { trustTopmostHeader: true } }), corpus, 'replay, auth known'), thresholds.spam, SPAMASSASSIN_SET);
    const rowsAuthUnknown = metricRows(await scoreReplay(() => createScorer({ modelDir: out, requireModel: true }), corpus, 'replay, auth unknown'), thresholds.spam, SPAMASSASSIN_SET);
    manifest.metrics = { testSplit: rows, testSplitAuthUnknown: rowsAuthUnknown, computedAt: new Date().toISOString(), command: options.command };
  } else {
    manifest.metrics.command = options.command;
  }
  writeManifest(out, manifest);
  writeModelCard(out, manifest);
  return { dir: out, manifest };
}

function writeManifest(dir: string, manifest: ModelManifest): void {
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}



function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

