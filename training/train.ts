#!/usr/bin/env node
import { resolve } from 'node:path';
import { Command } from 'commander';
import { defaultModelDir } from '../src/model/index.js';
import { loadCorpusFolder, loadSpamAssassin, type CorpusSet } from './corpus.js';
import { metricsTable } from './evaluation.js';
import { loadFeedbackSet } from './feedback-set.js';
import { DEFAULT_FEEDBACK_WEIGHT, trainModel } from './trainer.js';

/**
 * `npm run train`: trains a model folder from the SpamAssassin corpus, the
 * modern corpus folders given with --corpus and, optionally, a feedback
 * folder. It writes the folder and nothing else; `spamward train` adds the
 * gate and the model registry on top.
 */

function integer(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
    return parsed;
  };
}

function positive(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
    return parsed;
  };
}

interface TrainFlags {
  corpus: string[];
  feedback?: string;
  feedbackWeight: number;
  out: string;
  seed: number;
  epochs: number;
  hidden: number;
  modelVersion: string;
}

const program = new Command()
  .name('spamward-train')
  .description('Train the spam model on the SpamAssassin corpus (from npm) plus modern corpus folders, and write a model folder.')
  .option('--corpus <dir>', 'modern corpus folder holding <set>/ham/*.eml and <set>/spam/*.eml (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--feedback <dir>', 'feedback folder written by `spamward feedback add`; its held-out quarter is not trained on')
  .option('--feedback-weight <n>', `weight of one feedback message relative to one corpus message (default ${DEFAULT_FEEDBACK_WEIGHT})`, positive('--feedback-weight'), DEFAULT_FEEDBACK_WEIGHT)
  .option('--out <dir>', 'model folder to write', defaultModelDir())
  .option('--seed <n>', 'random seed for initialisation and shuffling', integer('--seed'), 1337)
  .option('--epochs <n>', 'training epochs', integer('--epochs'), 80)
  .option('--hidden <n>', 'hidden units', integer('--hidden'), 32)
  .option('--model-version <version>', 'version recorded in the manifest (default: the date as YYYY.MM.DD)', new Date().toISOString().slice(0, 10).replaceAll('-', '.'))
  .action(async (flags: TrainFlags) => {
    const sets: CorpusSet[] = [loadSpamAssassin()];
    for (const folder of flags.corpus) sets.push(...loadCorpusFolder(resolve(folder)));
    if (flags.corpus.length === 0) {
      process.stderr.write('No --corpus folder given: training on the SpamAssassin corpus alone. Pass --corpus DIR to add modern sets.\n');
    }
    const feedback = flags.feedback === undefined ? null : await loadFeedbackSet(resolve(flags.feedback));
    const { dir, manifest } = await trainModel({
      sets,
      feedback,
      feedbackWeight: flags.feedbackWeight,
      out: flags.out,
      version: flags.modelVersion,
      seed: flags.seed,
      epochs: flags.epochs,
      hidden: flags.hidden,
      command: `npm run train -- ${process.argv.slice(2).join(' ')}`.trim(),
    });
    process.stderr.write(`\n${metricsTable(manifest.metrics.testSplit)}\n\nwrote ${dir}\n`);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`spamward-train: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
