/**
 * The progress line of `spamward rescan` on a terminal: messages done, rate,
 * estimated time left and counts per verdict. The estimate compares the
 * bytes of the messages done with the total size of the input files, found
 * by a quick walk of the inputs before the run. That walk gives no total for
 * standard input and gzip files, and then the line shows no estimate.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { ProgressLine } from './progress.js';

/** Entries the size walk visits before it gives up on a total; it runs before the first message is scored. */
const MAX_WALK_ENTRIES = 1_000_000;
const PROGRESS_FORMAT = 'Rescanning: {value} messages | {rate}/s | {timeLeft} | ham {ham} | suspect {suspect} | spam {spam} | errors {errors}';
/** The files a folder walk reads, as readMessages picks them: .eml and .mbox. Gzip files have no known expanded size. */
const MESSAGE_FILE = /\.(?:eml|mbox)$/i;
const GZIP_FILE = /\.gz$/i;

export interface ProgressCounts {
  ham: number;
  suspect: number;
  spam: number;
  errors: number;
}

interface Walk {
  bytes: number;
  entries: number;
  unknown: boolean;
}

async function walkFolder(folder: string, walk: Walk, all: boolean): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return;
  }
  const maildir = ['cur', 'new'].every((name) => entries.some((entry) => entry.name === name && entry.isDirectory()));
  for (const entry of entries) {
    walk.entries += 1;
    if (walk.entries > MAX_WALK_ENTRIES) {
      walk.unknown = true;
      return;
    }
    const full = path.join(folder, entry.name);
    if (maildir && (entry.name === 'cur' || entry.name === 'new')) await walkFolder(full, walk, true);
    else if (entry.name.startsWith('.') && !(maildir && entry.isDirectory())) continue;
    else if (entry.isDirectory()) await walkFolder(full, walk, false);
    else if (entry.isFile() && GZIP_FILE.test(entry.name) && (all || MESSAGE_FILE.test(entry.name.replace(GZIP_FILE, '')))) walk.unknown = true;
    else if (entry.isFile() && (all || MESSAGE_FILE.test(entry.name))) walk.bytes += (await stat(full).catch(() => ({ size: 0 }))).size;
    if (walk.unknown) return;
  }
}

/**
 * Estimates the bytes the inputs contain, or returns null when it cannot:
 * for standard input, gzip files, or more than 1,000,000 folder entries.
 * Symbolic links inside folders are not followed, so the estimate may fall
 * short of what readMessages reads.
 */
export async function estimateInputBytes(inputs: readonly string[]): Promise<number | null> {
  const walk: Walk = { bytes: 0, entries: 0, unknown: false };
  for (const input of inputs) {
    if (input === '-') return null;
    const info = await stat(input).catch(() => null);
    if (info === null) continue;
    if (info.isDirectory()) await walkFolder(input, walk, false);
    else if (GZIP_FILE.test(input)) walk.unknown = true;
    else walk.bytes += info.size;
    if (walk.unknown) return null;
  }
  return walk.bytes;
}

function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const hours = Math.floor(whole / 3600);
  const minutes = Math.floor((whole % 3600) / 60);
  const rest = whole % 60;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

/** A progress line on a terminal; when `enabled` is false every method is a no-op. */
export class RescanProgress {
  private readonly line: ProgressLine;
  private readonly startedAt = performance.now();
  private totalBytes: number | null = null;
  private doneBytes = 0;

  constructor(stream: Writable, enabled: boolean) {
    this.line = new ProgressLine(stream, enabled, PROGRESS_FORMAT);
  }

  /** Sets the size of the inputs in bytes, or null when unknown. */
  setTotalBytes(total: number | null): void {
    this.totalBytes = total;
  }

  /** Counts one message of `size` bytes and redraws. */
  update(counts: ProgressCounts, size: number): void {
    if (!this.line.enabled) return;
    this.doneBytes += size;
    const done = counts.ham + counts.suspect + counts.spam + counts.errors;
    const elapsedSeconds = (performance.now() - this.startedAt) / 1000;
    this.line.draw(done, { ...counts, rate: elapsedSeconds > 0 ? Math.round(done / elapsedSeconds) : 0, timeLeft: this.timeLeft(elapsedSeconds) });
  }

  /** Estimates the time left from the bytes done so far, such as `ETA 2m 05s (by bytes)`. */
  private timeLeft(elapsedSeconds: number): string {
    if (this.totalBytes === null || this.doneBytes === 0) return 'ETA unknown';
    const remaining = Math.max(0, this.totalBytes - this.doneBytes);
    return `ETA ${formatDuration((elapsedSeconds * remaining) / this.doneBytes)} (by bytes)`;
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
