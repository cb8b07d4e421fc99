/**
 * The spamward command line, runnable in-process: `runCli` parses the
 * arguments with commander, runs the command on the given streams and
 * returns the exit status instead of exiting.
 */
import { DEFAULT_AUTH_DEADLINE_MS } from '../auth/defaults.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { DNS_CLIENT_DEFAULTS } from '../auth/dns/options.js';
import { describeError } from '../errors.js';
import { DEFAULT_PARSE_LIMITS } from '../parse/limits.js';
import { HEURISTICS_ONLY_THRESHOLDS } from '../pipeline/combine.js';
import type { ScorerOptions } from '../pipeline/scorer.js';
import { envelopeFromFlags, envelopeInputProblem } from './envelope.js';
import { OUTPUT_FORMATS, type OutputFormat } from './format.js';
import { addTrainCommand } from './train.js';
import { addFeedbackCommand } from './feedback.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';
import { addModelCommand, REGISTRY_ENV } from './model.js';
import {
  collectAuthservId,
  collectResolver,
  collectRuleScore,
  collectRuleSymbol,
  collectTrustedHost,
  parseByteCountOnce,
  parseClientIpOnce,
  parseFiniteNumberOnce,
  parseHeloOnce,
  parseMailFromOnce,
  parseMillisecondsOnce,
  parseStoreOnce,
  parsePathOnce,
} from './options.js';

export { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, type CliIo } from './io.js';


const EXIT_STATUS_HELP = `
Exit status:
  0    every message was scored
  1    an input or a message could not be read or scored (each is reported
       on stderr and in its output row), or the model given with --model
       could not be loaded
  2    invalid command line or option value, or envelope options given
       for more than one message
  130  interrupted (Ctrl-C); the messages scored so far are printed`;

const SCAN_HELP = `
Inputs:
  A file holds one message, or is an mbox when its first line starts with
  "From ". A folder is walked recursively for *.eml and *.mbox files; a
  Maildir (a folder with cur/ and new/) is read whole. "-" reads stdin.
  Any file may be gzip-compressed. Each mbox message is named path:offset,
  the byte offset of its "From " line.

Output:
  jsonl  one JSON object per message: source, messageId, score, probability,
         verdict, action, symbols [{name, score, description}],
         degraded, auth {spf, dkim, dmarc, arc: {result, reason}, source},
         error
  csv    the same fields with a header row (RFC 4180); symbols as
         NAME=score;NAME=score, and the columns spf, dkim, dmarc and arc
         with the results only
  table  aligned columns and a summary line; AUTH lists the results that
         are not unknown, such as spf=pass dkim=none, or "-"

Authentication:
  The SPF, DKIM, DMARC and ARC results come from the first source that
  applies:
  1. an Authentication-Results header written by your own MTA, whose
     authserv-id is given with --trust-authserv-id;
  2. DNS checks through the --resolver servers, within --auth-deadline;
     SPF also needs --client-ip, with --mail-from or --helo;
  3. nothing: without --resolver no DNS query is made, and every result is
     "unknown".
  The envelope options --client-ip, --helo and --mail-from describe one
  SMTP transaction, so they take one path: a file or "-" containing a single
  message.
${EXIT_STATUS_HELP}

Examples:
  spamward scan message.eml
  spamward scan --format csv ~/Maildir > scores.csv
  zcat archive.mbox.gz | spamward scan --no-model -
  spamward scan --resolver 127.0.0.1:53 --client-ip 192.0.2.1 \\
    --mail-from sender@example.com message.eml`;

interface ScanFlags {
  format?: OutputFormat;
  model?: string | false;
  registry?: string;
  thresholdSuspect?: number;
  thresholdSpam?: number;
  thresholdReject?: number;
  disableRule?: string[];
  ruleScore?: Record<string, number>;
  maxMessageBytes?: number;
  verbose?: boolean;
  resolver?: string[];
  authDeadline?: number;
  dnsQueryTimeout?: number;
  trustAuthservId?: string[];
  trustedHost?: string[];
  clientIp?: string;
  helo?: string;
  mailFrom?: string;
  store?: string;
  storeTimeout?: number;
}

interface RescanFlags
  extends Pick<ScanFlags, 'model' | 'registry' | 'thresholdSuspect' | 'thresholdSpam' | 'thresholdReject' | 'maxMessageBytes' | 'resolver' | 'authDeadline' | 'dnsQueryTimeout' | 'trustAuthservId' | 'trustedHost'> {
  report: string;
  csv?: string;
  html?: string;
  workers?: string;
  messageTimeout?: number;
  releaseBelow?: number;
  releaseTo?: string;
  yes?: boolean;
  move?: boolean;
  /** False when --no-dns is given. */
  dns?: boolean;
}

const RESCAN_HELP = `
Report:
  One JSON object per message, in input order: source (path, or
  path:offset for a message of an mbox), messageId, sha256 (of the bytes as
  read), verdict, score, symbols [{name, score}] (the 5 largest), degraded,
  error, previousScore and previousFlagged (from an earlier filter's
  X-Spam-Score, X-Spam-Status or X-Spam-Flag header, or null), and
  modelVersion. Rows are fsynced before any release, and otherwise at
  least every 200 ms. A rerun with the same
  --report skips the messages whose sha256 and source already have a row,
  so a run that was stopped or killed can be resumed. --csv and --html are
  written from the whole --report at the end, so a resumed run writes the
  same files as an uninterrupted one.

Workers:
  Messages are scored on --workers threads, each with its own scorer and
  model. The main thread reads the inputs, writes the report and releases,
  and keeps at most 4 messages per worker in flight. A worker that stops is
  replaced, and its message gets a row with an error.

Authentication:
  The SPF, DKIM, DMARC and ARC results come from the Authentication-Results
  headers of your own MTA when --trust-authserv-id is given; else from DNS
  checks through the --resolver servers within --auth-deadline; else they
  are skipped and every result is "unknown". --no-dns makes no DNS query
  even when --resolver is given. The behaviour store is always off, because
  stored mail must not count as sender history.

Release:
  With --release-below and --release-to, every message scoring below the
  value is released. A folder receives it as <sha256>.eml: written to a
  temporary file, fsynced and renamed. An mbox (a name ending in .mbox, or
  an existing file that is empty or starts with a "From " line) receives it
  appended with mboxrd ">From " quoting and fsynced; an index beside it, <mbox>.spamward-index, records each append,
  so a rerun after a crash appends no message twice and cuts off a partial
  append. Messages already there are not written again. Without --yes the
  messages are only listed; rerun with --yes to release them. The inputs
  are never modified, except with --move, which removes an original file
  that holds only the released message (also one that starts with an mbox
  "From " line) once its copy is fsynced. A file named *.mbox or holding
  more than one message is never removed; its messages are released but the
  file stays as it is.

Exit status:
  0    every message was scored, and released (and removed with --move)
       when it qualified
  1    a message could not be read, scored, released or removed (each is
       reported on stderr and, when scoring failed, in its report row), or
       the report, a worker or the model could not be started
  2    invalid command line or option value
  130  interrupted (Ctrl-C); rerun with the same --report to resume

Examples:
  spamward rescan /var/quarantine --report rescan.jsonl --html rescan.html
  spamward rescan /var/quarantine --report rescan.jsonl \\
    --release-below 2 --release-to /var/released --yes
  spamward rescan quarantine.mbox --report rescan.jsonl \\
    --release-below 2 --release-to /var/mail/released.mbox --yes`;

/** Reads the version from the package.json above this file, from src/cli and from dist/src/cli alike. */
function packageVersion(): string {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'spamward' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No package.json in this folder; look in the parent.
    }
    const parent = path.dirname(folder);
    if (parent === folder) return 'unknown';
    folder = parent;
  }
}

function thresholdHelp(outcome: string, heuristicsOnlyDefault: number): string {
  return `score at or above which a message is ${outcome} (default: the model's calibrated value, or ${heuristicsOnlyDefault} with heuristics only)`;
}

function scorerOptions(flags: ScanFlags): ScorerOptions {
  const options: ScorerOptions = {};
  if (flags.model === false) options.modelDir = null;
  else if (typeof flags.model === 'string') {
    options.modelDir = flags.model;
    options.requireModel = true;
  } else {
    const registry = flags.registry ?? process.env[REGISTRY_ENV];
    if (registry !== undefined && registry !== '') {
      // A registry named on purpose must work; falling back to the rules would score spam as ham without saying so in the exit status.
      options.registry = registry;
      options.requireModel = true;
    }
  }
  const thresholds: NonNullable<ScorerOptions['thresholds']> = {};
  if (flags.thresholdSuspect !== undefined) thresholds.suspect = flags.thresholdSuspect;
  if (flags.thresholdSpam !== undefined) thresholds.spam = flags.thresholdSpam;
  if (flags.thresholdReject !== undefined) thresholds.reject = flags.thresholdReject;
  if (Object.keys(thresholds).length > 0) options.thresholds = thresholds;
  if (flags.disableRule !== undefined || flags.ruleScore !== undefined) {
    options.heuristics = {};
    if (flags.disableRule !== undefined) options.heuristics.disabled = flags.disableRule;
    if (flags.ruleScore !== undefined) options.heuristics.scores = flags.ruleScore;
  }
  if (flags.maxMessageBytes !== undefined) options.parseLimits = { maxMessageBytes: flags.maxMessageBytes };
  const auth: NonNullable<ScorerOptions['auth']> = {};
  if (flags.resolver !== undefined) auth.resolvers = flags.resolver;
  if (flags.authDeadline !== undefined) auth.deadlineMs = flags.authDeadline;
  if (flags.dnsQueryTimeout !== undefined) auth.queryTimeoutMs = flags.dnsQueryTimeout;
  if (flags.trustAuthservId !== undefined) auth.trustAuthservIds = flags.trustAuthservId;
  if (flags.trustedHost !== undefined) auth.trustedHosts = flags.trustedHost;
  if (Object.keys(auth).length > 0) options.auth = auth;
  // Scanned messages are not arriving now, so by default they neither read nor write sender history.
  options.store = flags.store === undefined || flags.store === 'none' ? null : flags.store;
  if (flags.storeTimeout !== undefined) options.storeTimeoutMs = flags.storeTimeout;
  return options;
}


function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('spamward')
    .description('Score email for spam with a trained model and explained heuristics.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'print help')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('Run "spamward --help" for the commands.')
    .addHelpText('after', '\nRun "spamward COMMAND --help" for the options and exit statuses of a command.');

  program
    .command('scan')
    .description('Score messages from files, folders, mbox files, Maildirs or stdin ("-").')
    .argument('<paths...>', 'files, folders or "-" for stdin')
    .addOption(new Option('-f, --format <format>', 'output format (default: table when stdout is a terminal, else jsonl)').choices(OUTPUT_FORMATS))
    .option('--model <dir>', "model folder; the scan fails when it cannot be loaded (default: the registry's active model)", parsePathOnce)
    .option('--registry <dir>', `model registry whose active model scores, followed when it changes (default: $${REGISTRY_ENV}, else the models/ folder of the spamward package)`, parsePathOnce)
    .option('--no-model', 'score with heuristics only')
    .option('--threshold-suspect <n>', thresholdHelp('suspect (tagged)', HEURISTICS_ONLY_THRESHOLDS.suspect), parseFiniteNumberOnce)
    .option('--threshold-spam <n>', thresholdHelp('spam (quarantined)', HEURISTICS_ONLY_THRESHOLDS.spam), parseFiniteNumberOnce)
    .option('--threshold-reject <n>', thresholdHelp('rejected', HEURISTICS_ONLY_THRESHOLDS.reject), parseFiniteNumberOnce)
    .option('--disable-rule <symbol>', 'turn off a heuristic rule; repeat for more rules', collectRuleSymbol)
    .option('--rule-score <symbol=n>', "replace the points of a heuristic rule; the model's rule weight (0.5 for the shipped model) scales them in the score; repeat for more rules", collectRuleScore)
    .option('--max-message-bytes <n>', `bytes read per message; the rest is dropped and noted in degraded (default: ${DEFAULT_PARSE_LIMITS.maxMessageBytes})`, parseByteCountOnce)
    .option('--resolver <host:port>', 'DNS resolver for the SPF, DKIM, DMARC and ARC checks: an IP address with an optional port (default port 53); repeat for failover (default: none, so no DNS query is made)', collectResolver)
    .option('--auth-deadline <ms>', `milliseconds the authentication checks may take per message (default: ${DEFAULT_AUTH_DEADLINE_MS})`, parseMillisecondsOnce)
    .option('--dns-query-timeout <ms>', `milliseconds one resolver gets to answer one query (default: ${DNS_CLIENT_DEFAULTS.queryTimeoutMs})`, parseMillisecondsOnce)
    .option('--trust-authserv-id <id>', "use the Authentication-Results headers with this authserv-id, written by your own MTA; repeat for more (default: none)", collectAuthservId)
    .option('--trusted-host <host>', 'host name or IP address of one of your own MTAs, whose Received headers may sit above a trusted Authentication-Results header; repeat for more', collectTrustedHost)
    .option('--client-ip <ip>', 'IP address of the SMTP client that sent the message; one message only', parseClientIpOnce)
    .option('--helo <name>', 'name the SMTP client gave in HELO or EHLO; one message only', parseHeloOnce)
    .option('--mail-from <address>', "SMTP MAIL FROM address, or '' for the null sender of a bounce; one message only", parseMailFromOnce)
    .option('--store <spec>', 'sender-behaviour store: "none", "memory" (this scan only) or redis://HOST:PORT/DB to read and add to the history a gateway keeps; a scan scores stored mail, so the default is none, and every message is scored on its own', parseStoreOnce)
    .option('--store-timeout <ms>', 'milliseconds a behaviour-store call may take before scoring goes on from memory (default: 50)', parseMillisecondsOnce)
    .option('-v, --verbose', 'print the model in use, scoring errors, a summary and the elapsed time on stderr')
    .addHelpText('after', SCAN_HELP)
    .action(async (paths: string[], flags: ScanFlags, command: Command) => {
      const format = flags.format ?? (io.isTTY.stdout ? 'table' : 'jsonl');
      if (flags.registry !== undefined && flags.model !== undefined) {
        command.error('error: --registry follows a registry\'s active model; --model and --no-model fix the model. Give one of them.', { exitCode: EXIT_USAGE, code: 'spamward.modelOptions' });
      }
      const envelope = envelopeFromFlags(flags);
      if (envelope !== undefined) {
        const problem = await envelopeInputProblem(paths, envelope);
        if (problem !== null) command.error(`error: ${problem}`, { exitCode: EXIT_USAGE, code: 'spamward.envelopeInput' });
      }
      // Loaded here so --version, help and usage errors do not load the model runtime.
      const { runScan } = await import('./scan.js');
      const code = await runScan(
        paths,
        {
          format,
          scorer: scorerOptions(flags),
          maxMessageBytes: flags.maxMessageBytes,
          verbose: flags.verbose === true,
          ...(envelope === undefined ? {} : { envelope }),
        },
        io,
      );
      setExitCode(code);
    });

  program
    .command('rescan')
    .description('Re-score stored messages on worker threads into a resumable JSONL report, with CSV and HTML reports, and release the ones that now score below a threshold.')
    .argument('<paths...>', 'files, folders, mbox files, Maildirs or "-" for stdin')
    .requiredOption('--report <file>', 'JSONL report, one row per message; a rerun with the same file skips the messages already in it', parsePathOnce)
    .option('--csv <file>', 'also write the report as CSV (RFC 4180) at the end', parsePathOnce)
    .option('--html <file>', 'also write a self-contained HTML page with verdict counts and score histograms at the end', parsePathOnce)
    .option('--workers <n>', 'worker threads that score messages, each loading its own model (default: the number of CPUs, as os.availableParallelism() reports)')
    .option('--message-timeout <ms>', 'milliseconds a worker thread may take for one message before it is stopped and replaced, and the message gets an error row (default: 60000)', parseMillisecondsOnce)
    .option('--release-below <score>', 'release the messages whose score is below this value; needs --release-to', parseFiniteNumberOnce)
    .option('--release-to <path>', 'folder the released messages are copied to as <sha256>.eml (created when missing), or an mbox they are appended to (a name ending in .mbox, or an existing file)', parsePathOnce)
    .option('--yes', 'release the messages; without it the release is a dry run that lists them')
    .option('--move', 'remove each released original file that holds only that message once its copy is fsynced; files named *.mbox and files holding more than one message are never removed')
    .option('--model <dir>', "model folder (default: the registry's active model); the rescan fails when the model cannot be loaded, because rules alone would release spam", parsePathOnce)
    .option('--registry <dir>', `model registry whose active model scores, followed when it changes (default: $${REGISTRY_ENV}, else the models/ folder of the spamward package)`, parsePathOnce)
    .option('--no-model', 'score with heuristics only')
    .option('--threshold-suspect <n>', thresholdHelp('suspect (tagged)', HEURISTICS_ONLY_THRESHOLDS.suspect), parseFiniteNumberOnce)
    .option('--threshold-spam <n>', thresholdHelp('spam (quarantined)', HEURISTICS_ONLY_THRESHOLDS.spam), parseFiniteNumberOnce)
    .option('--threshold-reject <n>', thresholdHelp('rejected', HEURISTICS_ONLY_THRESHOLDS.reject), parseFiniteNumberOnce)
    .option('--max-message-bytes <n>', `bytes read per message; a longer message is scored on its start and never released (default: ${DEFAULT_PARSE_LIMITS.maxMessageBytes})`, parseByteCountOnce)
    .option('--resolver <host:port>', 'DNS resolver for the SPF, DKIM, DMARC and ARC checks: an IP address with an optional port (default port 53); repeat for failover (default: none, so no DNS query is made)', collectResolver)
    .option('--no-dns', 'make no DNS query, even when --resolver is given')
    .option('--auth-deadline <ms>', `milliseconds the authentication checks may take per message (default: ${DEFAULT_AUTH_DEADLINE_MS})`, parseMillisecondsOnce)
    .option('--dns-query-timeout <ms>', `milliseconds one resolver gets to answer one query (default: ${DNS_CLIENT_DEFAULTS.queryTimeoutMs})`, parseMillisecondsOnce)
    .option('--trust-authserv-id <id>', 'use the Authentication-Results headers with this authserv-id, written by your own MTA; repeat for more (default: none)', collectAuthservId)
    .option('--trusted-host <host>', 'host name or IP address of one of your own MTAs, whose Received headers may sit above a trusted Authentication-Results header; repeat for more', collectTrustedHost)
    .addHelpText('after', RESCAN_HELP)
    .showHelpAfterError('Run "spamward help rescan" for the options.')
    .action(async (paths: string[], flags: RescanFlags, command: Command) => {
      if ((flags.releaseBelow === undefined) !== (flags.releaseTo === undefined)) {
        command.error('error: --release-below and --release-to must be given together.', { exitCode: EXIT_USAGE, code: 'spamward.releaseOptions' });
      }
      if (flags.yes === true && flags.releaseBelow === undefined) {
        command.error('error: --yes needs --release-below and --release-to.', { exitCode: EXIT_USAGE, code: 'spamward.releaseOptions' });
      }
      if (flags.move === true && flags.releaseBelow === undefined) {
        command.error('error: --move needs --release-below and --release-to.', { exitCode: EXIT_USAGE, code: 'spamward.releaseOptions' });
      }
      let workers: number | undefined;
      if (flags.workers !== undefined) {
        workers = Number(flags.workers.trim());
        if (!/^\d+$/.test(flags.workers.trim()) || !Number.isSafeInteger(workers) || workers < 1) {
          command.error(`error: option '--workers <n>' argument '${flags.workers}' is invalid. Expected a whole number of threads, at least 1, such as 4.`, { exitCode: EXIT_USAGE, code: 'spamward.workers' });
        }
      }
      if (flags.registry !== undefined && flags.model !== undefined) {
        command.error('error: --registry follows a registry\'s active model; --model and --no-model fix the model. Give one of them.', { exitCode: EXIT_USAGE, code: 'spamward.modelOptions' });
      }
      const scorer = scorerOptions(flags);
      // Unlike a scan, a rescan may release what it scores, so it never falls back to the rules alone unless --no-model is given.
      if (scorer.modelDir !== null) scorer.requireModel = true;
      if (flags.dns === false && scorer.auth !== undefined) {
        const { resolvers: _resolvers, ...auth } = scorer.auth;
        scorer.auth = auth;
      }
      // Loaded here so --version, help and usage errors do not load the model runtime.
      const { runRescan } = await import('./rescan.js');
      const code = await runRescan(
        paths,
        {
          report: flags.report,
          ...(flags.csv === undefined ? {} : { csv: flags.csv }),
          ...(flags.html === undefined ? {} : { html: flags.html }),
          ...(workers === undefined ? {} : { workers }),
          ...(flags.messageTimeout === undefined ? {} : { messageTimeoutMs: flags.messageTimeout }),
          scorer,
          maxMessageBytes: flags.maxMessageBytes,
          ...(flags.releaseBelow === undefined || flags.releaseTo === undefined
            ? {}
            : { release: { below: flags.releaseBelow, destination: flags.releaseTo, apply: flags.yes === true, move: flags.move === true } }),
        },
        io,
      );
      setExitCode(code);
    });

  addFeedbackCommand(program, io, setExitCode);
  addTrainCommand(program, io, setExitCode);
  addModelCommand(program, io, setExitCode);
  pointErrorsToHelp(program, []);
  return program;
}

/** Makes each command's usage errors name the help of that command, such as `spamward feedback add --help`. */
function pointErrorsToHelp(command: Command, names: string[]): void {
  for (const sub of command.commands) {
    if (sub.name() === 'help') continue;
    const path = [...names, sub.name()];
    sub.showHelpAfterError(`Run "spamward ${path.join(' ')} --help" for the options.`);
    pointErrorsToHelp(sub, path);
  }
}

/**
 * Runs the command line `argv` (the arguments after the program name) on
 * `io` and returns the exit status. The status is 0 when every message was
 * scored, 1 when an input or message failed, 2 for a usage error, and 130
 * when `io.signal` aborted the scan. It does not throw.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // A closed stderr must not crash the process; there is nowhere left to report it.
  io.stderr.on('error', () => {});
  let exitCode = EXIT_OK;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.version' || error.code === 'commander.helpDisplayed') return EXIT_OK;
      if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
      return EXIT_USAGE;
    }
    io.stderr.write(`spamward: internal error: ${describeError(error)}\n`);
    return EXIT_FAILED;
  }
  return exitCode;
}
