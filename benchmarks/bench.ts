/**
 * Throughput and latency of spamward on the SpamAssassin public corpus.
 *
 * One run measures three things on the same messages. `score()` runs in
 * process, one message at a time after a warm-up pass, with a per-stage
 * breakdown. mailparser's `simpleParser` runs alone for comparison. And
 * `spamward scan` runs as a child process on the messages written as .eml
 * files. Prints a Markdown section on stdout and, with --write, adds it at
 * the top of benchmarks/RESULTS.md.
 * See benchmarks/README.md for how to read the figures.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { describeError, ModelLoadError, OptionsError } from '../src/errors.js';
import { defaultModelDir } from '../src/model/index.js';
import { DEFAULT_PARSE_LIMITS } from '../src/parse/index.js';
import { createScorer, type Scorer } from '../src/pipeline/scorer.js';
import { loadSpamAssassin, type CorpusMessage } from '../training/corpus.js';
import { RESULTS_FILE, writeResults } from './results-file.js';
import { parseBenchmarkArgs } from './args.js';

/** Messages used with --quick, picked evenly across the corpus so ham and spam both appear. */
const QUICK_MESSAGES = 1000;
/** A progress line is printed after this many messages of a pass. */
const PROGRESS_EVERY = 1000;
/** Default for --cli-timeout: seconds before the `spamward scan` child is stopped. */
const DEFAULT_CLI_TIMEOUT_SECONDS = 600;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI_ENTRY = join(ROOT, 'dist', 'src', 'cli', 'main.js');

const USAGE = `Usage: npm run bench -- [--model DIR] [--quick] [--write] [--cli-timeout SECONDS]

  --model DIR            model folder (default: models/default)
  --quick                use ${QUICK_MESSAGES} messages instead of the whole corpus
  --write                add the results at the top of benchmarks/RESULTS.md
  --cli-timeout SECONDS  stop the spamward scan child after this long (default: ${DEFAULT_CLI_TIMEOUT_SECONDS})
`;

interface BenchOptions {
  modelDir: string;
  quick: boolean;
  write: boolean;
  cliTimeoutSeconds: number;
}

interface PassResult {
  messages: number;
  failures: number;
  seconds: number;
  /** CPU time of this process (user and system, all threads) during the pass, in seconds. */
  cpuSeconds: number;
  /** Milliseconds per message, sorted ascending. */
  latencies: number[];
}

type Stage = 'parse' | 'auth' | 'features' | 'model' | 'heuristics' | 'total';
/** `auth` covers the authentication stage and the behaviour store, which run together. */
const STAGES: readonly Stage[] = ['parse', 'auth', 'features', 'model', 'heuristics'];

interface CliResult {
  /** Reason the scan did not complete, or null when it exited with status 0. */
  failure: string | null;
  seconds: number;
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function parseOptions(argv: string[]): BenchOptions {
  const values = parseBenchmarkArgs(
    argv,
    {
    model: { type: 'string' },
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    'cli-timeout': { type: 'string' },
    },
    USAGE,
  );
  const timeoutText = values['cli-timeout'];
  const cliTimeoutSeconds = timeoutText === undefined ? DEFAULT_CLI_TIMEOUT_SECONDS : Number(timeoutText);
  if (!Number.isFinite(cliTimeoutSeconds) || cliTimeoutSeconds <= 0) {
    throw new OptionsError(`--cli-timeout must be a positive number of seconds, got "${timeoutText}".`, { input: '--cli-timeout' });
  }
  return {
    modelDir: resolve(values.model ?? defaultModelDir()),
    quick: values.quick,
    write: values.write,
    cliTimeoutSeconds,
  };
}

function pickMessages(all: CorpusMessage[], quick: boolean): CorpusMessage[] {
  if (!quick || all.length <= QUICK_MESSAGES) return all;
  const picked: CorpusMessage[] = [];
  for (let i = 0; i < QUICK_MESSAGES; i++) {
    const message = all[Math.floor((i * all.length) / QUICK_MESSAGES)];
    if (message) picked.push(message);
  }
  return picked;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Runs `work` on every message in order and times each call. A call that throws counts as a failure and the pass goes on. */
async function timePass(label: string, messages: CorpusMessage[], work: (message: CorpusMessage) => Promise<void>): Promise<PassResult> {
  const latencies: number[] = [];
  let failures = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (const [index, message] of messages.entries()) {
    const before = performance.now();
    try {
      await work(message);
    } catch {
      failures++;
    }
    latencies.push(performance.now() - before);
    if ((index + 1) % PROGRESS_EVERY === 0) progress(`  ${label}: ${index + 1}/${messages.length}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  progress(`  ${label}: ${messages.length} messages in ${seconds.toFixed(1)} s`);
  return { messages: messages.length, failures, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, latencies: latencies.sort((a, b) => a - b) };
}

/** Scores every message twice (warm-up, then measured) and sums the per-stage timings of the measured pass. */
async function benchScore(scorer: Scorer, messages: CorpusMessage[]): Promise<{ warmUp: PassResult; pass: PassResult; stageMs: Record<Stage, number> }> {
  progress('score(): warm-up pass');
  const warmUp = await timePass('warm-up', messages, async (message) => {
    await scorer.score(message.raw);
  });
  progress('score(): measured pass');
  const stageMs: Record<Stage, number> = { parse: 0, auth: 0, features: 0, model: 0, heuristics: 0, total: 0 };
  const pass = await timePass('score', messages, async (message) => {
    const { timings } = await scorer.score(message.raw);
    for (const stage of [...STAGES, 'total'] as const) stageMs[stage] += timings[stage];
  });
  return { warmUp, pass, stageMs };
}

/** Runs mailparser alone with the options spamward's parse stage passes it. */
async function benchSimpleParser(messages: CorpusMessage[]): Promise<PassResult> {
  const parse = async (message: CorpusMessage): Promise<void> => {
    await simpleParser(message.raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, maxHtmlLengthToParse: DEFAULT_PARSE_LIMITS.maxHtmlLength });
  };
  progress('simpleParser: warm-up pass');
  await timePass('warm-up', messages, parse);
  progress('simpleParser: measured pass');
  return timePass('simpleParser', messages, parse);
}

/** Spawns `spamward scan` on `folder` with stdout to /dev/null and returns the wall time from spawn to exit. */
function runCli(folder: string, modelDir: string, timeoutSeconds: number): Promise<CliResult> {
  if (!existsSync(CLI_ENTRY)) return Promise.resolve({ failure: `${CLI_ENTRY} does not exist; run npm run build`, seconds: NaN });
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI_ENTRY, 'scan', '--format', 'jsonl', '--model', modelDir, folder], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: timeoutSeconds * 1000,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // Only the end of stderr is kept for the report.
      stderr = (stderr + chunk).slice(-2000);
    });
    child.on('error', (error) => resolvePromise({ failure: `failed to start: ${describeError(error)}`, seconds: NaN }));
    child.on('close', (code, signal) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) return resolvePromise({ failure: null, seconds });
      const reason = signal ? `was stopped by ${signal} after ${seconds.toFixed(1)} s (timeout ${timeoutSeconds} s)` : `exited with status ${code}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' / ');
      resolvePromise({ failure: `spamward scan ${reason}${tail ? `: ${tail}` : ''}`, seconds });
    });
  });
}

/** Writes the messages as .eml files into a fresh temporary folder, then times `spamward scan` on all of them and on one. */
async function benchCli(messages: CorpusMessage[], modelDir: string, timeoutSeconds: number): Promise<{ all: CliResult; one: CliResult }> {
  const base = mkdtempSync(join(tmpdir(), 'spamward-bench-'));
  try {
    const allDir = join(base, 'all');
    const oneDir = join(base, 'one');
    progress(`spamward scan: writing ${messages.length} .eml files to ${allDir}`);
    mkdirSync(allDir);
    mkdirSync(oneDir);
    messages.forEach((message, index) => writeFileSync(join(allDir, `${String(index).padStart(5, '0')}.eml`), message.raw));
    if (messages[0]) writeFileSync(join(oneDir, 'message.eml'), messages[0].raw);

    progress('spamward scan: one message (start-up cost)');
    const one = await runCli(oneDir, modelDir, timeoutSeconds);
    progress(`spamward scan: ${messages.length} messages`);
    const all = await runCli(allDir, modelDir, timeoutSeconds);
    progress(all.failure ? `  failed: ${all.failure}` : `  ${messages.length} messages in ${all.seconds.toFixed(1)} s`);
    return { all, one };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function formatRate(messages: number, seconds: number): string {
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(messages / seconds).toLocaleString('en-US') : 'n/a';
}

function passRow(name: string, pass: PassResult): string {
  return `| ${name} | ${formatRate(pass.messages, pass.seconds)} | ${formatMs(percentile(pass.latencies, 50))} | ${formatMs(percentile(pass.latencies, 99))} | ${formatMs(mean(pass.latencies))} | ${formatMs((pass.cpuSeconds * 1000) / pass.messages)} |`;
}

function quoteArgument(argument: string): string {
  return /^[\w./=:-]+$/.test(argument) ? argument : JSON.stringify(argument);
}

interface Report {
  options: BenchOptions;
  date: string;
  loadAtStart: number;
  loadAtEnd: number;
  runSeconds: number;
  messages: CorpusMessage[];
  modelVersion: string;
  score: PassResult;
  scoreWarmUp: PassResult;
  stageMs: Record<Stage, number>;
  parser: PassResult;
  cli: { all: CliResult; one: CliResult };
}

function formatSection(report: Report): string {
  const { options, score, parser, cli, stageMs, messages } = report;
  const n = messages.length;
  const cpu = cpus();
  const megabytes = messages.reduce((sum, message) => sum + message.raw.length, 0) / (1024 * 1024);
  const args = process.argv.slice(2).map(quoteArgument).join(' ');
  const lines: string[] = [
    `## ${report.date}, ${options.quick ? 'quick' : 'full corpus'}`,
    '',
    `- Command: \`npm run bench${args ? ` -- ${args}` : ''}\``,
    `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, ${process.platform} ${process.arch}; 1-minute load average ${report.loadAtStart.toFixed(2)} at start, ${report.loadAtEnd.toFixed(2)} at end`,
    `- Messages: ${n.toLocaleString('en-US')} of the SpamAssassin public corpus (${megabytes.toFixed(1)} MiB); model ${report.modelVersion} from ${relative(process.cwd(), options.modelDir) || '.'}`,
    `- The run took ${report.runSeconds.toFixed(0)} s.`,
    '',
    '| Measure | Messages/s | p50 ms | p99 ms | Mean ms | CPU ms |',
    '| --- | --: | --: | --: | --: | --: |',
    passRow('`score()` in process', score),
    passRow('`score()` warm-up pass (cold start)', report.scoreWarmUp),
    passRow('mailparser `simpleParser` alone', parser),
  ];
  if (cli.all.failure === null) {
    lines.push(`| \`spamward scan\` child process, ${n.toLocaleString('en-US')} .eml files | ${formatRate(n, cli.all.seconds)} | n/a | n/a | ${formatMs((cli.all.seconds * 1000) / n)} | n/a |`);
  }
  const wallRatio = mean(score.latencies) / mean(parser.latencies);
  const cpuRatio = score.cpuSeconds / parser.cpuSeconds;
  lines.push(
    '',
    `Ratios: \`score()\` takes ${wallRatio.toFixed(2)}× the wall time of \`simpleParser\` alone (${cpuRatio.toFixed(2)}× its CPU time), and its parse stage ${(stageMs.parse / n / mean(parser.latencies)).toFixed(2)}× the wall time.`,
  );
  if (cli.all.failure === null) {
    const oneMessage = cli.one.failure === null ? `${cli.one.seconds.toFixed(2)} s` : 'n/a';
    lines.push(`\`spamward scan\` runs at ${((score.seconds / cli.all.seconds) * 100).toFixed(0)}% of the warm in-process rate and ${((report.scoreWarmUp.seconds / cli.all.seconds) * 100).toFixed(0)}% of the cold one, counting process start-up. A scan of one message takes ${oneMessage}.`);
  } else {
    lines.push(`\`spamward scan\` was not measured: ${cli.all.failure.replaceAll('\n', ' ')}`);
  }

  const totalMs = stageMs.total;
  const otherMs = totalMs - STAGES.reduce((sum, stage) => sum + stageMs[stage], 0);
  lines.push('', 'Where the time of `score()` goes (`result.timings`, measured pass):', '', '| Stage | Mean ms | Share |', '| --- | --: | --: |');
  for (const stage of STAGES) lines.push(`| ${stage} | ${formatMs(stageMs[stage] / n)} | ${((stageMs[stage] / totalMs) * 100).toFixed(1)}% |`);
  lines.push(`| other (combining, result) | ${formatMs(otherMs / n)} | ${((otherMs / totalMs) * 100).toFixed(1)}% |`);
  lines.push(`| total | ${formatMs(totalMs / n)} | 100% |`);

  const failures = [score.failures ? `${score.failures} messages failed in \`score()\`` : '', parser.failures ? `${parser.failures} in \`simpleParser\`` : ''].filter(Boolean);
  if (failures.length > 0) lines.push('', `Failures: ${failures.join(', ')}; their time is included in the figures.`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? NaN;

  progress(`Loading the model from ${options.modelDir}`);
  const scorer = await createScorer({ modelDir: options.modelDir, requireModel: true });
  progress('Loading the SpamAssassin corpus');
  const messages = pickMessages(loadSpamAssassin().messages, options.quick);

  const { warmUp: scoreWarmUp, pass: score, stageMs } = await benchScore(scorer, messages);
  await scorer.close();
  const parser = await benchSimpleParser(messages);
  const cli = await benchCli(messages, options.modelDir, options.cliTimeoutSeconds);

  const section = formatSection({
    options,
    date,
    loadAtStart,
    loadAtEnd: loadavg()[0] ?? NaN,
    runSeconds: (performance.now() - started) / 1000,
    messages,
    modelVersion: scorer.modelVersion ?? 'none',
    score,
    scoreWarmUp,
    stageMs,
    parser,
    cli,
  });
  process.stdout.write(section);
  if (options.write) {
    writeResults(section);
    progress(`Added the run to ${RESULTS_FILE}`);
  }
}

main().catch((error: unknown) => {
  const hint = error instanceof ModelLoadError ? '\nPass a trained model folder with --model DIR.' : '';
  process.stderr.write(`bench: ${describeError(error)}${hint}\n`);
  process.exitCode = error instanceof OptionsError ? 2 : 1;
});
