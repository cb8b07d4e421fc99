/**
 * How long a rollback takes to reach a running scorer: the time from
 * `registry.rollback()` returning to the first ScoreResult that carries the
 * rolled-back model version, while the scorer scores one message after
 * another as a busy gateway would. The target is under 1 s with the default
 * poll interval.
 *
 * Each run promotes a candidate, waits until the scorer uses it, rolls back
 * and measures. The registry is a temporary folder holding a copy of
 * models/default and a candidate made from it (one weight bit changed and
 * re-checksummed), so nothing outside the temporary folder is written.
 *
 * Run: npm run build && node dist/benchmarks/reload.js [--runs N] [--interval MS] [--write]
 * With --write the run is also added at the top of benchmarks/RESULTS.md.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultModelDir, sha256 } from '../src/model/index.js';
import { openRegistry } from '../src/model/registry.js';
import { createScorer, type Scorer } from '../src/pipeline/scorer.js';
import { writeResults } from './results-file.js';

/** Default for --runs: rollbacks measured. */
const DEFAULT_RUNS = 10;
/** Default for --interval: the scorer's reloadIntervalMs, the scorer's own default. */
const DEFAULT_INTERVAL_MS = 250;
/** A switch that takes longer than this stops the benchmark, because something is broken. */
const SWITCH_TIMEOUT_MS = 30_000;

const MESSAGE = [
  'From: Alice Example <alice@example.com>',
  'To: Bob <bob@example.org>',
  'Subject: notes from the meeting',
  'Date: Tue, 03 Dec 2024 10:00:00 +0000',
  'Message-ID: <20241203100000.1234@mail.example.com>',
  '',
  'Hi Bob, here are the notes from the meeting. The build is fixed.',
  '',
].join('\r\n');

function parseOptions(argv: string[]): { runs: number; intervalMs: number; write: boolean } {
  const { values } = parseArgs({ args: argv, options: { runs: { type: 'string' }, interval: { type: 'string' }, write: { type: 'boolean' } } });
  const runs = Number(values.runs ?? DEFAULT_RUNS);
  const intervalMs = Number(values.interval ?? DEFAULT_INTERVAL_MS);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive whole number, got ${values.runs}.`);
  if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new Error(`--interval must be a positive whole number of milliseconds, got ${values.interval}.`);
  return { runs, intervalMs, write: values.write === true };
}

/** Copies the shipped model into `dir` with one weight bit flipped and the checksum and version updated, as training would write it. */
function writeCandidate(dir: string, version: string): void {
  cpSync(defaultModelDir(), dir, { recursive: true });
  const weights = readFileSync(join(dir, 'weights.bin'));
  weights[0] = (weights[0] ?? 0) ^ 0x01;
  writeFileSync(join(dir, 'weights.bin'), weights);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.version = version;
  manifest.parent = 'default';
  (manifest.checksums as Record<string, string>)['weights.bin'] = sha256(weights);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

/**
 * Scores messages back to back until one carries `version`; returns the
 * milliseconds from `start`. Each message waits for one event-loop turn
 * first, as a gateway's message arrives through socket I/O: scoring an
 * in-memory message resolves through microtasks alone, so a loop without
 * that turn would never let the poll timer run.
 */
async function scoreUntil(scorer: Scorer, version: string, start: number): Promise<number> {
  for (;;) {
    await new Promise((resolve) => setImmediate(resolve));
    const result = await scorer.score(MESSAGE);
    const elapsed = performance.now() - start;
    if (result.modelVersion === version) return elapsed;
    if (elapsed > SWITCH_TIMEOUT_MS) throw new Error(`The scorer did not switch to ${version} within ${SWITCH_TIMEOUT_MS} ms.`);
  }
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const { runs, intervalMs, write } = parseOptions(process.argv.slice(2));
  const loadAtStart = loadavg()[0] ?? 0;
  const root = mkdtempSync(join(tmpdir(), 'spamward-reload-bench-'));
  let scorer: Scorer | null = null;
  try {
    cpSync(defaultModelDir(), join(root, 'default'), { recursive: true });
    const staging = join(root, '.candidate');
    writeCandidate(staging, 'candidate');
    const registry = await openRegistry(root);
    await registry.addModel(staging);
    rmSync(staging, { recursive: true, force: true });

    scorer = await createScorer({ registry: root, reloadIntervalMs: intervalMs, store: null });
    const original = scorer.modelVersion;
    if (original === null) throw new Error(`The scorer did not load the default model: ${scorer.modelError}`);

    const timings: number[] = [];
    const rollbackCalls: number[] = [];
    for (let run = 1; run <= runs; run += 1) {
      await registry.promote('candidate', { reason: 'reload benchmark' });
      await scoreUntil(scorer, 'candidate', performance.now());
      const called = performance.now();
      await registry.rollback({ reason: 'reload benchmark' });
      const returned = performance.now();
      // The scorer may switch before rollback() returns, because rollback() appends and fsyncs the log after the rename.
      const elapsed = await scoreUntil(scorer, original, returned);
      timings.push(elapsed);
      rollbackCalls.push(returned - called);
      process.stderr.write(`run ${run}/${runs}: ${elapsed.toFixed(1)} ms after rollback() returned, which took ${(returned - called).toFixed(1)} ms\n`);
    }

    const summary = (values: number[]): string => {
      const sorted = [...values].sort((a, b) => a - b);
      const format = (value: number): string => `${value.toFixed(1)} ms`;
      return `min ${format(sorted[0] ?? Number.NaN)}, median ${format(percentile(sorted, 0.5))}, max ${format(sorted.at(-1) ?? Number.NaN)}`;
    };
    const cpu = cpus();
    const section = [
      `## ${new Date().toISOString()}, model rollback in a running scorer`,
      '',
      `- Command: \`${['node dist/benchmarks/reload.js', ...process.argv.slice(2)].join(' ')}\``,
      `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}; 1-minute load average ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`,
      `- reloadIntervalMs ${intervalMs}, ${runs} rollbacks; the scorer scores one message after another, one event-loop turn apart.`,
      '',
      `| Measure | min / median / max |`,
      `| --- | --- |`,
      `| rollback() returned → first result with the rolled-back model | ${summary(timings)} |`,
      `| the rollback() call itself (loads and checks the model, writes active.json and the log) | ${summary(rollbackCalls)} |`,
      '',
      `Target: under 1,000 ms; ${timings.filter((value) => value < 1000).length} of ${runs} runs met it.`,
      '',
    ].join('\n');
    process.stdout.write(section);
    if (write) writeResults(section);
  } finally {
    await scorer?.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
