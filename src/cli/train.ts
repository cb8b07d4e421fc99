/**
 * `spamward train`: retrains from the corpora and the reported feedback,
 * runs the evaluation gate against the active model and promotes the
 * candidate in the model registry when it passes. Training needs the
 * development dependencies (@tensorflow/tfjs and the SpamAssassin corpus
 * package). Without them the command reports what is missing and exits
 * with status 1.
 */
import { Command, InvalidArgumentError } from 'commander';
import { describeError } from '../errors.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './io.js';
import { REGISTRY_ENV } from './model.js';
import { parsePathOnce } from './options.js';

interface TrainFlags {
  corpus?: string[];
  feedback?: string;
  registry?: string;
  modelVersion?: string;
  toleranceAuc?: number;
  toleranceFpr?: number;
  toleranceRecall?: number;
  feedbackWeight?: number;
  epochs?: number;
  force?: boolean;
  dryRun?: boolean;
}

const TRAIN_HELP = `
Gate:
  The candidate and the active model are scored on the SpamAssassin test
  split, the test split of each --corpus set, and the held-out quarter of the
  feedback (messages whose sha256 starts with c, d, e or f; the rest is
  trained on, so a report in that quarter is checked but never learned
  from). The candidate is promoted only when
  - its AUC on the SpamAssassin test split is at most --tolerance-auc lower,
  - its false-positive rate there, at its spam threshold, is at most
    --tolerance-fpr percentage points higher,
  - its spam recall there at FPR <= 0.1% is at most --tolerance-recall
    percentage points lower, and
  - it classifies more held-out feedback right, or as many with a lower
    mean loss (more margin from the spam threshold).
  Otherwise it stays in the registry, inactive, and the command exits with
  status 1 and names the failed checks. --force promotes it anyway; the
  registry log records that. The report (gate.md with ROC curves and score
  histograms) is written into the candidate's folder. Every run, --dry-run
  included, adds its candidate to the registry as a new inactive version.

Exit status:
  0    the candidate was promoted, or with --dry-run evaluated, whether the
       gate passed or not (the output says which)
  1    the gate rejected the candidate, or training failed
  2    invalid command line

Examples:
  spamward train --feedback ./feedback
  spamward train --corpus ../corpora --feedback ./feedback --registry /var/lib/spamward/models`;

function nonNegative(value: string, previous: number | undefined): number {
  if (previous !== undefined) throw new InvalidArgumentError('The option was given more than once.');
  const number = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) throw new InvalidArgumentError('Expected a number of at least 0.');
  return number;
}

function positiveNumber(value: string, previous: number | undefined): number {
  const number = nonNegative(value, previous);
  if (number === 0) throw new InvalidArgumentError('Expected a number above 0.');
  return number;
}

function positiveInteger(value: string, previous: number | undefined): number {
  if (previous !== undefined) throw new InvalidArgumentError('The option was given more than once.');
  const number = Number(value.trim());
  if (!Number.isSafeInteger(number) || number < 1) throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return number;
}

async function runTrain(flags: TrainFlags, io: CliIo, command: string): Promise<number> {
  const registry = flags.registry ?? process.env[REGISTRY_ENV];
  let retrainModule: typeof import('../../training/retrain.js');
  try {
    retrainModule = await import('../../training/retrain.js');
  } catch (error) {
    io.stderr.write(`spamward train: the training code is not available in this installation (${describeError(error)}). Run it from a clone of the repository after \`npm install\`.\n`);
    return EXIT_FAILED;
  }
  try {
    const result = await retrainModule.retrain({
      corpus: flags.corpus ?? [],
      ...(flags.feedback === undefined ? {} : { feedback: flags.feedback }),
      ...(registry === undefined || registry === '' ? {} : { registry }),
      ...(flags.modelVersion === undefined ? {} : { version: flags.modelVersion }),
      tolerances: {
        ...(flags.toleranceAuc === undefined ? {} : { auc: flags.toleranceAuc }),
        ...(flags.toleranceFpr === undefined ? {} : { fpr: flags.toleranceFpr / 100 }),
        ...(flags.toleranceRecall === undefined ? {} : { recall: flags.toleranceRecall / 100 }),
      },
      ...(flags.feedbackWeight === undefined ? {} : { feedbackWeight: flags.feedbackWeight }),
      ...(flags.epochs === undefined ? {} : { epochs: flags.epochs }),
      force: flags.force === true,
      dryRun: flags.dryRun === true,
      command,
      log: (line) => io.stderr.write(`${line}\n`),
    });
    const failed = result.decision.checks.filter((check) => !check.passed);
    io.stdout.write(`Candidate ${result.version}: ${result.outcome}.${failed.length > 0 ? ` Failed checks: ${failed.map((check) => `${check.name} (${check.detail})`).join('; ')}.` : ''}\nReport: ${result.reportPath}\n`);
    return result.promoted || flags.dryRun === true ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    io.stderr.write(`spamward train: ${describeError(error)}\n`);
    return EXIT_FAILED;
  }
}

/** Adds the `train` command to the program. */
export function addTrainCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('train')
    .description('Retrain from the corpora and reported feedback, gate the candidate against the active model, and promote it when it passes.')
    .option('--corpus <dir>', 'modern corpus folder holding <set>/ham/*.eml and <set>/spam/*.eml, added to the SpamAssassin corpus; repeat for more', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option('--feedback <dir>', 'feedback folder written by "spamward feedback add"', parsePathOnce)
    .option('--registry <dir>', `model registry folder (default: $${REGISTRY_ENV}, else the models/ folder of the spamward package)`, parsePathOnce)
    .option('--model-version <name>', 'version name of the candidate (default: today as YYYY.MM.DD-N with the first free N)')
    .option('--tolerance-auc <n>', 'largest AUC drop on the SpamAssassin test split that passes (default: 0.002)', nonNegative)
    .option('--tolerance-fpr <points>', 'largest rise of the false-positive rate there, in percentage points (default: 0)', nonNegative)
    .option('--tolerance-recall <points>', 'largest drop of the spam recall at FPR <= 0.1% there, in percentage points (default: 1)', nonNegative)
    .option('--feedback-weight <n>', 'weight of one feedback message relative to one corpus message (default: 10)', positiveNumber)
    .option('--epochs <n>', 'training epochs (default: 80)', positiveInteger)
    .option('--force', 'promote the candidate even when the gate rejects it; the registry log records it')
    .option('--dry-run', 'train and evaluate, but leave the active model as it is')
    .addHelpText('after', TRAIN_HELP)
    .action(async (flags: TrainFlags) => {
      setExitCode(await runTrain(flags, io, `spamward train ${process.argv.slice(3).join(' ')}`.trim()));
    });
}
