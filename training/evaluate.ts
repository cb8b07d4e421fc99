#!/usr/bin/env node
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { defaultModelDir } from '../src/model/index.js';
import { createScorer } from '../src/pipeline/scorer.js';
import { loadCorpusFolder, loadSpamAssassin, SPAMASSASSIN_SET, type CorpusSet } from './corpus.js';
import { metricRows, metricsTable, rocSvg, scoreReplay, type SetScores } from './evaluation.js';
import type { SetMetrics } from '../src/model/manifest.js';

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

function modernCombined(rows: readonly SetMetrics[]): SetMetrics | undefined {
  return rows.find((row) => row.set === 'modern sets combined');
}

function compare(name: string, base: SetMetrics | undefined, other: SetMetrics | undefined, otherName: string): string {
  if (!base || !other || base.auc === null || other.auc === null || base.fpr === null || other.fpr === null) {
    return `No modern sets with both classes were given, so ${name} and ${otherName} are not compared.`;
  }
  return `On the modern sets combined, AUC is ${base.auc.toFixed(4)} ${name} and ${other.auc.toFixed(4)} ${otherName} (${other.auc - base.auc >= 0 ? '+' : ''}${(other.auc - base.auc).toFixed(4)}); FPR at the default threshold is ${(100 * base.fpr).toFixed(2)}% and ${(100 * other.fpr).toFixed(2)}% (${other.fpr - base.fpr >= 0 ? '+' : ''}${(100 * (other.fpr - base.fpr)).toFixed(2)} points); recall at FPR ≤ 0.1% is ${percent(base.recallAtFpr01)} and ${percent(other.recallAtFpr01)}.`;
}

/**
 * Builds one row per set: AUC and recall at FPR <= 0.1% with and without the
 * behaviour store, and whether the store lowered the AUC.
 */
function behaviourTable(withStore: readonly SetMetrics[], withoutStore: readonly SetMetrics[]): { table: string; lowered: string[] } {
  const without = new Map(withoutStore.map((row) => [row.set, row]));
  const lines = ['| set | AUC with | AUC without | change | recall at FPR ≤ 0.1% with | without |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
  const lowered: string[] = [];
  for (const row of withStore) {
    const other = without.get(row.set);
    if (!other || row.auc === null || other.auc === null) continue;
    const change = row.auc - other.auc;
    if (change < 0) lowered.push(`${row.set} (${change.toFixed(4)})`);
    lines.push(`| ${row.set} | ${row.auc.toFixed(4)} | ${other.auc.toFixed(4)} | ${change >= 0 ? '+' : ''}${change.toFixed(4)} | ${percent(row.recallAtFpr01)} | ${percent(other.recallAtFpr01)} |`);
  }
  return { table: lines.join('\n'), lowered };
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
}

async function evaluate(options: EvaluateOptions): Promise<void> {
  const sets: CorpusSet[] = [loadSpamAssassin()];
  for (const folder of options.corpus) sets.push(...loadCorpusFolder(resolve(folder)));
  if (options.corpus.length === 0) {
    process.stderr.write('No --corpus folder given: evaluating on the SpamAssassin test split only. Pass --corpus DIR to add modern sets.\n');
  }
  const modelDir = resolve(options.model);
  const shownModelDir = relative(process.cwd(), modelDir) || '.';
  const manifest = JSON.parse(readFileSync(join(modelDir, 'manifest.json'), 'utf8')) as { thresholds: { spam: number }; version: string };
  const threshold = manifest.thresholds.spam;
  const messages = sets.flatMap((set) => set.messages);

  // Auth known: the topmost Authentication-Results of each archived message, as if our MTA wrote it.
  const known = await scoreReplay(() => createScorer({ modelDir, requireModel: true, auth: { trustTopmostHeader: true } }), messages, 'replay, auth known');
  const unknownAuth = await scoreReplay(() => createScorer({ modelDir, requireModel: true }), messages, 'replay, auth unknown');
  const noBehaviour = await scoreReplay(() => createScorer({ modelDir, requireModel: true, store: null, auth: { trustTopmostHeader: true } }), messages, 'replay, no behaviour store');
  const rows = metricRows(known, threshold, SPAMASSASSIN_SET);
  const rowsAuthUnknown = metricRows(unknownAuth, threshold, SPAMASSASSIN_SET);
  const rowsNoBehaviour = metricRows(noBehaviour, threshold, SPAMASSASSIN_SET);

  const pooled = (scored: readonly SetScores[]) => scored.filter((entry) => entry.set !== SPAMASSASSIN_SET).flatMap((entry) => entry.items);
  const curves = known.filter((entry) => entry.set === SPAMASSASSIN_SET).map((entry) => ({ label: 'SpamAssassin test split', items: entry.items }));
  if (pooled(known).length > 0) {
    curves.push({ label: 'modern sets, auth known', items: pooled(known) });
    curves.push({ label: 'modern sets, auth unknown', items: pooled(unknownAuth) });
    curves.push({ label: 'modern sets, no behaviour store', items: pooled(noBehaviour) });
  }

  const reportDir = resolve(options.report);
  mkdirSync(reportDir, { recursive: true });
  const svgPath = join(reportDir, 'roc.svg');
  writeFileSync(svgPath, rocSvg(curves, `spamward ${manifest.version}: ROC on the test split`));
  const command = `npm run evaluate -- ${process.argv.slice(2).join(' ')}`.trim();
  const authComparison = compare('with auth known', modernCombined(rows), modernCombined(rowsAuthUnknown), 'with all auth unknown');
  const behaviourComparison = compare('with behaviour features', modernCombined(rows), modernCombined(rowsNoBehaviour), 'without them');
  const perSet = behaviourTable(rows, rowsNoBehaviour);
  const loweredNote = perSet.lowered.length === 0
    ? 'The behaviour features lower the AUC of no set.'
    : `The behaviour features lower the AUC of ${perSet.lowered.length} set(s): ${perSet.lowered.join(', ')}.`;
  const report = `# Evaluation of model ${manifest.version}

Command: \`${command}\`
Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores
Date: ${new Date().toISOString()}

Every set is replayed through a fresh \`createScorer\` with the model in \`${shownModelDir}\`, in arrival order (the topmost Received timestamp), each message with its arrival time, so the behaviour store builds up history as it would have at a gateway. Only the test split (first hex digit of the md5 c, d, e or f) counts in the metrics. The default spam threshold is ${threshold}. Recall at FPR ≤ x is the share of spam caught at the lowest threshold that flags at most x of the ham.

## Authentication known

Authentication comes from each message's topmost Authentication-Results header, written by the system that received it, as if the gateway's own MTA had written it.

${metricsTable(rows)}

## Authentication unknown

The same replay with every authentication input unknown, as when DNS is down and no trusted header is present.

${metricsTable(rowsAuthUnknown)}

${authComparison}

## Without behaviour features

The same replay (authentication known) with the behaviour store turned off (\`store: null\`), so every behaviour input is unknown.

${metricsTable(rowsNoBehaviour)}

${behaviourComparison}

Per set, with and without the behaviour store (authentication known):

${perSet.table}

${loweredNote}

A set with one class only has no AUC or recall of its own: its row gives its FPR (ham) or FNR (spam), and the row "SET vs all modern ham/spam" pairs it with the other class of the pooled modern sets.

![ROC curves](roc.svg)
`;
  writeFileSync(join(reportDir, 'evaluation.md'), report);
  process.stdout.write(`${metricsTable(rows)}\n\n${authComparison}\n${behaviourComparison}\n${loweredNote}\n\nwrote ${join(options.report, 'evaluation.md')} and ${svgPath}\n`);
}

const program = new Command()
  .name('spamward-evaluate')
  .description('Evaluate a model on the test split of the SpamAssassin corpus and of modern corpus folders.')
  .option('--model <dir>', 'model folder to evaluate', defaultModelDir())
  .option('--corpus <dir>', 'modern corpus folder holding <set>/ham/*.eml and <set>/spam/*.eml (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .option('--report <dir>', 'folder for evaluation.md and roc.svg; the shipped model keeps its own in models/default', 'reports/evaluation')
  .action(async (options: { model: string; corpus: string[]; report: string }) => {
    await evaluate({ model: options.model, corpus: options.corpus, report: options.report });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`spamward-evaluate: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
