#!/usr/bin/env node
/**
 * Campaign replay: how fast spamward learns a spam campaign it has never
 * seen, from a handful of user reports.
 *
 *   npm run campaign -- --corpus ../corpora --campaign phishing-pot-2022-2024 [--year 2024] [--reports 20] [--pick first|spread] [--write]
 *
 * 1. Every message of the campaign set (optionally one year of it, by the
 *    arrival time) is taken out of the corpora, and a baseline model is
 *    trained without it.
 * 2. The campaign is replayed in arrival order. --reports of its messages
 *    (the first ones, or with --pick spread every n-th one) are reported as
 *    spam, and the rest are scored:
 *    a. by the baseline with a behaviour store and no reports;
 *    b. by the baseline with the reports given to `scorer.report` (fast
 *       adaptation, no retraining);
 *    c. by a model retrained with the reported messages as feedback;
 *    d. by that model with the reports in its behaviour store.
 * 3. FPR on the SpamAssassin test split at each model's spam threshold shows
 *    what the retrain cost the ham.
 * The result is printed as markdown; --write inserts it into
 * benchmarks/RESULTS.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { createScorer } from '../src/pipeline/scorer.js';
import { writeResults } from '../benchmarks/results-file.js';
import { loadCorpusFolder, loadSpamAssassin, SPAMASSASSIN_SET, type CorpusSet } from './corpus.js';
import { inArrivalOrder } from './evaluation.js';
import { FEEDBACK_SET } from './feedback-set.js';
import { DEFAULT_FEEDBACK_WEIGHT, trainModel } from './trainer.js';
import type { ModelManifest, SetMetrics } from '../src/model/manifest.js';

/** The pooled row of the modern sets in a manifest's metrics. */
const MODERN_COMBINED = 'modern sets combined';

interface CampaignFlags {
  corpus: string[];
  campaign: string;
  year?: number;
  reports: number;
  pick: 'first' | 'spread';
  feedbackWeight: number;
  epochs: number;
  write?: boolean;
}

function metricsRow(manifest: ModelManifest, set: string): SetMetrics | undefined {
  return manifest.metrics.testSplit.find((row) => row.set === set);
}

function rate(value: number | null | undefined): string {
  return value === null || value === undefined ? 'n/a' : `${(100 * value).toFixed(2)}%`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? 'n/a' : `${((100 * part) / whole).toFixed(1)}%`;
}

async function run(flags: CampaignFlags): Promise<void> {
  const started = Date.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const sets: CorpusSet[] = [loadSpamAssassin()];
  for (const folder of flags.corpus) sets.push(...loadCorpusFolder(resolve(folder)));
  const campaignSet = sets.find((set) => set.name === flags.campaign);
  if (!campaignSet) throw new Error(`Campaign set "${flags.campaign}" is not in the corpus folders given. Sets: ${sets.map((set) => set.name).join(', ')}.`);

  const ordered = (await inArrivalOrder(campaignSet.messages.filter((message) => message.label === 'spam'))).filter(
    (entry) => flags.year === undefined || new Date(entry.time).getUTCFullYear() === flags.year,
  );
  if (ordered.length <= flags.reports) throw new Error(`The campaign has ${ordered.length} spam messages; it needs more than --reports ${flags.reports}.`);
  const campaignIds = new Set(ordered.map((entry) => entry.message.id));
  // `first`: the earliest messages, as the first complaints of an incident. `spread`: every n-th message, as reports that arrive throughout it.
  const step = Math.floor(ordered.length / flags.reports);
  const isReported = (index: number): boolean => (flags.pick === 'first' ? index < flags.reports : index % step === 0 && index / step < flags.reports);
  const reported = ordered.filter((_, index) => isReported(index));
  const rest = ordered.filter((_, index) => !isReported(index));
  const trainingSets = sets
    .map((set) => ({ ...set, messages: set.messages.filter((message) => !campaignIds.has(message.id)) }))
    .filter((set) => set.messages.length > 0);
  process.stderr.write(`campaign ${flags.campaign}${flags.year === undefined ? '' : ` (${flags.year})`}: ${ordered.length} spam messages held out; ${reported.length} reported, ${rest.length} scored\n`);

  const work = await mkdtemp(join(tmpdir(), 'spamward-campaign-'));
  try {
    const baselineStarted = Date.now();
    const baseline = await trainModel({ sets: trainingSets, out: join(work, 'baseline'), version: 'campaign-baseline', seed: 1337, epochs: flags.epochs, hidden: 32, command: 'training/campaign.ts baseline' });
    const baselineSeconds = (Date.now() - baselineStarted) / 1000;

    const feedback: CorpusSet = {
      name: FEEDBACK_SET,
      licence: 'reported campaign messages',
      source: `${flags.campaign}, first ${flags.reports} by arrival`,
      sha256: 'campaign-replay',
      messages: reported.map(({ message }) => ({ ...message, set: FEEDBACK_SET, split: 'train' as const })),
    };
    const retrainStarted = Date.now();
    const retrained = await trainModel({ sets: trainingSets, feedback, feedbackWeight: flags.feedbackWeight, out: join(work, 'retrained'), version: 'campaign-retrained', parent: 'campaign-baseline', seed: 1337, epochs: flags.epochs, hidden: 32, command: 'training/campaign.ts retrained' });
    const retrainSeconds = (Date.now() - retrainStarted) / 1000;

    // (a) and (b): the baseline with a behaviour store, without and with the reports.
    const caught = { plain: 0, adapted: 0, retrained: 0, both: 0 };
    for (const mode of ['plain', 'adapted', 'both'] as const) {
      const scorer = await createScorer({ modelDir: mode === 'both' ? retrained.dir : baseline.dir, requireModel: true, store: 'memory' });
      for (const { message, time } of reported) {
        await scorer.score(message.raw, { receivedAt: new Date(time) });
        if (mode !== 'plain') await scorer.report(message.raw, 'spam', { source: message.id });
      }
      for (const { message, time } of rest) {
        const result = await scorer.score(message.raw, { receivedAt: new Date(time) });
        if (result.verdict === 'spam') caught[mode] += 1;
      }
      await scorer.close();
    }
    // (c): the retrained model without a store, so only the retrain counts.
    const scorer = await createScorer({ modelDir: retrained.dir, requireModel: true, store: null });
    for (const { message } of rest) if ((await scorer.score(message.raw)).verdict === 'spam') caught.retrained += 1;
    await scorer.close();

    const baseFpr = metricsRow(baseline.manifest, SPAMASSASSIN_SET)?.fpr ?? null;
    const retrainedFpr = metricsRow(retrained.manifest, SPAMASSASSIN_SET)?.fpr ?? null;
    const baseModernFpr = metricsRow(baseline.manifest, MODERN_COMBINED)?.fpr;
    const retrainedModernFpr = metricsRow(retrained.manifest, MODERN_COMBINED)?.fpr;
    const cpu = cpus();
    const section = `## ${new Date().toISOString()}, campaign replay

- Command: \`npm run campaign -- ${process.argv.slice(2).join(' ')}\`
- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; 1-minute load average ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end
- Campaign: ${flags.campaign}${flags.year === undefined ? '' : `, year ${flags.year}`}, ${ordered.length} spam messages held out of training and evaluation; ${flags.pick === 'first' ? `the first ${reported.length} by arrival time` : `${reported.length} spread evenly over the arrival order`} reported as spam, the other ${rest.length} scored. Feedback weight ${flags.feedbackWeight}, ${flags.epochs} epochs.
- Training time: baseline ${baselineSeconds.toFixed(0)} s, retrain with the reports ${retrainSeconds.toFixed(0)} s (each includes the test-split replay for the manifest). The run took ${((Date.now() - started) / 1000).toFixed(0)} s.

| Setup | Caught as spam | FPR, SpamAssassin test split | FPR, modern test ham |
| --- | --: | --: | --: |
| (a) baseline, behaviour store, no reports | ${caught.plain} of ${rest.length} (${percent(caught.plain, rest.length)}) | ${rate(baseFpr)} | ${rate(baseModernFpr)} |
| (b) baseline, behaviour store, ${reported.length} reports (fast adaptation) | ${caught.adapted} of ${rest.length} (${percent(caught.adapted, rest.length)}) | ${rate(baseFpr)} | ${rate(baseModernFpr)} |
| (c) retrained with the ${reported.length} reports, no store | ${caught.retrained} of ${rest.length} (${percent(caught.retrained, rest.length)}) | ${rate(retrainedFpr)} | ${rate(retrainedModernFpr)} |
| (d) retrained, behaviour store, the same reports | ${caught.both} of ${rest.length} (${percent(caught.both, rest.length)}) | ${rate(retrainedFpr)} | ${rate(retrainedModernFpr)} |

Targets: (c) catches at least 90% of the rest (${percent(caught.retrained, rest.length)}); FPR on the test split does not rise (${retrainedFpr !== null && baseFpr !== null && retrainedFpr <= baseFpr ? 'met' : 'not met'}).
`;
    process.stdout.write(`${section}\n`);
    if (flags.write) writeResults(section);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function positiveInteger(name: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
    return parsed;
  };
}

const program = new Command()
  .name('spamward-campaign')
  .description('Replay a held-out spam campaign: fast adaptation from reports, and a retrain with them.')
  .requiredOption('--corpus <dir>', 'modern corpus folder (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
  .requiredOption('--campaign <set>', 'name of the set that is the campaign, such as phishing-pot-2022-2024')
  .option('--year <yyyy>', 'only the campaign messages that arrived in this year', positiveInteger('--year'))
  .option('--reports <n>', 'campaign messages reported before the rest is scored (default 20)', positiveInteger('--reports'), 20)
  .addOption(new Option('--pick <order>', 'which campaign messages are reported: the first by arrival time, or spread evenly over the arrival order').choices(['first', 'spread']).default('first'))
  .option('--feedback-weight <n>', `weight of one reported message in the retrain (default ${DEFAULT_FEEDBACK_WEIGHT})`, positiveInteger('--feedback-weight'), DEFAULT_FEEDBACK_WEIGHT)
  .option('--epochs <n>', 'training epochs (default 80)', positiveInteger('--epochs'), 80)
  .option('--write', 'insert the result into benchmarks/RESULTS.md')
  .action(run);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`spamward-campaign: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
