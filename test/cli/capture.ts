import { Readable, Writable } from 'node:stream';
import { runCli, type CliIo } from '../../src/cli/run.js';

/** A writable stream that keeps everything written to it. */
export class CapturedStream extends Writable {
  text = '';
  isTTY: boolean;
  columns = 120;

  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions extends Partial<Omit<CliIo, 'isTTY'>> {
  stdinText?: string | Buffer;
  isTTY?: Partial<CliIo['isTTY']>;
}

/** Runs the CLI in-process with captured stdout and stderr. */
export async function run(argv: string[], options: RunOptions = {}): Promise<CliRun> {
  const stdout = new CapturedStream(options.isTTY?.stdout ?? false);
  const stderr = new CapturedStream(options.isTTY?.stderr ?? false);
  const stdin = options.stdin ?? Readable.from(options.stdinText === undefined ? [] : [Buffer.from(options.stdinText)]);
  const io: CliIo = {
    stdin,
    stdout: options.stdout ?? stdout,
    stderr: options.stderr ?? stderr,
    isTTY: { stdout: options.isTTY?.stdout ?? false, stderr: options.isTTY?.stderr ?? false },
  };
  if (options.signal !== undefined) io.signal = options.signal;
  if (options.createScorer !== undefined) io.createScorer = options.createScorer;
  const code = await runCli(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Parses JSON Lines output into objects. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Parses RFC 4180 CSV: quoted fields may hold commas, CRLF and doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const character = text[i];
    if (quoted) {
      if (character === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (character === '"') {
        quoted = false;
      } else {
        field += character;
      }
    } else if (character === '"') {
      quoted = true;
    } else if (character === ',') {
      row.push(field);
      field = '';
    } else if (character === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else {
      field += character;
    }
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}
