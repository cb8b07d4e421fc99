/**
 * Release into an mbox file: each message is appended with mboxrd quoting
 * and fsynced. An index file beside the mbox, `<mbox>.spamward-index`,
 * records each append in two fsynced lines:
 *
 *   pending <sha256> <offset>   before the append, with the mbox size
 *   done <sha256>               after the appended bytes are fsynced
 *
 * On open, a `pending` line without its `done` line is an append a crash
 * interrupted: the mbox is truncated back to the recorded offset and the
 * message counts as not released, so the rerun appends it once, whole.
 * The sha256 values of the `done` lines are the messages already in the
 * mbox, which are never appended again.
 */
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describeError, SpamwardError } from '../errors.js';
import type { ReleaseOutcome } from './release.js';
import { syncFolder } from '../durable.js';
import { completeLinesEnd } from './report.js';

/** Suffix of the index file written beside a release mbox. */
export const MBOX_INDEX_SUFFIX = '.spamward-index';
/** Envelope sender of the `From ` line; the SMTP MAIL FROM of a stored message is not known. */
const FROM_LINE_SENDER = 'MAILER-DAEMON';
const INDEX_LINE = /^(pending|done) ([0-9a-f]{64})(?: (\d+))?$/;
/** A line that mboxrd quotes: any number of `>` followed by `From `. */
const QUOTED_FROM = /^(>*From )/gm;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** The release mbox or its index is unreadable or malformed. */
export class ReleaseMboxError extends SpamwardError {
  override readonly code = 'SPAMWARD_RESCAN_RELEASE_MBOX_INVALID';
}

function pad(value: number, width = 2, fill = '0'): string {
  return String(value).padStart(width, fill);
}

/** Formats a date as asctime in UTC, as `From ` lines carry it: `Fri Dec  4 22:00:00 2026`. */
function asctime(date: Date): string {
  const weekday = WEEKDAYS[date.getUTCDay()] ?? 'Sun';
  const month = MONTHS[date.getUTCMonth()] ?? 'Jan';
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  return `${weekday} ${month} ${pad(date.getUTCDate(), 2, ' ')} ${time} ${date.getUTCFullYear()}`;
}

/**
 * Returns the mbox entry of a message: a `From ` line, the message with
 * every line matching /^>*From / quoted with one more `>` (mboxrd), a
 * final newline when the message lacks one, and the empty separator line.
 */
export function mboxEntry(raw: Buffer, date: Date): Buffer {
  const body = raw.toString('latin1').replace(QUOTED_FROM, '>$1');
  const ending = body.endsWith('\n') ? '' : '\n';
  return Buffer.from(`From ${FROM_LINE_SENDER} ${asctime(date)}\n${body}${ending}\n`, 'latin1');
}

/**
 * Throws a ReleaseMboxError when a non-empty destination does not start
 * with a `From ` line: appending mail to some other file, such as a
 * mistyped path to a document, would damage it.
 */
async function checkIsMbox(mbox: FileHandle, file: string): Promise<void> {
  const head = Buffer.alloc(5);
  const { bytesRead } = await mbox.read(head, 0, head.length, 0);
  if (bytesRead > 0 && head.subarray(0, bytesRead).toString('latin1') !== 'From '.slice(0, bytesRead)) {
    throw new ReleaseMboxError(`The release destination ${file} is not an mbox: it is not empty and does not start with a "From " line. Give a folder, or a new or existing mbox file.`, { input: file });
  }
}

/** An mbox opened for release; see the file comment for the crash-safety protocol. */
export class MboxRelease {
  /** The error of an append that failed half-way; later appends are rejected until the next open rolls it back. */
  private failure: unknown = null;

  private constructor(
    readonly file: string,
    private readonly mbox: FileHandle,
    private readonly index: FileHandle,
    private readonly released: Set<string>,
  ) {}

  /**
   * Opens `file` and its index for appending, creating both when missing,
   * and rolls back an append that a crash interrupted. Throws a
   * ReleaseMboxError when either cannot be opened or the index has a
   * complete line that is not an index line.
   */
  static async open(file: string): Promise<MboxRelease> {
    const indexFile = `${file}${MBOX_INDEX_SUFFIX}`;
    let mbox: FileHandle | null = null;
    let index: FileHandle | null = null;
    try {
      mbox = await open(file, 'a+');
      await checkIsMbox(mbox, file);
      index = await open(indexFile, 'a+');
      const released = await recover(mbox, index, indexFile);
      await syncFolder(path.dirname(path.resolve(file)));
      return new MboxRelease(file, mbox, index, released);
    } catch (error) {
      await index?.close();
      await mbox?.close();
      if (error instanceof ReleaseMboxError) throw error;
      throw new ReleaseMboxError(`Cannot open the release mbox ${file}: ${describeError(error)}`, { input: file, cause: error });
    }
  }

  /** Returns whether a message with this digest was appended by this or an earlier run. */
  has(sha256: string): boolean {
    return this.released.has(sha256);
  }

  /**
   * Appends the message unless it is in the mbox already. Throws the system
   * error when a write or fsync fails. After such a failure the index may
   * end in a `pending` line, so every later append throws a ReleaseMboxError
   * and a rerun rolls the failed append back when it opens the mbox.
   */
  async append(raw: Buffer, sha256: string, date = new Date()): Promise<ReleaseOutcome> {
    if (this.released.has(sha256)) return 'exists';
    if (this.failure !== null) {
      throw new ReleaseMboxError(`An earlier append to ${this.file} failed (${describeError(this.failure)}); rerun the rescan to roll it back and release the rest.`, { input: this.file });
    }
    try {
      const { size } = await this.mbox.stat();
      await this.index.write(`pending ${sha256} ${size}\n`);
      await this.index.sync();
      const separator = await this.missingSeparator(size);
      await this.mbox.write(Buffer.concat([separator, mboxEntry(raw, date)]));
      await this.mbox.sync();
      await this.index.write(`done ${sha256}\n`);
      await this.index.sync();
    } catch (error) {
      this.failure = error;
      throw error;
    }
    this.released.add(sha256);
    return 'written';
  }

  /** Returns the newlines needed so a `From ` line appended at `size` follows an empty line, as mbox readers expect. */
  private async missingSeparator(size: number): Promise<Buffer> {
    if (size === 0) return Buffer.alloc(0);
    const tail = Buffer.alloc(2);
    const { bytesRead } = await this.mbox.read(tail, 0, Math.min(2, size), size - Math.min(2, size));
    const last = tail.subarray(0, bytesRead).toString('latin1');
    if (last.endsWith('\n\n') || (size === 1 && last === '\n')) return Buffer.alloc(0);
    return Buffer.from(last.endsWith('\n') ? '\n' : '\n\n', 'latin1');
  }

  async close(): Promise<void> {
    await this.index.close();
    await this.mbox.close();
  }
}

/** Returns the digests of the finished appends in the index of `file`, without changing anything: what a dry run needs. */
export async function readReleasedDigests(file: string): Promise<Set<string>> {
  const released = new Set<string>();
  try {
    const lines = createInterface({ input: createReadStream(`${file}${MBOX_INDEX_SUFFIX}`), crlfDelay: Infinity });
    for await (const line of lines) {
      const match = INDEX_LINE.exec(line);
      if (match?.[1] === 'done' && match[2] !== undefined) released.add(match[2]);
    }
  } catch {
    // A missing or unreadable index means nothing was released into this mbox by a rescan.
  }
  return released;
}

/** Reads the index, cuts a partial last line, and truncates the mbox when the last append did not finish. Returns the digests of the finished appends. */
async function recover(mbox: FileHandle, index: FileHandle, indexFile: string): Promise<Set<string>> {
  const { size: indexSize } = await index.stat();
  const end = await completeLinesEnd(index, indexSize);
  const released = new Set<string>();
  let unfinished: { sha256: string; offset: number } | null = null;
  if (end > 0) {
    // Read by line from a stream, so a long index is never in memory whole.
    const lines = createInterface({ input: index.createReadStream({ start: 0, end: end - 1, autoClose: false }), crlfDelay: Infinity });
    let number = 0;
    for await (const line of lines) {
      number += 1;
      if (line === '') continue;
      const match = INDEX_LINE.exec(line);
      if (match === null) throw new ReleaseMboxError(`Release index ${indexFile} line ${number} is not an index line; restore it or release into a new mbox.`, { input: indexFile });
      const [, kind, sha256 = '', offset] = match;
      if (kind === 'pending') unfinished = { sha256, offset: Number(offset) };
      else {
        released.add(sha256);
        unfinished = null;
      }
    }
  }
  if (end < indexSize) {
    await index.truncate(end);
    await index.sync();
  }
  if (unfinished !== null) {
    const { size } = await mbox.stat();
    // NOTE: this assumes no other program appended to the mbox since the interrupted append.
    if (size > unfinished.offset) {
      await mbox.truncate(unfinished.offset);
      await mbox.sync();
    }
  }
  return released;
}
