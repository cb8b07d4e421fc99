#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { defaultModelDir } from '../src/model/index.js';
import { createScorer } from '../src/pipeline/scorer.js';
import { loadCorpusFolder, loadSpamAssassin, SPAMASSASSIN_SET, type CorpusSet } from './corpus.js';
import { metricRows, metricsTable, rocSvg, scoreTestSplit } from './evaluation.js';

/**
 * `npm run evaluate`: scores the test split of the SpamAssassin corpus and of
 * every modern set given with --corpus through the real scorer, and writes
 * a markdown report and an SVG ROC curve.
 */

interface EvaluateOptions {
  model: string;
  corpus: string[];
  report: string;
}

async function evaluate(options: EvaluateOptions): Promise<void> {
  const sets: CorpusSet[] = [loadSpamAssassin()];
  for (const folder of options.corpus) sets.push(...loadCorpusFolder(resolve(folder)));
  if (options.corpus.length === 0) {
    process.stderr.write('No --corpus folder given: evaluating on the SpamAssassin test split only. Pass --corpus DIR to add modern sets.\n');
  }

  const scorer = await createScorer({ modelDir: resolve(options.model), requireModel: true });
  const manifest = (await import('node:fs')).readFileSync(join(resolve(options.model), 'manifest.json'), 'utf8');
  const { thresholds, version } = JSON.parse(manifest) as { thresholds: { spam: number }; version: string };
  const testMessages = sets.flatMap((set) => set.messages.filter((message) => message.split === 'test'));
  const scored = await scoreTestSplit(scorer, testMessages);

  const rows = metricRows(scored, thresholds.spam, SPAMASSASSIN_SET);
  const modern = scored.filter((entry) => entry.set !== SPAMASSASSIN_SET).flatMap((entry) => entry.items);

  const curves = scored.filter((entry) => entry.set === SPAMASSASSIN_SET).map((entry) => ({ label: 'SpamAssassin test split', items: entry.items }));
  if (modern.length > 0) curves.push({ label: 'modern sets combined', items: modern });

  mkdirSync(resolve(options.report), { recursive: true });
  const svgPath = join(resolve(options.report), 'roc.svg');
  writeFileSync(svgPath, rocSvg(curves, `spamward ${version}: ROC on the test split`));
  const command = `npm run evaluate -- ${process.argv.slice(2).join(' ')}`.trim();
  const report = `# Evaluation of model ${version}

Command: \`${command}\`
Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores (${hostname()})
Date: ${new Date().toISOString()}

Every message of the test split (first hex digit of the md5 c, d, e or f) was scored by \`createScorer\` with the model in \`${options.model}\`, model and rules combined, exactly as a gateway scores it. The default spam threshold is ${thresholds.spam}. Recall at FPR ≤ x is the share of spam caught at the lowest threshold that flags at most x of the ham.

${metricsTable(rows)}

A set with one class only has no AUC or recall of its own: its row gives its FPR (ham) or FNR (spam), and the row "SET vs all modern ham/spam" pairs it with the other class of the pooled modern sets.

![ROC curve](roc.svg)
`;
  writeFileSync(join(resolve(options.report), 'evaluation.md'), report);
  process.stdout.write(`${metricsTable(rows)}\n\nwrote ${join(options.report, 'evaluation.md')} and ${svgPath}\n`);
}

const program = new Command()
  .name('spamward-evaluate')
  .description('Evaluate a model on the test split of the SpamAssassin corpus and of modern corpus folders.')
  .option('--model <dir>', 'model folder to evaluate', defaultModelDir())
  .option('--corpus <dir>', 'modern corpus folder holding <set>/ham/*.eml and <set>/spam/*.eml (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--report <dir>', 'folder for evaluation.md and roc.svg (default: the model folder)')
  .action(async (options: { model: string; corpus: string[]; report?: string }) => {
    await evaluate({ model: options.model, corpus: options.corpus, report: options.report ?? options.model });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`spamward-evaluate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
