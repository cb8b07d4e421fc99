/**
 * `spamward rescan`: re-scores stored messages into a resumable JSONL report
 * on worker threads, writes the CSV and HTML reports from it, and releases
 * (or, without --yes, lists) the messages that now score below a threshold.
 * Stdout receives the release list. Stderr receives errors, the summary and,
 * on a terminal only, the progress line.
 */
import type { Writable } from 'node:stream';
import { describeError, ModelLoadError, OptionsError } from '../errors.js';
import type { ScorerOptions } from '../pipeline/scorer.js';
import { writeCsvReport } from '../rescan/csv.js';
import { writeHtmlReport } from '../rescan/html.js';
import { rescan, ReleaseMboxError, RescanReportError, RescanWorkerError, type RescanEvent, type RescanReleaseOptions, type RescanSummary } from '../rescan/index.js';
import { estimateInputBytes, RescanProgress, type ProgressCounts } from './rescan-progress.js';
import { escapeControlCharacters } from './format.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, waitForDrain, type CliIo } from './io.js';

/** The code of SourceError, whose message already names the path. */
const SOURCE_FAILED = 'SPAMWARD_SOURCE_FAILED';

export interface RescanCliOptions {
  report: string;
  /** CSV report written from the JSONL report at the end. */
  csv?: string;
  /** HTML report written from the JSONL report at the end. */
  html?: string;
  scorer: ScorerOptions;
  maxMessageBytes: number | undefined;
  /** Worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Milliseconds a worker may take for one message; see RescanOptions.messageTimeoutMs. */
  messageTimeoutMs?: number;
  release?: RescanReleaseOptions;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Formats the totals as one line, such as `Rescanned 4 messages: 3 ham, 0 suspect, 1 spam, 0 errors; 2 released, 1 already released; 0 of them already in the report, so not scored again.` */
export function rescanSummaryLine(summary: RescanSummary, release: 'off' | 'dry-run' | 'apply'): string {
  const total = summary.ham + summary.suspect + summary.spam + summary.errors;
  const failures = summary.releaseFailures > 0 ? `, ${summary.releaseFailures} not released` : '';
  let moves = '';
  if (summary.moved > 0 || summary.notMoved > 0) moves = `, ${summary.moved} originals removed, ${summary.notMoved} not removed`;
  let releases = '';
  if (release === 'dry-run') releases = `${summary.wouldRelease} would be released (rerun with --yes to release them), ${summary.alreadyReleased} already released${failures}; `;
  else if (release === 'apply') releases = `${summary.released} released, ${summary.alreadyReleased} already released${failures}${moves}; `;
  return (
    `Rescanned ${plural(total, 'message')}: ${summary.ham} ham, ${summary.suspect} suspect, ${summary.spam} spam, ${plural(summary.errors, 'error')}; ` +
    `${releases}${summary.resumed} of them already in the report, so not scored again.`
  );
}

/**
 * Writes lines to stdout and waits when its buffer is full. A closed stdout
 * (EPIPE, as when the list goes to `head`) ends the listing but not the
 * rescan, because the report and the released files are its real output.
 */
class ListingSink {
  closed = false;

  constructor(private readonly stream: Writable) {
    stream.on('error', () => {
      this.closed = true;
    });
  }

  async writeLine(line: string): Promise<void> {
    if (this.closed) return;
    if (this.stream.write(`${line}\n`)) return;
    await waitForDrain(this.stream);
  }
}

/** Writes the release list line and reports problems of one message's release. */
async function reportRelease(event: RescanEvent, listing: ListingSink, report: (line: string) => void): Promise<void> {
  const release = event.release;
  if (release === null) return;
  const source = escapeControlCharacters(event.source);
  const target = escapeControlCharacters(release.target);
  const removal = release.move === 'planned' || release.move === 'moved' ? ' and remove the original' : '';
  if (release.outcome === 'planned') await listing.writeLine(`would release${removal} ${source} -> ${target}`);
  else if (release.outcome === 'written') await listing.writeLine(`released ${source} -> ${target}`);
  else if (release.outcome === 'truncated') report(`${event.source}: not released, because it is longer than --max-message-bytes and only its start was read`);
  else if (release.outcome === 'failed') report(`${event.source}: could not release to ${release.target}: ${release.error ?? 'unknown error'}`);
  if (release.move === 'moved') await listing.writeLine(`removed ${source}`);
  else if (release.move === 'refused') report(`${event.source}: released but not removed, because --move removes only single-message files and this message is inside an mbox or came from stdin`);
  else if (release.move === 'failed') report(`${event.source}: released but could not remove the original: ${release.moveError ?? 'unknown error'}`);
}

/** Writes the CSV and HTML reports; returns false when one failed (reported on stderr). */
async function writeReports(options: RescanCliOptions, printError: (line: string) => void): Promise<boolean> {
  let ok = true;
  if (options.csv !== undefined) {
    try {
      await writeCsvReport(options.report, options.csv);
    } catch (error) {
      printError(`could not write the CSV report ${options.csv}: ${describeError(error)}`);
      ok = false;
    }
  }
  if (options.html !== undefined) {
    try {
      const stats = await writeHtmlReport(options.report, options.html);
      if (stats.comparable > 0) {
        printError(`${stats.newlyFlagged + stats.noLongerFlagged} of ${stats.comparable} messages with an earlier verdict changed (${stats.newlyFlagged} now flagged, ${stats.noLongerFlagged} no longer flagged).`);
      }
    } catch (error) {
      printError(`could not write the HTML report ${options.html}: ${describeError(error)}`);
      ok = false;
    }
  }
  return ok;
}

export async function runRescan(paths: string[], options: RescanCliOptions, io: CliIo): Promise<number> {
  const printError = (line: string): void => {
    io.stderr.write(`spamward: ${escapeControlCharacters(line)}\n`);
  };
  const listing = new ListingSink(io.stdout);
  const progress = new RescanProgress(io.stderr, io.isTTY.stderr);
  if (io.isTTY.stderr) void estimateInputBytes(paths).then((total) => progress.setTotalBytes(total), () => progress.setTotalBytes(null));
  const counts: ProgressCounts = { ham: 0, suspect: 0, spam: 0, errors: 0 };
  const report = (line: string): void => {
    if (!progress.log(`spamward: ${escapeControlCharacters(line)}`)) printError(line);
  };
  const onMessage = async (event: RescanEvent): Promise<void> => {
    const { row } = event;
    if (event.verdict === null) {
      counts.errors += 1;
      // Source errors already name the path, but scoring errors do not. Resumed errors were reported by their own run.
      if (row?.error != null) report(row.error.code === SOURCE_FAILED ? row.error.message : `${row.source}: ${row.error.message}`);
    } else {
      counts[event.verdict] += 1;
    }
    progress.update(counts, event.size);
    await reportRelease(event, listing, report);
  };

  const started = performance.now();
  let summary: RescanSummary;
  try {
    summary = await rescan({
      inputs: paths,
      report: options.report,
      scorer: { ...options.scorer, logger: { warn: (message) => report(`warning: ${message.replace(/^spamward: /, '')}`) } },
      ...(io.createScorer === undefined ? {} : { createScorer: io.createScorer }),
      ...(options.workers === undefined ? {} : { workers: options.workers }),
      ...(options.messageTimeoutMs === undefined ? {} : { messageTimeoutMs: options.messageTimeoutMs }),
      ...(options.release === undefined ? {} : { release: options.release }),
      maxMessageBytes: options.maxMessageBytes,
      stdin: io.stdin,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onMessage,
    });
  } catch (error) {
    progress.stop();
    printError(describeError(error));
    if (error instanceof OptionsError) return EXIT_USAGE;
    const beforeStart = error instanceof ModelLoadError || error instanceof RescanReportError || error instanceof RescanWorkerError || error instanceof ReleaseMboxError;
    if (!beforeStart) printError('the rescan stopped; rerun with the same --report to resume.');
    return EXIT_FAILED;
  }
  progress.stop();
  const seconds = (performance.now() - started) / 1000;

  if (summary.truncatedReportBytes > 0) printError(`removed a partial last row (${summary.truncatedReportBytes} bytes) from ${options.report} left by an earlier run that stopped.`);
  const reportsWritten = await writeReports(options, printError);
  let releaseMode: 'off' | 'dry-run' | 'apply' = 'off';
  if (options.release !== undefined) releaseMode = options.release.apply === true ? 'apply' : 'dry-run';
  printError(rescanSummaryLine(summary, releaseMode));
  const scored = summary.ham + summary.suspect + summary.spam + summary.errors - summary.resumed;
  if (io.isTTY.stderr && seconds > 0) printError(`Scored ${plural(scored, 'message')} in ${seconds.toFixed(1)} s (${Math.round(scored / seconds)} messages/s).`);
  if (summary.interrupted) return EXIT_INTERRUPTED;
  const failed = summary.errors > 0 || summary.releaseFailures > 0 || !reportsWritten || summary.notMoved > 0;
  return failed ? EXIT_FAILED : EXIT_OK;
}
