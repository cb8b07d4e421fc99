/**
 * `spamward rescan`: re-scores stored messages into a resumable JSONL report
 * and releases (or, without --yes, lists) the messages that now score below
 * a threshold. Stdout receives the release list. Stderr receives errors,
 * the summary and, on a terminal only, the progress line.
 */
import type { Writable } from 'node:stream';
import { describeError, ModelLoadError, OptionsError } from '../errors.js';
import type { ScorerOptions } from '../pipeline/scorer.js';
import { rescan, RescanReportError, type RescanEvent, type RescanReleaseOptions, type RescanSummary } from '../rescan/index.js';
import { escapeControlCharacters, type VerdictCounts } from './format.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, waitForDrain, type CliIo } from './io.js';
import { ScanProgress } from './progress.js';

/** The code of SourceError, whose message already names the path. */
const SOURCE_FAILED = 'SPAMWARD_SOURCE_FAILED';

export interface RescanCliOptions {
  report: string;
  scorer: ScorerOptions;
  maxMessageBytes: number | undefined;
  release?: RescanReleaseOptions;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Formats the totals as one line, such as `Rescanned 4 messages: 3 ham, 0 suspect, 1 spam, 0 errors; 2 released, 1 already released; 0 skipped as already in the report.` */
export function rescanSummaryLine(summary: RescanSummary, release: 'off' | 'dry-run' | 'apply'): string {
  const total = summary.ham + summary.suspect + summary.spam + summary.errors;
  const failures = summary.releaseFailures > 0 ? `, ${summary.releaseFailures} not released` : '';
  let releases = '';
  if (release === 'dry-run') releases = `${summary.wouldRelease} would be released, ${summary.alreadyReleased} already released${failures}; `;
  else if (release === 'apply') releases = `${summary.released} released, ${summary.alreadyReleased} already released${failures}; `;
  return (
    `Rescanned ${plural(total, 'message')}: ${summary.ham} ham, ${summary.suspect} suspect, ${summary.spam} spam, ${plural(summary.errors, 'error')}; ` +
    `${releases}${summary.resumed} skipped as already in the report.`
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

export async function runRescan(paths: string[], options: RescanCliOptions, io: CliIo): Promise<number> {
  const printError = (line: string): void => {
    io.stderr.write(`spamward: ${escapeControlCharacters(line)}\n`);
  };
  const listing = new ListingSink(io.stdout);
  const progress = new ScanProgress(io.stderr, io.isTTY.stderr);
  const counts: VerdictCounts = { ham: 0, suspect: 0, spam: 0, errors: 0 };
  const report = (line: string): void => {
    if (!progress.log(`spamward: ${escapeControlCharacters(line)}`)) printError(line);
  };
  const onMessage = async (event: RescanEvent): Promise<void> => {
    const { row, release } = event;
    if (row.error !== null) {
      counts.errors += 1;
      // Source errors already name the path, but scoring errors do not.
      if (!event.resumed) report(row.error.code === SOURCE_FAILED ? row.error.message : `${row.source}: ${row.error.message}`);
    } else if (row.verdict !== null) {
      counts[row.verdict] += 1;
    }
    progress.update(counts);
    if (release === null) return;
    const source = escapeControlCharacters(row.source);
    const target = escapeControlCharacters(release.target);
    if (release.outcome === 'planned') await listing.writeLine(`would release ${source} -> ${target}`);
    else if (release.outcome === 'written') await listing.writeLine(`released ${source} -> ${target}`);
    else if (release.outcome === 'truncated') report(`${row.source}: not released, because it is longer than --max-message-bytes and only its start was read`);
    else if (release.outcome === 'failed') report(`${row.source}: could not release to ${release.target}: ${release.error ?? 'unknown error'}`);
  };

  let summary: RescanSummary;
  try {
    summary = await rescan({
      inputs: paths,
      report: options.report,
      scorer: { ...options.scorer, logger: { warn: (message) => printError(`warning: ${message.replace(/^spamward: /, '')}`) } },
      ...(io.createScorer === undefined ? {} : { createScorer: io.createScorer }),
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
    if (!(error instanceof ModelLoadError) && !(error instanceof RescanReportError)) printError('the rescan stopped; rerun with the same --report to resume.');
    return EXIT_FAILED;
  }
  progress.stop();

  if (summary.truncatedReportBytes > 0) printError(`removed a partial last row (${summary.truncatedReportBytes} bytes) from ${options.report} left by an earlier run that stopped.`);
  let releaseMode: 'off' | 'dry-run' | 'apply' = 'off';
  if (options.release !== undefined) releaseMode = options.release.apply === true ? 'apply' : 'dry-run';
  printError(rescanSummaryLine(summary, releaseMode));
  if (summary.interrupted) return EXIT_INTERRUPTED;
  return summary.errors > 0 || summary.releaseFailures > 0 ? EXIT_FAILED : EXIT_OK;
}
