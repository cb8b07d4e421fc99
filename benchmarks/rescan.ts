/**
 * Benchmark of `spamward rescan` on the SpamAssassin public corpus.
 *
 * Usage (after `npm run build`):
 *   node --enable-source-maps dist/benchmarks/rescan.js [--quick] [--write]
 *     [--workers 1,2] [--mbox-mb 100,1024] [--model DIR]
 *
 * It measures two things. (a) The rescan rate of the corpus written as .eml
 * files with each worker count in the same run, and the ratio to the first
 * count. (b) The peak RSS of a rescan of an mbox of each size, built from
 * the corpus in a temporary folder that is deleted afterwards. Every rescan runs
 * in a child process of this script, so its peak RSS
 * (process.resourceUsage().maxRSS) covers the main thread and all worker
 * threads, which share the process. Prints a Markdown section on stdout and,
 * with --write, adds it at the top of benchmarks/RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, OptionsError } from '../src/errors.js';
import { defaultModelDir } from '../src/model/index.js';
import { rescan } from '../src/rescan/index.js';
import { mboxEntry } from '../src/rescan/mbox-release.js';
import { loadSpamAssassin, type CorpusMessage } from '../training/corpus.js';
import { RESULTS_FILE, writeResults } from './results-file.js';
import { parseBenchmarkArgs } from './args.js';

/** Messages used with --quick, picked evenly across the corpus. */
const QUICK_MESSAGES = 1000;
const DEFAULT_WORKER_COUNTS = [1, 2];
/** Default mbox sizes for the memory runs, in MiB. */
const DEFAULT_MBOX_MIB = [100, 1024];
/** Free space kept on the temporary folder's disk beyond the mbox itself and its report, in MiB. */
const FREE_SPACE_MARGIN_MIB = 1024;
/** Report bytes per mbox byte, an upper estimate: a row is about 600 bytes, and corpus messages average about 4 KiB. */
const REPORT_BYTES_PER_MBOX_BYTE = 0.25;
const MIB = 1024 * 1024;
const FROM_LINE_DATE = new Date(Date.UTC(2026, 0, 1));
const SCRIPT = fileURLToPath(import.meta.url);

const USAGE = `Usage: node dist/benchmarks/rescan.js [--quick] [--write] [--workers 1,2] [--mbox-mb 100,1024] [--model DIR]

  --quick          use ${QUICK_MESSAGES} messages for the rate runs instead of the whole corpus
  --workers LIST   worker counts of the rate runs (default: ${DEFAULT_WORKER_COUNTS.join(',')})
  --mbox-mb LIST   mbox sizes of the memory runs in MiB, 0 for none (default: ${DEFAULT_MBOX_MIB.join(',')})
  --model DIR      model folder (default: models/default)
  --write          add the results at the top of benchmarks/RESULTS.md
`;

interface BenchOptions {
  quick: boolean;
  write: boolean;
  workerCounts: number[];
  mboxMib: number[];
  modelDir: string;
}

/** The result one child rescan prints as JSON. */
interface ChildResult {
  messages: number;
  errors: number;
  seconds: number;
  /** Seconds from the start to the first written row: starting the workers and loading the model in each. */
  startSeconds: number;
  /** Seconds from the first to the last written row. */
  steadySeconds: number;
  /** Peak resident set size of the child process, in KiB. */
  maxRssKib: number;
}

interface ChildRequest {
  input: string;
  report: string;
  workers: number;
  modelDir: string;
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function parseList(text: string | undefined, fallback: number[], name: string, minimum: number): number[] {
  if (text === undefined) return fallback;
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < minimum)) {
    throw new OptionsError(`--${name} must be a comma-separated list of whole numbers of at least ${minimum}, got "${text}".`, { input: `--${name}` });
  }
  return values.filter((value) => value > 0);
}

function parseOptions(argv: string[]): BenchOptions {
  const values = parseBenchmarkArgs(
    argv,
    {
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    workers: { type: 'string' },
    'mbox-mb': { type: 'string' },
    model: { type: 'string' },
    },
    USAGE,
  );
  return {
    quick: values.quick,
    write: values.write,
    workerCounts: parseList(values.workers, DEFAULT_WORKER_COUNTS, 'workers', 1),
    mboxMib: parseList(values['mbox-mb'], DEFAULT_MBOX_MIB, 'mbox-mb', 0),
    modelDir: resolve(values.model ?? defaultModelDir()),
  };
}

function pickMessages(all: CorpusMessage[], quick: boolean): CorpusMessage[] {
  if (!quick || all.length <= QUICK_MESSAGES) return all;
  return Array.from({ length: QUICK_MESSAGES }, (_, i) => all[Math.floor((i * all.length) / QUICK_MESSAGES)]).filter((message): message is CorpusMessage => message !== undefined);
}

/** Runs one rescan in this process and prints its ChildResult as JSON on stdout. */
async function runChild(request: ChildRequest): Promise<void> {
  const started = performance.now();
  let first = NaN;
  let last = NaN;
  const summary = await rescan({
    inputs: [request.input],
    report: request.report,
    workers: request.workers,
    scorer: { modelDir: request.modelDir, requireModel: true },
    onMessage: () => {
      last = performance.now();
      if (Number.isNaN(first)) first = last;
    },
  });
  const result: ChildResult = {
    messages: summary.ham + summary.suspect + summary.spam + summary.errors,
    errors: summary.errors,
    seconds: (performance.now() - started) / 1000,
    startSeconds: (first - started) / 1000,
    steadySeconds: (last - first) / 1000,
    maxRssKib: process.resourceUsage().maxRSS,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Spawns this script in child mode and returns what the child reports. */
function spawnRescan(request: ChildRequest): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [SCRIPT, '--child', JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`The rescan child exited with status ${code}: ${stderr.trim()}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ChildResult);
      } catch (error) {
        reject(new Error(`The rescan child printed no result (${describeError(error)}): ${stderr.trim()}`));
      }
    });
  });
}

/** Writes corpus messages, repeated as needed, into an mbox of at least `bytes` bytes; returns the messages written. */
function buildMbox(file: string, messages: CorpusMessage[], bytes: number): number {
  const fd = openSync(file, 'w');
  let written = 0;
  let count = 0;
  try {
    while (written < bytes) {
      const message = messages[count % messages.length];
      if (message === undefined) break;
      const entry = mboxEntry(message.raw, FROM_LINE_DATE);
      writeSync(fd, entry);
      written += entry.length;
      count += 1;
    }
  } finally {
    closeSync(fd);
  }
  return count;
}

/** Throws unless the disk of `folder` has room for an mbox of `mib` MiB, its report and the margin. */
function checkFreeSpace(folder: string, mib: number): void {
  const stats = statfsSync(folder);
  const freeMib = (stats.bavail * stats.bsize) / MIB;
  const neededMib = mib * (1 + REPORT_BYTES_PER_MBOX_BYTE) + FREE_SPACE_MARGIN_MIB;
  if (freeMib < neededMib) {
    throw new OptionsError(`${folder} has ${freeMib.toFixed(0)} MiB free, but an mbox of ${mib} MiB needs about ${neededMib.toFixed(0)} MiB; pass a smaller --mbox-mb.`, { input: '--mbox-mb' });
  }
}

function rate(result: ChildResult): number {
  return result.messages / result.seconds;
}

/** Messages per second between the first and the last row, without the start-up. */
function steadyRate(result: ChildResult): number {
  return (result.messages - 1) / result.steadySeconds;
}

function formatSection(options: BenchOptions, date: string, load: [number, number], rates: [number, ChildResult][], mboxes: [number, ChildResult][], corpus: { count: number; mib: number }): string {
  const cpu = cpus();
  const args = process.argv.slice(2).join(' ');
  const lines = [
    `## ${date}, rescan${options.quick ? ', quick' : ''}`,
    '',
    `- Command: \`node dist/benchmarks/rescan.js${args ? ` ${args}` : ''}\``,
    `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, ${process.platform} ${process.arch}; 1-minute load average ${load[0].toFixed(2)} at start, ${load[1].toFixed(2)} at end`,
    `- Rate runs: ${corpus.count.toLocaleString('en-US')} messages of the SpamAssassin public corpus (${corpus.mib.toFixed(1)} MiB) as .eml files; model from ${relative(process.cwd(), options.modelDir) || '.'}. Each run is a child process, and its time includes starting the workers and loading the model in each.`,
    '',
    'Messages/s counts the whole run; steady messages/s counts from the first row to the last, without the start-up; the ratios compare each with the first row of the table.',
    '',
    '| Workers | Messages | Errors | Start-up s | Total s | Messages/s | Ratio | Steady messages/s | Steady ratio | Peak RSS MiB |',
    '| --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  const base = rates[0] === undefined ? NaN : rate(rates[0][1]);
  const steadyBase = rates[0] === undefined ? NaN : steadyRate(rates[0][1]);
  for (const [workers, result] of rates) {
    lines.push(
      `| ${workers} | ${result.messages} | ${result.errors} | ${result.startSeconds.toFixed(1)} | ${result.seconds.toFixed(1)} | ${rate(result).toFixed(0)} | ${(rate(result) / base).toFixed(2)} | ` +
        `${steadyRate(result).toFixed(0)} | ${(steadyRate(result) / steadyBase).toFixed(2)} | ${(result.maxRssKib / 1024).toFixed(0)} |`,
    );
  }
  if (mboxes.length > 0) {
    lines.push('', `Peak RSS of a rescan of one mbox built from the corpus, with ${options.workerCounts.at(-1) ?? 1} workers (main thread and workers, one process):`, '');
    lines.push('| mbox MiB | Messages | Seconds | Messages/s | Peak RSS MiB |', '| --: | --: | --: | --: | --: |');
    for (const [mib, result] of mboxes) lines.push(`| ${mib} | ${result.messages} | ${result.seconds.toFixed(1)} | ${rate(result).toFixed(0)} | ${(result.maxRssKib / 1024).toFixed(0)} |`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const childIndex = process.argv.indexOf('--child');
  if (childIndex !== -1) {
    await runChild(JSON.parse(process.argv[childIndex + 1] ?? '{}') as ChildRequest);
    return;
  }
  const options = parseOptions(process.argv.slice(2));
  const date = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? NaN;
  progress('Loading the SpamAssassin corpus');
  const corpus = loadSpamAssassin().messages;
  const messages = pickMessages(corpus, options.quick);
  const base = mkdtempSync(join(tmpdir(), 'spamward-bench-rescan-'));
  try {
    const folder = join(base, 'eml');
    mkdirSync(folder);
    progress(`Writing ${messages.length} .eml files to ${folder}`);
    messages.forEach((message, index) => writeFileSync(join(folder, `${String(index).padStart(5, '0')}.eml`), message.raw));

    const rates: [number, ChildResult][] = [];
    for (const workers of options.workerCounts) {
      progress(`Rescan of ${messages.length} messages with ${workers} workers`);
      const result = await spawnRescan({ input: folder, report: join(base, `rate-${workers}.jsonl`), workers, modelDir: options.modelDir });
      progress(`  ${result.messages} messages in ${result.seconds.toFixed(1)} s`);
      rates.push([workers, result]);
    }

    const mboxes: [number, ChildResult][] = [];
    for (const mib of options.mboxMib) {
      checkFreeSpace(base, mib);
      const file = join(base, `corpus-${mib}.mbox`);
      progress(`Building a ${mib} MiB mbox at ${file}`);
      buildMbox(file, corpus, mib * MIB);
      try {
        const workers = options.workerCounts.at(-1) ?? 1;
        progress(`Rescan of the ${mib} MiB mbox with ${workers} workers`);
        const result = await spawnRescan({ input: file, report: join(base, `mbox-${mib}.jsonl`), workers, modelDir: options.modelDir });
        progress(`  ${result.messages} messages in ${result.seconds.toFixed(1)} s, peak RSS ${(result.maxRssKib / 1024).toFixed(0)} MiB`);
        mboxes.push([mib, result]);
      } finally {
        rmSync(file, { force: true });
        rmSync(join(base, `mbox-${mib}.jsonl`), { force: true });
      }
    }

    const mib = messages.reduce((sum, message) => sum + message.raw.length, 0) / MIB;
    const section = formatSection(options, date, [loadAtStart, loadavg()[0] ?? NaN], rates, mboxes, { count: messages.length, mib });
    process.stdout.write(section);
    if (options.write) {
      writeResults(section);
      progress(`Added the run to ${RESULTS_FILE}`);
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-rescan: ${describeError(error)}\n`);
  process.exitCode = error instanceof OptionsError ? 2 : 1;
});
