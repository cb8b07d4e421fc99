/**
 * `spamward scan`: reads messages from paths and stdin, scores each one in
 * order, and prints one record per message. Failed inputs and messages are
 * reported and the scan goes on. The exit status is 1 when any failed.
 */
import type { Writable } from 'node:stream';
import type { DnsStats } from '../auth/dns/types.js';
import { describeError, ModelLoadError, OptionsError, SpamwardError } from '../errors.js';
import { createScorer, type Scorer, type ScorerOptions } from '../pipeline/scorer.js';
import type { Envelope } from '../parse/types.js';
import { readMessages } from '../pipeline/sources.js';
import { onlyMessage } from './envelope.js';
import { createRecordWriter, dnsStatsLine, errorRecord, escapeControlCharacters, resultRecord, summaryLine, type OutputFormat, type OutputRecord, type VerdictCounts } from './format.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, waitForDrain, type CliIo } from './io.js';
import { ScanProgress } from './progress.js';

export interface ScanOptions {
  format: OutputFormat;
  scorer: ScorerOptions;
  maxMessageBytes: number | undefined;
  verbose: boolean;
  /**
   * The SMTP envelope of the one message scanned. When it is set, the scan
   * stops with exit status 2 if the input contains more than one message.
   */
  envelope?: Envelope;
}

/**
 * Writes to stdout with backpressure. A closed pipe (EPIPE, as when the
 * output goes to `head`) marks the sink closed instead of throwing.
 */
class OutputSink {
  closed = false;
  /** A write error other than EPIPE, reported at the end of the scan. */
  failure: Error | null = null;

  constructor(
    private readonly stream: Writable,
    private readonly onClose: () => void,
  ) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      this.closed = true;
      // EPIPE means the reader went away, which ends the scan quietly. Other errors are reported after the scan.
      if (error.code !== 'EPIPE') this.failure = error;
      this.onClose();
    });
  }

  async write(text: string): Promise<void> {
    if (text === '' || this.closed) return;
    if (this.stream.write(text)) return;
    await waitForDrain(this.stream);
  }
}

function truncationNote(size: number, kept: number): string {
  return `source: message truncated to the first ${kept} of ${size} bytes (--max-message-bytes)`;
}

function toItemError(error: unknown): { code: string; message: string } {
  if (error instanceof SpamwardError) return { code: error.code, message: error.message };
  return { code: 'SPAMWARD_ERROR', message: describeError(error) };
}

export async function runScan(paths: string[], options: ScanOptions, io: CliIo): Promise<number> {
  const printError = (line: string): void => {
    io.stderr.write(`spamward: ${escapeControlCharacters(line)}\n`);
  };

  let scorer: Scorer;
  try {
    scorer = await (io.createScorer ?? createScorer)({
      ...options.scorer,
      logger: { warn: (message) => printError(`warning: ${message.replace(/^spamward: /, '')}`) },
    });
  } catch (error) {
    printError(describeError(error));
    if (error instanceof OptionsError) return EXIT_USAGE;
    if (!(error instanceof ModelLoadError)) printError('could not start the scorer; rerun with --verbose and report the message above if it persists.');
    return EXIT_FAILED;
  }
  if (options.verbose) {
    printError(scorer.modelVersion === null ? 'scoring with heuristics only' : `scoring with model ${scorer.modelVersion}`);
  }

  const controller = new AbortController();
  const stopScan = (): void => controller.abort();
  io.signal?.addEventListener('abort', stopScan, { once: true });
  const sink = new OutputSink(io.stdout, stopScan);
  // On a terminal stdout the rows themselves show progress, and a progress line would garble them.
  const progress = new ScanProgress(io.stderr, io.isTTY.stderr && !io.isTTY.stdout);
  const writer = createRecordWriter(options.format);
  const counts: VerdictCounts = { ham: 0, suspect: 0, spam: 0, errors: 0 };
  const startedAt = performance.now();
  const report = (line: string): void => {
    if (!progress.log(`spamward: ${escapeControlCharacters(line)}`)) printError(line);
  };
  // The output starts with the first record, so a scan that stops with a usage error prints nothing on stdout.
  let started = false;
  const startOutput = async (): Promise<void> => {
    if (started) return;
    started = true;
    await sink.write(writer.start());
  };
  const emit = async (record: OutputRecord): Promise<void> => {
    if (record.error !== null) counts.errors += 1;
    else if (record.verdict !== null) counts[record.verdict] += 1;
    progress.update(counts);
    await startOutput();
    await sink.write(writer.write(record));
  };

  const messages = readMessages(paths, { maxMessageBytes: options.maxMessageBytes, signal: controller.signal, stdin: io.stdin });
  let usageError: OptionsError | null = null;
  let dnsStats: DnsStats | null = null;
  try {
    for await (const item of options.envelope === undefined ? messages : onlyMessage(messages, options.envelope)) {
      if ('error' in item) {
        report(item.error.message);
        await emit(errorRecord(item.source, item.error));
        continue;
      }
      let record: OutputRecord;
      try {
        const result = await scorer.score(item.raw, options.envelope);
        record = resultRecord(item.source, result, item.truncated ? [truncationNote(item.size, item.raw.length)] : []);
      } catch (error) {
        const itemError = toItemError(error);
        if (options.verbose) report(`${item.source}: ${itemError.message}`);
        record = errorRecord(item.source, itemError);
      }
      await emit(record);
      if (controller.signal.aborted) break;
    }
  } catch (error) {
    // The messages throw when the scan is aborted (by SIGINT or by a closed
    // stdout), and throw an OptionsError when an envelope meets a second message.
    if (error instanceof OptionsError) usageError = error;
    else if (!controller.signal.aborted) throw error;
  } finally {
    progress.stop();
    io.signal?.removeEventListener('abort', stopScan);
    dnsStats = scorer.dnsStats();
    await scorer.close();
  }

  if (usageError !== null) {
    printError(usageError.message);
    return EXIT_USAGE;
  }
  await startOutput();
  await sink.write(writer.end());
  if (options.format === 'table') await sink.write(`${summaryLine(counts)}\n`);
  else if (options.verbose || io.isTTY.stderr) printError(summaryLine(counts));
  if (options.verbose) {
    const seconds = (performance.now() - startedAt) / 1000;
    if (dnsStats !== null) printError(dnsStatsLine(dnsStats));
    printError(`finished in ${seconds.toFixed(1)} s`);
  }

  if (sink.failure !== null) {
    printError(`could not write the output: ${sink.failure.message}`);
    return EXIT_FAILED;
  }
  if (io.signal?.aborted === true) return EXIT_INTERRUPTED;
  return counts.errors > 0 ? EXIT_FAILED : EXIT_OK;
}
