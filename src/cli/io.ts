/** The streams the CLI runs on, and its exit statuses. */
import type { Readable, Writable } from 'node:stream';
import type { Scorer, ScorerOptions } from '../pipeline/scorer.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** 128 + SIGINT, as shells report a process ended by Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** The process's streams, injectable for tests. */
export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Whether stdout and stderr are terminals; this picks the default format and turns on the progress line. */
  isTTY: { stdout: boolean; stderr: boolean };
  /** Aborting it stops the scan after the current message; main.ts aborts on SIGINT. */
  signal?: AbortSignal;
  /** Replaces createScorer, for tests of failures the real scorer does not produce. */
  createScorer?: (options: ScorerOptions) => Promise<Scorer>;
}

/** Resolves when a stream that refused a write drains, errors or closes, whichever comes first. */
export function waitForDrain(stream: Writable): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}
