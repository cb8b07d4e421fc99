import { mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openRegistry } from '../src/model/registry.js';
import { loadCorpusFolder, loadSpamAssassin, type CorpusSet } from './corpus.js';
import { loadFeedbackSet } from './feedback-set.js';
import { DEFAULT_GATE_TOLERANCES, evaluateModel, gateDecision, type GateDecision, type GateTolerances } from './gate.js';
import { writeGateReport } from './gate-report.js';
import { trainModel } from './trainer.js';

/**
 * Retraining with a gate. A candidate is trained from the base corpora plus
 * the reported feedback and added to the model registry. It and the active
 * model are scored on the same data, and it is promoted only when the gate
 * passes, or with `force`, which the registry log records. A rejected
 * candidate stays in the registry, inactive, for inspection.
 */

export interface RetrainOptions {
  /** Modern corpus folders added to the SpamAssassin corpus. */
  corpus: string[];
  /** Feedback folder written by `spamward feedback add`, or undefined to retrain on the corpora alone. */
  feedback?: string;
  /** Model registry folder. Default: the package's models/ folder. */
  registry?: string;
  /** Version name of the candidate. Default: today's date as YYYY.MM.DD-N with the first free N. */
  version?: string;
  /** Gate tolerances; see DEFAULT_GATE_TOLERANCES. */
  tolerances?: Partial<GateTolerances>;
  /** Promote even when the gate rejects the candidate. */
  force?: boolean;
  /** Run the gate and write the report but leave the active model as it is. */
  dryRun?: boolean;
  /** Weight of a feedback message relative to a corpus message. Default 10. */
  feedbackWeight?: number;
  seed?: number;
  epochs?: number;
  hidden?: number;
  /** The command line recorded in the manifest and the report. */
  command: string;
  log?: (line: string) => void;
  /** Replaces the SpamAssassin corpus, for tests on a small corpus. */
  baseSet?: CorpusSet;
}

export interface RetrainResult {
  version: string;
  dir: string;
  decision: GateDecision;
  /** `promoted`, `promoted with --force`, `rejected` or `not promoted (dry run)`. */
  outcome: string;
  promoted: boolean;
  reportPath: string;
}

function todayVersion(taken: ReadonlySet<string>): string {
  const date = new Date().toISOString().slice(0, 10).replaceAll('-', '.');
  for (let index = 1; ; index += 1) {
    const version = `${date}-${index}`;
    if (!taken.has(version)) return version;
  }
}

function resolveTolerances(overrides: Partial<GateTolerances> = {}): GateTolerances {
  const tolerances = { ...DEFAULT_GATE_TOLERANCES, ...overrides };
  for (const [name, value] of Object.entries(tolerances)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`Gate tolerance ${name} must be a number of at least 0, got ${value}.`);
  }
  return tolerances;
}

export async function retrain(options: RetrainOptions): Promise<RetrainResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const tolerances = resolveTolerances(options.tolerances);
  const registry = await openRegistry(options.registry);
  const activePointer = await registry.active();
  const activeDir = await registry.activeDir();
  const entries = await registry.list();
  const version = options.version ?? todayVersion(new Set(entries.map((entry) => entry.version)));
  if (entries.some((entry) => entry.version === version)) throw new RangeError(`Version "${version}" already exists in registry "${registry.dir}". Choose another with --model-version.`);

  const sets: CorpusSet[] = [options.baseSet ?? loadSpamAssassin()];
  for (const folder of options.corpus) sets.push(...loadCorpusFolder(resolve(folder)));
  const feedback = options.feedback === undefined ? null : await loadFeedbackSet(resolve(options.feedback));
  if (feedback) {
    const held = feedback.messages.filter((message) => message.split === 'test').length;
    log(`feedback: ${feedback.messages.length} messages, ${held} held out of training for the gate`);
  }

  // The candidate is trained outside the registry and copied in whole, so the registry never lists a half-written version.
  const scratch = await mkdtemp(join(registry.dir, '.candidate-'));
  let candidateDir: string;
  try {
    await trainModel({
      sets,
      feedback,
      ...(options.feedbackWeight === undefined ? {} : { feedbackWeight: options.feedbackWeight }),
      out: scratch,
      version,
      parent: activePointer.version,
      seed: options.seed ?? 1337,
      epochs: options.epochs ?? 80,
      hidden: options.hidden ?? 32,
      evaluate: true,
      command: options.command,
      log,
    });
    candidateDir = (await registry.addModel(scratch, { version })).dir;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }

  log(`gate: scoring the active model ${activePointer.version} and the candidate ${version} on the same data`);
  // Named by their registry versions, as `spamward model list` shows them; a manifest's own version may differ (the shipped `default`).
  const active = { ...(await evaluateModel(activeDir, sets, feedback, `active ${activePointer.version}`)), version: activePointer.version };
  const candidate = { ...(await evaluateModel(candidateDir, sets, feedback, `candidate ${version}`)), version };
  const decision = gateDecision(candidate, active, tolerances);
  for (const check of decision.checks) log(`gate ${check.passed ? 'pass' : 'FAIL'} ${check.name}: ${check.detail}`);

  let outcome: string;
  let promoted = false;
  if (options.dryRun) {
    outcome = `not promoted (dry run); the gate ${decision.passed ? 'passed' : 'rejected it'}`;
  } else if (decision.passed || options.force) {
    const failed = decision.checks.filter((check) => !check.passed).map((check) => check.name);
    const reason = decision.passed ? 'retrained; gate passed' : `retrained; gate failed (${failed.join(', ')}), promoted with --force`;
    await registry.promote(version, { reason, force: !decision.passed, gated: decision.passed });
    promoted = true;
    outcome = decision.passed ? 'promoted' : 'promoted with --force';
  } else {
    outcome = 'rejected';
  }
  const reportPath = writeGateReport(candidateDir, { active, candidate, decision, outcome, command: options.command });
  return { version, dir: candidateDir, decision, outcome, promoted, reportPath };
}
