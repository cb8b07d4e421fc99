/**
 * `spamward feedback add|list|export`: reports of messages the filter got
 * wrong, stored in a feedback folder for retraining. Stdout receives one
 * line per message. Stderr receives errors, warnings and the summary.
 */
import type { Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { describeError, OptionsError } from '../errors.js';
import { FeedbackInputError, openFeedbackStore, type AddOutcome, type FeedbackEntry, type FeedbackLabel, type FeedbackStore, type FeedbackStoreOptions } from '../feedback/index.js';
import { DEFAULT_PARSE_LIMITS } from '../parse/limits.js';
import { createScorer, type Scorer } from '../pipeline/scorer.js';
import { readMessages } from '../pipeline/sources.js';
import { escapeControlCharacters } from './format.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, waitForDrain, type CliIo } from './io.js';
import { parseByteCountOnce, parsePathOnce, parseStoreOnce } from './options.js';

/** Environment variable that sets the feedback folder when --dir is not given. */
export const FEEDBACK_DIR_ENV = 'SPAMWARD_FEEDBACK_DIR';
/** Feedback folder used when neither --dir nor SPAMWARD_FEEDBACK_DIR is given, relative to the working folder. */
export const DEFAULT_FEEDBACK_DIR = './feedback';
export const FEEDBACK_LIST_FORMATS = ['table', 'jsonl'] as const;
export type FeedbackListFormat = (typeof FEEDBACK_LIST_FORMATS)[number];
const TABLE_HEADER = ['SHA256', 'LABEL', 'REPORTS', 'LAST REPORTED', 'STATUS', 'SOURCE'];

const FEEDBACK_HELP = `
Feedback folder:
  --dir, else the environment variable ${FEEDBACK_DIR_ENV}, else
  ${DEFAULT_FEEDBACK_DIR} in the working folder. It holds index.jsonl, one JSON
  line per report (time, sha256, label, reason, reporter, source, size), and
  messages/<first two hex digits>/<sha256>.eml, one copy per distinct message.
  Every report is kept: a duplicate adds a line, and a relabel adds a line
  whose label wins over the earlier ones.

Exit status:
  0    every message was stored, listed or exported
  1    an input could not be read or was rejected (each is reported on
       stderr and the batch goes on), the feedback folder could not be
       written, a report did not reach the --store (add), or a stored copy
       is missing or changed (list, export)
  2    invalid command line or option value
  130  interrupted (Ctrl-C); the reports stored so far are kept

Examples:
  spamward feedback add --label ham --reason "invoice, not phishing" \\
    --reporter alice /var/quarantine/cur/1733300000.M1.mx
  spamward feedback add --label spam missed.mbox
  spamward feedback list --format jsonl
  spamward feedback export --out corpus/feedback`;

interface AddFlags {
  label: FeedbackLabel;
  reason?: string;
  reporter?: string;
  dir?: string;
  maxMessageBytes?: number;
  store?: string;
}

/** Accepts a Redis URL only: an in-memory store would end with this process. */
function parseRedisStore(value: string, previous: string | undefined): string {
  const spec = parseStoreOnce(value, previous);
  if (!spec.startsWith('redis')) throw new InvalidArgumentError('Expected a Redis URL such as redis://127.0.0.1:6379/0; reports kept in this process\'s memory would be lost when it ends.');
  return spec;
}

interface ListFlags {
  dir?: string;
  format?: FeedbackListFormat;
  verify: boolean;
}

interface ExportFlags {
  dir?: string;
  out: string;
}

export interface FeedbackAddOptions {
  dir: string;
  label: FeedbackLabel;
  reason: string | undefined;
  reporter: string | undefined;
  maxMessageBytes: number | undefined;
  /** Redis URL of the gateways' behaviour store, so the reports take effect there at once; undefined for none. */
  store?: string | undefined;
}

export interface FeedbackListOptions {
  dir: string;
  format: FeedbackListFormat;
  verify: boolean;
}

export interface FeedbackExportOptions {
  dir: string;
  out: string;
}

/** Returns the feedback folder: `--dir`, else SPAMWARD_FEEDBACK_DIR when set and not empty, else ./feedback. */
export function resolveFeedbackDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return flag;
  const fromEnv = env[FEEDBACK_DIR_ENV];
  return fromEnv !== undefined && fromEnv.trim() !== '' ? fromEnv : DEFAULT_FEEDBACK_DIR;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Writes to stdout and waits when its buffer is full; a closed stdout (EPIPE) drops the rest of the output. */
class LineSink {
  closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', () => {
      this.closed = true;
    });
  }

  async write(text: string): Promise<void> {
    if (this.closed || text === '') return;
    if (this.stream.write(text)) return;
    await waitForDrain(this.stream);
  }
}

function errorPrinter(io: CliIo): (line: string) => void {
  return (line) => {
    io.stderr.write(`spamward: ${escapeControlCharacters(line)}\n`);
  };
}

async function openStore(dir: string, options: FeedbackStoreOptions, printError: (line: string) => void): Promise<FeedbackStore | number> {
  try {
    return await openFeedbackStore(dir, { ...options, logger: { warn: (message) => printError(`warning: ${message}`) } });
  } catch (error) {
    printError(describeError(error));
    return error instanceof FeedbackInputError ? EXIT_USAGE : EXIT_FAILED;
  }
}

/** Formats the totals of `feedback add`, such as `Stored 4 reports in ./feedback: 2 new, 1 duplicate, 1 relabelled; 1 failed.` */
export function addSummaryLine(counts: Record<AddOutcome | 'failed', number>, dir: string): string {
  const stored = counts.new + counts.duplicate + counts.relabelled;
  return `Stored ${plural(stored, 'report')} in ${dir}: ${counts.new} new, ${counts.duplicate} duplicate, ${counts.relabelled} relabelled; ${counts.failed} failed.`;
}

/**
 * Adds a report for every message read from `paths`. A message that cannot
 * be read or is rejected is reported on stderr and the batch goes on. A
 * failure to write the feedback folder stops the batch.
 */
export async function runFeedbackAdd(paths: string[], options: FeedbackAddOptions, io: CliIo): Promise<number> {
  const printError = errorPrinter(io);
  const storeOptions: FeedbackStoreOptions = options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes };
  const store = await openStore(options.dir, storeOptions, printError);
  if (typeof store === 'number') return store;

  // The gateways' store, through a scorer without a model: report() counts the sender and content keys the gateways read.
  let behaviour: Scorer | null = null;
  if (options.store !== undefined) {
    try {
      behaviour = await (io.createScorer ?? createScorer)({ modelDir: null, store: options.store, logger: { warn: printError } });
    } catch (error) {
      printError(describeError(error));
      return error instanceof OptionsError ? EXIT_USAGE : EXIT_FAILED;
    }
  }
  const output = new LineSink(io.stdout);
  const counts: Record<AddOutcome | 'failed', number> = { new: 0, duplicate: 0, relabelled: 0, failed: 0 };
  // Reports stored in the folder whose count in the gateways' store failed, such as when Redis is down.
  let notInStore = 0;
  let status = EXIT_OK;
  try {
    // One byte past the limit is kept, so a longer message shows as truncated and is rejected, never stored cut.
    const items = readMessages(paths, { maxMessageBytes: store.maxMessageBytes + 1, stdin: io.stdin, ...(io.signal === undefined ? {} : { signal: io.signal }) });
    for await (const item of items) {
      if ('error' in item) {
        counts.failed += 1;
        printError(item.error.message);
        continue;
      }
      try {
        if (item.truncated) {
          throw new FeedbackInputError(`Message ${item.source} is ${item.size} bytes, over the feedback limit of ${store.maxMessageBytes} bytes (--max-message-bytes).`, { input: item.source });
        }
        const meta = { source: item.source, ...(options.reason === undefined ? {} : { reason: options.reason }), ...(options.reporter === undefined ? {} : { reporter: options.reporter }) };
        const result = await store.add(item.raw, options.label, meta);
        counts[result.outcome] += 1;
        if (behaviour) {
          const reported = await behaviour.report(item.raw, options.label);
          for (const problem of reported.degraded) printError(`${item.source}: ${problem}`);
          if (reported.degraded.some((problem) => problem.startsWith('behaviour-store:'))) notInStore += 1;
        }
        await output.write(`${result.sha256} ${options.label.padEnd(4)} ${result.outcome.padEnd(10)} ${escapeControlCharacters(item.source)}\n`);
      } catch (error) {
        counts.failed += 1;
        if (!(error instanceof FeedbackInputError)) {
          // The folder cannot be written, so the remaining messages would fail the same way.
          printError(`${describeError(error)} The remaining inputs were not read.`);
          status = EXIT_FAILED;
          break;
        }
        printError(describeError(error));
      }
    }
  } catch (error) {
    if (io.signal?.aborted === true) {
      printError(`interrupted. ${addSummaryLine(counts, options.dir)}`);
      return EXIT_INTERRUPTED;
    }
    printError(describeError(error));
    return error instanceof OptionsError ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    await behaviour?.close();
  }
  printError(addSummaryLine(counts, options.dir));
  if (notInStore > 0) {
    printError(`${notInStore} report(s) are stored in the folder but did not reach the behaviour store ${options.store ?? ''}; add them again with --store once it is reachable (a duplicate is stored once).`);
    return EXIT_FAILED;
  }
  return counts.failed > 0 ? EXIT_FAILED : status;
}

/** Aligns table rows in columns two spaces apart; the last column is not padded. */
function alignRows(rows: string[][]): string {
  const widths = TABLE_HEADER.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  const lines = rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

function tableRow(entry: FeedbackEntry): string[] {
  const latest = entry.history[entry.history.length - 1];
  return [entry.sha256, entry.label, String(entry.reports), latest?.time ?? '-', entry.status, escapeControlCharacters(latest?.source ?? '-')];
}

function jsonRow(entry: FeedbackEntry): string {
  const { sha256, label, reports, size, status, problem, path, history } = entry;
  return `${JSON.stringify({ sha256, label, reports, size, status, problem, path, history })}\n`;
}

/** Lists the reported messages. Exits 1 when a stored copy is missing or changed. */
export async function runFeedbackList(options: FeedbackListOptions, io: CliIo): Promise<number> {
  const printError = errorPrinter(io);
  const store = await openStore(options.dir, { create: false }, printError);
  if (typeof store === 'number') return store;
  let entries: FeedbackEntry[];
  try {
    entries = await store.list({ verify: options.verify });
  } catch (error) {
    printError(describeError(error));
    return EXIT_FAILED;
  }

  const output = new LineSink(io.stdout);
  if (options.format === 'jsonl') {
    for (const entry of entries) await output.write(jsonRow(entry));
  } else if (entries.length > 0) {
    await output.write(alignRows([TABLE_HEADER, ...entries.map(tableRow)]));
  }
  const damaged = entries.filter((entry) => entry.problem !== null);
  for (const entry of damaged) printError(entry.problem ?? '');
  const spam = entries.filter((entry) => entry.label === 'spam').length;
  printError(`${plural(entries.length, 'message')} in ${options.dir}: ${spam} spam, ${entries.length - spam} ham; ${damaged.length} with a missing or changed copy.`);
  return damaged.length > 0 ? EXIT_FAILED : EXIT_OK;
}

/** Exports the store as a labelled folder. Exits 1 when a message was skipped because its copy is missing or changed. */
export async function runFeedbackExport(options: FeedbackExportOptions, io: CliIo): Promise<number> {
  const printError = errorPrinter(io);
  const store = await openStore(options.dir, { create: false }, printError);
  if (typeof store === 'number') return store;
  try {
    const summary = await store.export(options.out);
    for (const entry of summary.skipped) printError(`skipped ${entry.sha256}: ${entry.problem ?? entry.status}`);
    for (const file of summary.foreign) printError(`warning: ${file} is not in the feedback folder ${options.dir}; it was left in place and training will read it.`);
    const moved = summary.removed > 0 ? `, ${summary.removed} removed from the other label after a relabel` : '';
    printError(
      `Exported ${plural(summary.spam + summary.ham, 'message')} to ${options.out}: ${summary.spam} spam, ${summary.ham} ham; ` +
        `${summary.written} written${moved}; ${summary.skipped.length} skipped. Labels: ${summary.labelsPath}`,
    );
    return summary.skipped.length > 0 ? EXIT_FAILED : EXIT_OK;
  } catch (error) {
    printError(describeError(error));
    return EXIT_FAILED;
  }
}

/** Registers `feedback add`, `feedback list` and `feedback export` on `program`. */
export function addFeedbackCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  const dirHelp = `feedback folder (default: $${FEEDBACK_DIR_ENV}, else ${DEFAULT_FEEDBACK_DIR})`;
  const feedback = program
    .command('feedback')
    .description('Report messages the filter got wrong, and list or export the reports for retraining.')
    .addHelpText('after', FEEDBACK_HELP)
    .showHelpAfterError('Run "spamward help feedback" for the options.');

  feedback
    .command('add')
    .description('Store messages with a spam or ham label; one line per message on stdout, a summary on stderr.')
    .argument('<paths...>', 'files, folders, mbox files, Maildirs or "-" for stdin')
    .addOption(new Option('--label <label>', 'the correct label of the messages').choices(['spam', 'ham']).makeOptionMandatory())
    .option('--reason <text>', 'why the label is right, kept with each report')
    .option('--reporter <id>', 'who reports, such as a login, kept with each report')
    .option('--dir <dir>', dirHelp, parsePathOnce)
    .option('--max-message-bytes <n>', `largest message accepted, in bytes; a longer one is rejected (default: ${DEFAULT_PARSE_LIMITS.maxMessageBytes})`, parseByteCountOnce)
    .option('--store <url>', "the gateways' behaviour store, redis://HOST:PORT/DB: each report also counts there under the message's sender and content fingerprint, so the gateways score that sender and near-identical messages accordingly at once (default: none)", parseRedisStore)
    .addHelpText('after', FEEDBACK_HELP)
    .action(async (paths: string[], flags: AddFlags) => {
      const options: FeedbackAddOptions = { dir: resolveFeedbackDir(flags.dir), label: flags.label, reason: flags.reason, reporter: flags.reporter, maxMessageBytes: flags.maxMessageBytes, store: flags.store };
      setExitCode(await runFeedbackAdd(paths, options, io));
    });

  feedback
    .command('list')
    .description('List the reported messages with their latest label, report count and copy status.')
    .option('--dir <dir>', dirHelp, parsePathOnce)
    .addOption(new Option('-f, --format <format>', 'table, or jsonl with the full history (default: table when stdout is a terminal, else jsonl)').choices(FEEDBACK_LIST_FORMATS))
    .option('--no-verify', 'check only that each copy exists with its reported size, without hashing it')
    .addHelpText('after', FEEDBACK_HELP)
    .action(async (flags: ListFlags) => {
      const format = flags.format ?? (io.isTTY.stdout ? 'table' : 'jsonl');
      setExitCode(await runFeedbackList({ dir: resolveFeedbackDir(flags.dir), format, verify: flags.verify }, io));
    });

  feedback
    .command('export')
    .description('Write <out>/spam/<sha256>.eml, <out>/ham/<sha256>.eml and <out>/labels.jsonl under each message\'s latest label.')
    .requiredOption('--out <dir>', 'export folder; give it as <corpus>/<set> so "spamward train --corpus <corpus>" reads it', parsePathOnce)
    .option('--dir <dir>', dirHelp, parsePathOnce)
    .addHelpText('after', FEEDBACK_HELP)
    .action(async (flags: ExportFlags) => {
      setExitCode(await runFeedbackExport({ dir: resolveFeedbackDir(flags.dir), out: flags.out }, io));
    });
}
