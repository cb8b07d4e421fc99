/**
 * Message sources: turns paths and standard input into raw messages, one at
 * a time and in a deterministic order. Single-message files, mbox files,
 * folders of .eml files and Maildir folders are read, each optionally
 * gzip-compressed. Only small files of a folder are read whole: mbox files
 * are split while they stream, and every message is capped at
 * `maxMessageBytes`.
 */
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { describeError, OptionsError, SourceError } from '../errors.js';
import { DEFAULT_PARSE_LIMITS } from '../parse/limits.js';
import { FROM_LINE, MboxSplitter, MessageBuffer } from './mbox.js';

/** The input name that reads standard input. */
export const STDIN_INPUT = '-';

/** Files read while walking a folder that is not a Maildir; other files are skipped. */
const MESSAGE_FILE_NAME = /\.(?:eml|mbox)(?:\.gz)?$/i;
/** Maildir subfolders that contain delivered messages, in reading order. `tmp` contains deliveries in progress and is skipped. */
const MAILDIR_MESSAGE_FOLDERS = ['cur', 'new'] as const;
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** Files of a folder up to this many bytes are read whole with blocking calls; larger ones stream. */
const SMALL_FILE_BYTES = 256 * 1024;

/** A message read from a source. */
export interface SourcedRaw {
  /** The path, or `path:offset` for a message of an mbox; `-` is standard input. */
  source: string;
  /** The file the message came from, or `-`. */
  path: string;
  /** Byte offset of the message's `From ` line in the (decompressed) mbox stream. */
  offset?: number;
  /** The message bytes, at most `maxMessageBytes` long. The mbox `From ` line is not included. */
  raw: Buffer;
  /** Full size of the message in bytes, counted even when `raw` was truncated. */
  size: number;
  /** True when the message was longer than `maxMessageBytes` and `raw` holds only its start. */
  truncated: boolean;
}

/** A path, file or message that could not be read. Reading goes on with the next one. */
export interface SourcedFailure {
  source: string;
  path: string;
  offset?: number;
  /** Names the path and what is wrong. Its `cause` is the system or zlib error, when there was one. */
  error: SourceError;
}

export type SourcedMessage = SourcedRaw | SourcedFailure;

export interface ReadMessagesOptions {
  /**
   * Bytes kept per message. The rest of a longer message is read and counted
   * but not kept, and the item is marked `truncated`. Default 10 MiB
   * (10,485,760), the parser's own `maxMessageBytes`.
   *
   * NOTE: the rest is still read to count the size and find the next mbox
   * message, so a gzip input that expands enormously costs decompression time
   * in proportion to its expanded size, though not memory.
   */
  maxMessageBytes?: number;
  /** Stops reading, also a read that waits for data. The generator then throws the signal's reason. */
  signal?: AbortSignal;
  /** The stream read for the input `-`. Default `process.stdin`. */
  stdin?: Readable;
}

interface ReadContext {
  maxMessageBytes: number;
  signal: AbortSignal | undefined;
  stdin: Readable | undefined;
  stdinRead: boolean;
  /** Folders already walked for the current input, as `device:inode`, so symlink loops end. */
  visitedFolders: Set<string>;
}

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

async function* asBuffers(stream: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<Buffer> {
  for await (const chunk of stream) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else if (Buffer.isBuffer(chunk)) yield chunk;
    else yield Buffer.from(chunk);
  }
}

/** Reads chunks until `head` is at least `count` bytes long or the stream ends. */
async function readHead(iterator: AsyncIterator<Buffer>, count: number, head: Buffer): Promise<{ head: Buffer; ended: boolean }> {
  const chunks = [head];
  let length = head.length;
  while (length < count) {
    const next = await iterator.next();
    if (next.done === true) return { head: Buffer.concat(chunks, length), ended: true };
    chunks.push(next.value);
    length += next.value.length;
  }
  return { head: Buffer.concat(chunks, length), ended: false };
}

/** Yields `head`, then the rest of `iterator`. */
async function* replay(head: Buffer, iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return;
    yield next.value;
  }
}

/** Describes a system or zlib error in the usual words. */
function describeReadFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'Z_BUF_ERROR':
      return 'gzip data ends early (the file is truncated)';
    case 'Z_DATA_ERROR':
      return `invalid gzip data (${describeError(error)})`;
    default:
      return describeError(error);
  }
}

function failure(name: string, message: string, cause?: unknown, offset?: number): SourcedFailure {
  const source = offset === undefined ? name : `${name}:${offset}`;
  const error = new SourceError(message, { input: source, cause });
  return offset === undefined ? { source, path: name, error } : { source, path: name, offset, error };
}

function readFailure(name: string, cause: unknown): SourcedFailure {
  return failure(name, `Cannot read ${name}: ${describeReadFailure(cause)}.`, cause);
}

function toSourced(name: string, message: MessageBuffer): SourcedMessage {
  if (message.size === 0) {
    return message.offset === undefined
      ? failure(name, `${name} is empty, so it contains no message.`)
      : failure(name, `The mbox message at byte offset ${message.offset} of ${name} is empty.`, undefined, message.offset);
  }
  const item: SourcedRaw = {
    source: message.offset === undefined ? name : `${name}:${message.offset}`,
    path: name,
    raw: message.toBuffer(),
    size: message.size,
    truncated: message.truncated,
  };
  if (message.offset !== undefined) item.offset = message.offset;
  return item;
}

/**
 * Reads one stream: gunzips it when it starts with the gzip magic bytes,
 * then splits it as an mbox when it starts with `From `, or else reads it as
 * one message. A read error becomes a failure item for the message being read.
 */
async function* readStream(name: string, stream: Readable, context: ReadContext): AsyncGenerator<SourcedMessage> {
  // Destroying the stream on abort also ends a read that waits for data, such as stdin from a terminal.
  if (context.signal !== undefined) addAbortSignal(context.signal, stream);
  const input = asBuffers(stream);
  let body: AsyncIterator<Buffer> = input;
  let gunzip: Readable | null = null;
  let splitter: MboxSplitter | null = null;
  let message: MessageBuffer | null = null;
  try {
    let { head, ended } = await readHead(input, GZIP_MAGIC.length, Buffer.alloc(0));
    if (startsWith(head, GZIP_MAGIC)) {
      gunzip = pipeline(Readable.from(replay(head, input)), createGunzip(), () => {});
      body = asBuffers(gunzip);
      head = Buffer.alloc(0);
      ended = false;
    }
    if (!ended) ({ head, ended } = await readHead(body, FROM_LINE.length, head));

    if (startsWith(head, FROM_LINE)) {
      splitter = new MboxSplitter(context.maxMessageBytes);
      for (const finished of splitter.push(head)) yield toSourced(name, finished);
    } else {
      message = new MessageBuffer(undefined, context.maxMessageBytes);
      message.append(head);
    }
    while (!ended) {
      context.signal?.throwIfAborted();
      const next = await body.next();
      if (next.done === true) break;
      if (splitter !== null) {
        for (const finished of splitter.push(next.value)) yield toSourced(name, finished);
      } else {
        message?.append(next.value);
      }
    }
    if (splitter !== null) {
      for (const finished of splitter.end()) yield toSourced(name, finished);
    } else if (message !== null) {
      yield toSourced(name, message);
    }
  } catch (error) {
    // The stream was destroyed by the abort; report the caller's reason, not the stream's AbortError.
    context.signal?.throwIfAborted();
    const offset = splitter?.currentOffset;
    if (splitter !== null && offset !== undefined) {
      const reason = describeReadFailure(error);
      yield failure(name, `Cannot read ${name} past byte ${splitter.bytesRead}: ${reason}. The mbox message at byte offset ${offset} is incomplete.`, error, offset);
    } else {
      yield readFailure(name, error);
    }
  } finally {
    await body.return?.();
    if (body !== input) await input.return(undefined);
    gunzip?.destroy();
  }
}

async function* readFile(file: string, context: ReadContext): AsyncGenerator<SourcedMessage> {
  context.signal?.throwIfAborted();
  yield* readStream(file, createReadStream(file), context);
}

/**
 * Reads a file whole, with blocking calls, when it has at most
 * SMALL_FILE_BYTES. Returns null for a larger file and for one that cannot
 * be read, which then streams, so the stream read reports the error. For a
 * message file of a few kilobytes, the four system calls cost far less than
 * the round trips of a stream through the thread pool.
 */
function readSmallFile(file: string): Buffer | null {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(file, 'r');
    if (fstatSync(descriptor).size > SMALL_FILE_BYTES) return null;
    return readFileSync(descriptor);
  } catch {
    return null;
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/** Reads one file of a folder: whole when it is small, else as a stream. */
async function* readFolderFile(file: string, context: ReadContext): AsyncGenerator<SourcedMessage> {
  context.signal?.throwIfAborted();
  const bytes = readSmallFile(file);
  if (bytes === null) yield* readFile(file, context);
  else yield* readStream(file, Readable.from(bytes.length > 0 ? [bytes] : []), context);
}

function compareNames(a: Dirent, b: Dirent): number {
  if (a.name < b.name) return -1;
  return a.name > b.name ? 1 : 0;
}

async function listFolder(folder: string): Promise<Dirent[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries.sort(compareNames);
}

function isMaildir(entries: Dirent[]): boolean {
  return MAILDIR_MESSAGE_FOLDERS.every((name) => entries.some((entry) => entry.name === name && entry.isDirectory()));
}

type EntryKind = 'folder' | 'file' | 'other';

/** Resolves symbolic links, so a link to a file or folder counts as one. */
async function kindOf(fullPath: string, entry: Dirent): Promise<EntryKind> {
  if (entry.isSymbolicLink()) {
    const target = await stat(fullPath);
    if (target.isDirectory()) return 'folder';
    return target.isFile() ? 'file' : 'other';
  }
  if (entry.isDirectory()) return 'folder';
  return entry.isFile() ? 'file' : 'other';
}

/** Returns false when the folder was walked already for this input (a symlink loop or a second link). */
async function markVisited(folder: string, context: ReadContext): Promise<boolean> {
  const info = await stat(folder);
  const key = `${info.dev}:${info.ino}`;
  if (context.visitedFolders.has(key)) return false;
  context.visitedFolders.add(key);
  return true;
}

/**
 * Reads a Maildir: every regular file in cur/ and then new/, skipping
 * dotfiles, and then each Maildir++ subfolder (a dot-named folder that is a
 * Maildir itself). tmp/ and other entries are skipped.
 */
async function* readMaildir(folder: string, entries: Dirent[], context: ReadContext): AsyncGenerator<SourcedMessage> {
  for (const name of MAILDIR_MESSAGE_FOLDERS) {
    const messageFolder = path.join(folder, name);
    let files: Dirent[];
    try {
      files = await listFolder(messageFolder);
    } catch (error) {
      yield readFailure(messageFolder, error);
      continue;
    }
    for (const file of files) {
      if (file.name.startsWith('.')) continue;
      const filePath = path.join(messageFolder, file.name);
      try {
        if ((await kindOf(filePath, file)) !== 'file') continue;
      } catch (error) {
        yield readFailure(filePath, error);
        continue;
      }
      yield* readFolderFile(filePath, context);
    }
  }
  for (const entry of entries) {
    if (!entry.name.startsWith('.') || !entry.isDirectory()) continue;
    const subfolder = path.join(folder, entry.name);
    try {
      const subEntries = await listFolder(subfolder);
      if (!isMaildir(subEntries) || !(await markVisited(subfolder, context))) continue;
      yield* readMaildir(subfolder, subEntries, context);
    } catch (error) {
      yield readFailure(subfolder, error);
    }
  }
}

/**
 * Walks a folder in sorted order. A Maildir is read as one; otherwise files
 * named *.eml or *.mbox (optionally .gz) are read, subfolders are walked,
 * and dot-named entries are skipped.
 */
async function* readFolder(folder: string, context: ReadContext): AsyncGenerator<SourcedMessage> {
  context.signal?.throwIfAborted();
  let entries: Dirent[];
  try {
    if (!(await markVisited(folder, context))) return;
    entries = await listFolder(folder);
  } catch (error) {
    yield readFailure(folder, error);
    return;
  }
  if (isMaildir(entries)) {
    yield* readMaildir(folder, entries, context);
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const entryPath = path.join(folder, entry.name);
    let kind: EntryKind;
    try {
      kind = await kindOf(entryPath, entry);
    } catch (error) {
      // A dangling link or an entry removed since the listing. Report it only when it looked like a message.
      if (MESSAGE_FILE_NAME.test(entry.name)) yield readFailure(entryPath, error);
      continue;
    }
    if (kind === 'folder') yield* readFolder(entryPath, context);
    else if (kind === 'file' && MESSAGE_FILE_NAME.test(entry.name)) yield* readFolderFile(entryPath, context);
  }
}

async function* readInput(input: string, context: ReadContext): AsyncGenerator<SourcedMessage> {
  if (input === STDIN_INPUT) {
    if (context.stdinRead) {
      yield failure(input, 'Standard input (-) was given more than once; it is read only the first time.');
      return;
    }
    context.stdinRead = true;
    yield* readStream(input, context.stdin ?? process.stdin, context);
    return;
  }
  let info;
  try {
    info = await stat(input);
  } catch (error) {
    const notFound = (error as { code?: unknown }).code === 'ENOENT';
    yield notFound ? failure(input, `Input path does not exist: ${input}.`, error) : readFailure(input, error);
    return;
  }
  context.visitedFolders = new Set();
  if (info.isDirectory()) yield* readFolder(input, context);
  else yield* readFile(input, context);
}

/**
 * Reads messages from each input in turn. An input is `-` (standard input),
 * a file, or a folder. A file contains one message, or is an mbox when its
 * first line starts with `From `. Any file may be gzip-compressed, which is
 * detected by its magic bytes. Folders are walked recursively in sorted
 * order. A Maildir (a folder with cur/ and new/) yields every regular file in
 * cur/ and new/. Other folders yield their *.eml and *.mbox files, also with
 * a .gz suffix. Dot-named entries are skipped.
 *
 * Errors never stop the generator. An unreadable path, a missing input, a
 * corrupt gzip stream or an empty message becomes a `SourcedFailure` item.
 * Its SourceError has the code `SPAMWARD_SOURCE_FAILED` and the path in
 * `input`, and reading goes on with the next file or input. The generator
 * throws only an OptionsError for an invalid `maxMessageBytes`, and the
 * signal's reason when `signal` aborts.
 */
export async function* readMessages(inputs: string[], options: ReadMessagesOptions = {}): AsyncGenerator<SourcedMessage> {
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_PARSE_LIMITS.maxMessageBytes;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1) {
    throw new OptionsError(`maxMessageBytes must be a positive integer, got ${JSON.stringify(maxMessageBytes)}.`, { input: 'maxMessageBytes' });
  }
  const context: ReadContext = {
    maxMessageBytes,
    signal: options.signal,
    stdin: options.stdin,
    stdinRead: false,
    visitedFolders: new Set(),
  };
  for (const input of inputs) {
    context.signal?.throwIfAborted();
    yield* readInput(input, context);
  }
}
