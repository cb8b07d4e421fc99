/**
 * A progress line on stderr while a scan runs: messages done, rate and
 * counts per verdict. The total is not known up front, because mbox files
 * and folders are read as they stream, so the line shows a running count.
 */
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { VerdictCounts } from './format.js';

/** The line appears only after this many messages, so short scans print nothing extra. */
export const PROGRESS_MIN_MESSAGES = 5;
/** Redraws per second. */
const PROGRESS_FPS = 5;
const PROGRESS_FORMAT = 'Scanning: {value} messages | {rate}/s | ham {ham} | suspect {suspect} | spam {spam} | errors {errors}';

/**
 * A cli-progress line that appears once more than PROGRESS_MIN_MESSAGES are
 * done. Lines logged through it print above the bar, so they do not tear it.
 */
export class ProgressLine {
  private multiBar: cliProgress.MultiBar | null = null;
  private bar: cliProgress.SingleBar | null = null;

  /** `enabled` is false when stderr is not a terminal; every method is then a no-op. */
  constructor(
    private readonly stream: Writable,
    readonly enabled: boolean,
    private readonly format: string,
  ) {}

  /** Redraws with `done` messages and the payload fields the format names. */
  draw(done: number, payload: Record<string, unknown>): void {
    if (!this.enabled) return;
    if (this.bar === null) {
      if (done <= PROGRESS_MIN_MESSAGES) return;
      this.multiBar = new cliProgress.MultiBar({ stream: this.stream, format: this.format, fps: PROGRESS_FPS, clearOnComplete: true });
      this.bar = this.multiBar.create(0, done, payload);
      return;
    }
    this.bar.update(done, payload);
  }

  /** Prints a line above the progress line, or returns false when no progress line is shown and the caller must print it. */
  log(line: string): boolean {
    if (this.multiBar === null) return false;
    this.multiBar.log(`${line}\n`);
    return true;
  }

  /** Prints the lines still queued and removes the progress line. */
  stop(): void {
    if (this.multiBar === null) return;
    this.multiBar.update();
    this.multiBar.stop();
    this.multiBar = null;
    this.bar = null;
  }
}

export class ScanProgress {
  private readonly line: ProgressLine;
  private readonly startedAt = performance.now();

  /** `enabled` is false when stderr is not a terminal; every method is then a no-op. */
  constructor(stream: Writable, enabled: boolean) {
    this.line = new ProgressLine(stream, enabled, PROGRESS_FORMAT);
  }

  update(counts: VerdictCounts): void {
    if (!this.line.enabled) return;
    const done = counts.ham + counts.suspect + counts.spam + counts.errors;
    const elapsedSeconds = (performance.now() - this.startedAt) / 1000;
    this.line.draw(done, { ...counts, rate: elapsedSeconds > 0 ? Math.round(done / elapsedSeconds) : 0 });
  }

  /** Prints a line above the progress line, or returns false when no progress line is shown and the caller must print it. */
  log(line: string): boolean {
    return this.line.log(line);
  }

  /** Prints the lines still queued and removes the progress line. */
  stop(): void {
    this.line.stop();
  }
}
