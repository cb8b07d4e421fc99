/**
 * Splitting an mbox stream into messages while it streams. A message starts
 * at a `From ` line at the start of the stream or after an empty line; one
 * `>` is removed from quoted `>From ` lines.
 */

/**
 * Deepest `>` quoting of a `From ` line that is still unquoted. A line with
 * more `>` characters is kept as written, which bounds the bytes held back
 * while a line start is undecided.
 */
const MAX_FROM_QUOTE_DEPTH = 1024;
export const FROM_LINE = Buffer.from('From ', 'latin1');
const LF = 0x0a;
const CR = 0x0d;
const GREATER_THAN = 0x3e;
const CAPITAL_F = 0x46;

/** Bytes of one message, kept up to a limit and counted beyond it. */
export class MessageBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  size = 0;

  constructor(
    readonly offset: number | undefined,
    private readonly maxBytes: number,
  ) {}

  append(bytes: Buffer): void {
    this.size += bytes.length;
    const room = this.maxBytes - this.kept;
    if (room <= 0 || bytes.length === 0) return;
    const slice = bytes.length > room ? bytes.subarray(0, room) : bytes;
    this.chunks.push(slice);
    this.kept += slice.length;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }

  get truncated(): boolean {
    return this.size > this.kept;
  }
}

/** Returns true or false when `data` at `position` does or does not start with `From `, or undefined when the data ends first. */
function matchesFromLine(data: Buffer, position: number): boolean | undefined {
  const available = Math.min(FROM_LINE.length, data.length - position);
  if (data.compare(FROM_LINE, 0, available, position, position + available) !== 0) return false;
  return available === FROM_LINE.length ? true : undefined;
}

type LineStart = 'blank' | 'separator' | 'quoted' | 'content' | 'undecided';

/**
 * Classifies the line that starts at `position`. A `From ` line is a
 * separator only at the start of the stream or after a blank line. A line
 * matching /^>+From / is quoted in mboxrd and loses one `>`.
 */
function classifyLineStart(data: Buffer, position: number, afterBlank: boolean): LineStart {
  const first = data[position];
  if (first === LF) return 'blank';
  if (first === CR) {
    if (position + 1 >= data.length) return 'undecided';
    return data[position + 1] === LF ? 'blank' : 'content';
  }
  if (first === CAPITAL_F) {
    const match = matchesFromLine(data, position);
    if (match === undefined) return 'undecided';
    return match && afterBlank ? 'separator' : 'content';
  }
  if (first === GREATER_THAN) {
    let end = position;
    while (end < data.length && data[end] === GREATER_THAN && end - position <= MAX_FROM_QUOTE_DEPTH) end += 1;
    if (end - position > MAX_FROM_QUOTE_DEPTH) return 'content';
    if (end === data.length) return 'undecided';
    const match = matchesFromLine(data, end);
    if (match === undefined) return 'undecided';
    return match ? 'quoted' : 'content';
  }
  return 'content';
}

/**
 * Splits an mbox stream into messages while it streams. Memory stays within
 * one message's kept bytes plus one chunk. The blank line before each
 * separator, and the one at the end of the file, belong to the mbox format
 * and are removed from the message.
 *
 * NOTE: mboxo and mboxrd cannot be distinguished by their content, so every
 * line matching /^>+From / loses one `>`. In an mboxo file this also changes
 * a body line that was written as `>From ` by its sender.
 */
export class MboxSplitter {
  private current: MessageBuffer | null = null;
  private pending: Buffer | null = null;
  private heldBlank: Buffer | null = null;
  private mode: 'lineStart' | 'content' | 'separator' = 'lineStart';
  private afterBlank = true;
  /** Stream offset of the next byte pushed, not counting `pending`. */
  private position = 0;
  private finished: MessageBuffer[] = [];

  constructor(private readonly maxBytes: number) {}

  /** Offset of the message being read, or undefined before the first separator. */
  get currentOffset(): number | undefined {
    return this.current?.offset;
  }

  /** Stream offset of the next byte expected. */
  get bytesRead(): number {
    return this.position;
  }

  push(chunk: Buffer): MessageBuffer[] {
    let data = chunk;
    let base = this.position;
    if (this.pending !== null) {
      data = Buffer.concat([this.pending, chunk]);
      base -= this.pending.length;
      this.pending = null;
    }
    this.position += chunk.length;
    this.scan(data, base, false);
    return this.takeFinished();
  }

  end(): MessageBuffer[] {
    if (this.pending !== null) {
      const data = this.pending;
      this.pending = null;
      this.scan(data, this.position - data.length, true);
    }
    this.heldBlank = null;
    if (this.current !== null) this.finished.push(this.current);
    this.current = null;
    return this.takeFinished();
  }

  private takeFinished(): MessageBuffer[] {
    const finished = this.finished;
    this.finished = [];
    return finished;
  }

  private releaseHeldBlank(): void {
    if (this.heldBlank === null) return;
    this.current?.append(this.heldBlank);
    this.heldBlank = null;
  }

  /** Walks `data`, whose first byte is at stream offset `base`. Content bytes are appended in runs, not line by line. */
  private scan(data: Buffer, base: number, atEnd: boolean): void {
    let position = 0;
    let runStart = -1;
    const flushRun = (end: number): void => {
      if (runStart !== -1 && end > runStart) this.current?.append(data.subarray(runStart, end));
      runStart = -1;
    };

    while (position < data.length) {
      if (this.mode !== 'lineStart') {
        const newline = data.indexOf(LF, position);
        if (this.mode === 'content' && runStart === -1) runStart = position;
        position = newline === -1 ? data.length : newline + 1;
        if (newline !== -1) this.mode = 'lineStart';
        continue;
      }

      let kind = classifyLineStart(data, position, this.afterBlank);
      if (kind === 'undecided') {
        if (!atEnd) {
          flushRun(position);
          this.pending = Buffer.from(data.subarray(position));
          return;
        }
        kind = 'content';
      }

      if (kind === 'blank') {
        const length = data[position] === CR ? 2 : 1;
        flushRun(position);
        this.releaseHeldBlank();
        this.heldBlank = Buffer.from(data.subarray(position, position + length));
        this.afterBlank = true;
        position += length;
        continue;
      }

      this.afterBlank = false;
      if (kind === 'separator') {
        flushRun(position);
        this.heldBlank = null;
        if (this.current !== null) this.finished.push(this.current);
        this.current = new MessageBuffer(base + position, this.maxBytes);
        this.mode = 'separator';
        continue;
      }

      this.mode = 'content';
      if (kind === 'quoted') {
        flushRun(position);
        this.releaseHeldBlank();
        position += 1;
        runStart = position;
        continue;
      }
      if (this.heldBlank !== null) this.releaseHeldBlank();
      if (runStart === -1) runStart = position;
    }
    flushRun(data.length);
  }
}

