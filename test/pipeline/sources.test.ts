import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionsError, SourceError } from '../../src/errors.js';
import { readMessages, type ReadMessagesOptions, type SourcedMessage, type SourcedRaw } from '../../src/pipeline/sources.js';

const MESSAGE_A = 'From: alice@example.com\nTo: bob@example.com\nSubject: first\n\nHello Bob.\n';
const MESSAGE_B = 'From: carol@example.com\nTo: bob@example.com\nSubject: second\n\nLine one.\n\nLine three.\n';
const MESSAGE_C = 'From: dave@example.com\nSubject: third\n\nBye.\n';

let root: string;

async function collect(inputs: string[], options?: ReadMessagesOptions): Promise<SourcedMessage[]> {
  const items: SourcedMessage[] = [];
  for await (const item of readMessages(inputs, options)) items.push(item);
  return items;
}

function raws(items: SourcedMessage[]): SourcedRaw[] {
  return items.filter((item): item is SourcedRaw => 'raw' in item);
}

function errorOf(item: SourcedMessage | undefined): SourceError | undefined {
  return item !== undefined && 'error' in item ? item.error : undefined;
}

function texts(items: SourcedMessage[]): string[] {
  return raws(items).map((item) => item.raw.toString('latin1'));
}

async function put(relative: string, content: string | Buffer): Promise<string> {
  const file = path.join(root, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

/** Joins messages into an mbox with `From ` separators and a blank line after each message. */
function mbox(messages: string[], newline = '\n'): string {
  return messages.map((message, index) => `From sender${index}@example.com Mon Jan  6 10:00:00 2025${newline}${message}${newline}`).join('');
}

/** Returns a stream that delivers `content` in chunks of `size` bytes, to cross every boundary. */
function chunked(content: string | Buffer, size: number): Readable {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content, 'latin1');
  const chunks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(bytes.subarray(start, start + size));
  return Readable.from(chunks);
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-sources-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readMessages single files', () => {
  it('reads an eml file whole', async () => {
    const file = await put('single/a.eml', MESSAGE_A);
    const items = await collect([file]);
    expect(items).toHaveLength(1);
    expect(items[0]).toEqual({ source: file, path: file, raw: Buffer.from(MESSAGE_A), size: MESSAGE_A.length, truncated: false });
  });

  it('truncates a long message and counts its size', async () => {
    const file = await put('single/long.eml', MESSAGE_A + 'x'.repeat(5000));
    const [item] = raws(await collect([file], { maxMessageBytes: 100 }));
    expect(item?.raw.length).toBe(100);
    expect(item?.size).toBe(MESSAGE_A.length + 5000);
    expect(item?.truncated).toBe(true);
    expect(item?.raw.toString()).toBe((MESSAGE_A + 'x'.repeat(5000)).slice(0, 100));
  });

  it('reports an empty file', async () => {
    const file = await put('single/empty.eml', '');
    const items = await collect([file]);
    expect(items).toHaveLength(1);
    const error = errorOf(items[0]);
    expect(error).toBeInstanceOf(SourceError);
    expect(error?.message).toContain('is empty');
    expect(error?.input).toBe(file);
  });

  it('reads a gzip-compressed eml', async () => {
    const file = await put('single/a.eml.gz', gzipSync(MESSAGE_A));
    const items = await collect([file]);
    expect(texts(items)).toEqual([MESSAGE_A]);
    expect(items[0]?.source).toBe(file);
  });

  it('reports a truncated gzip file', async () => {
    const compressed = gzipSync(MESSAGE_A + 'y'.repeat(2000));
    const file = await put('single/cut.eml.gz', compressed.subarray(0, compressed.length - 20));
    const items = await collect([file]);
    expect(items).toHaveLength(1);
    const error = errorOf(items[0]);
    expect(error?.code).toBe('SPAMWARD_SOURCE_FAILED');
    expect(error?.message).toContain('gzip data ends early');
    expect(error?.input).toBe(file);
  });
});

describe('readMessages errors', () => {
  it('reports a missing path and goes on', async () => {
    const missing = path.join(root, 'no-such-file.eml');
    const file = await put('errors/ok.eml', MESSAGE_A);
    const items = await collect([missing, file]);
    expect(items).toHaveLength(2);
    const first = items[0]!;
    expect(errorOf(first)?.code).toBe('SPAMWARD_SOURCE_FAILED');
    expect(errorOf(first)?.input).toBe(missing);
    expect(errorOf(first)?.message).toContain('does not exist');
    expect(texts(items)).toEqual([MESSAGE_A]);
  });

  // Root reads files whatever their mode, so chmod 000 blocks nothing when the tests run as root.
  it.skipIf(process.getuid?.() === 0)('reports an unreadable file', async () => {
    const file = await put('errors/locked.eml', MESSAGE_A);
    await chmod(file, 0o000);
    try {
      const items = await collect([file]);
      expect(items).toHaveLength(1);
      expect(errorOf(items[0])?.message).toContain('permission denied');
    } finally {
      await chmod(file, 0o644);
    }
  });

  it('reports a dangling link in a folder', async () => {
    const folder = path.join(root, 'errors/dangling');
    await mkdir(folder, { recursive: true });
    await symlink(path.join(folder, 'gone.eml'), path.join(folder, 'a.eml'));
    await put('errors/dangling/b.eml', MESSAGE_B);
    const items = await collect([folder]);
    expect(items).toHaveLength(2);
    expect(items[0]?.source).toBe(path.join(folder, 'a.eml'));
    expect(errorOf(items[0])?.message).toContain('not found');
    expect(texts(items)).toEqual([MESSAGE_B]);
  });

  it('ends on a symlink loop', async () => {
    const folder = path.join(root, 'errors/loop');
    await put('errors/loop/a.eml', MESSAGE_A);
    await symlink(folder, path.join(folder, 'again'));
    expect(texts(await collect([folder]))).toEqual([MESSAGE_A]);
  });

  it('rejects an invalid maxMessageBytes', async () => {
    await expect(collect(['-'], { maxMessageBytes: 0 })).rejects.toBeInstanceOf(OptionsError);
    await expect(collect(['-'], { maxMessageBytes: 1.5 })).rejects.toBeInstanceOf(OptionsError);
  });

  it('aborts a read that waits for data', async () => {
    const stdin = new PassThrough();
    stdin.write('From: a@example.com\n');
    const controller = new AbortController();
    const pending = collect(['-'], { stdin, signal: controller.signal });
    setImmediate(() => controller.abort(new Error('stopped while waiting')));
    await expect(pending).rejects.toThrow('stopped while waiting');
  });

  it('throws the abort reason', async () => {
    const file = await put('errors/abort.eml', MESSAGE_A);
    const controller = new AbortController();
    controller.abort(new Error('stopped by test'));
    await expect(collect([file], { signal: controller.signal })).rejects.toThrow('stopped by test');
  });
});

describe('readMessages folders', () => {
  it('walks nested folders in sorted order', async () => {
    await put('tree/b.eml', MESSAGE_B);
    await put('tree/a.eml', MESSAGE_A);
    await put('tree/notes.txt', 'not a message');
    await put('tree/.hidden.eml', MESSAGE_C);
    await put('tree/sub/deeper/c.EML', MESSAGE_C);
    await put('tree/sub/d.eml.gz', gzipSync(MESSAGE_A));
    const folder = path.join(root, 'tree');
    const items = await collect([folder]);
    expect(items.map((item) => path.relative(folder, item.source))).toEqual(['a.eml', 'b.eml', 'sub/d.eml.gz', 'sub/deeper/c.EML']);
    expect(texts(items)).toEqual([MESSAGE_A, MESSAGE_B, MESSAGE_A, MESSAGE_C]);
  });

  it('reads a Maildir', async () => {
    await put('maildir/cur/1700000001.M1.host:2,S', MESSAGE_A);
    await put('maildir/cur/1700000002.M2.host:2,', MESSAGE_B);
    await put('maildir/cur/.dotfile', 'skipped');
    await put('maildir/new/1700000003.M3.host', MESSAGE_C);
    await put('maildir/tmp/1700000004.M4.host', 'in delivery, skipped');
    await put('maildir/dovecot-uidlist', 'skipped');
    await put('maildir/.Sent/cur/1700000005.M5.host:2,S', MESSAGE_B);
    await mkdir(path.join(root, 'maildir/.Sent/new'), { recursive: true });
    const folder = path.join(root, 'maildir');
    const items = await collect([folder]);
    expect(items.map((item) => path.relative(folder, item.source))).toEqual([
      'cur/1700000001.M1.host:2,S',
      'cur/1700000002.M2.host:2,',
      'new/1700000003.M3.host',
      '.Sent/cur/1700000005.M5.host:2,S',
    ]);
    expect(texts(items)).toEqual([MESSAGE_A, MESSAGE_B, MESSAGE_C, MESSAGE_B]);
  });
});

describe('readMessages mbox', () => {
  it('splits an mboxo file at byte offsets', async () => {
    const quotedBody = 'From: eve@example.com\nSubject: quoted\n\n>From the start.\nFrom the middle, not after a blank line.\n';
    const content = mbox([MESSAGE_A, quotedBody, MESSAGE_B]);
    const file = await put('mbox/inbox.mbox', content);
    const items = await collect([file]);
    const bytes = Buffer.from(content, 'latin1');
    const offsets = raws(items).map((item) => item.offset);
    // Each message adds its separator line, its body and one blank line.
    const separatorLength = 'From sender0@example.com Mon Jan  6 10:00:00 2025\n'.length;
    const expectedOffsets = [0, separatorLength + MESSAGE_A.length + 1];
    expectedOffsets.push(expectedOffsets[1]! + separatorLength + quotedBody.length + 1);
    expect(offsets).toEqual(expectedOffsets);
    for (const [index, offset] of offsets.entries()) {
      expect(bytes.subarray(offset!, offset! + 12).toString()).toBe(`From sender${index}`);
    }
    expect(items.map((item) => item.source)).toEqual(expectedOffsets.map((offset) => `${file}:${offset}`));
    expect(texts(items)).toEqual([MESSAGE_A, quotedBody.replace('>From the start', 'From the start'), MESSAGE_B]);
  });

  it('unquotes mboxrd lines', async () => {
    const body = 'Subject: rd\n\n>>From twice quoted.\n>>>From three times.\n> From is not quoting.\n>Fromage is not either.\n';
    const content = `From a@example.com Mon Jan  6 10:00:00 2025\n${body}\n`;
    const file = await put('mbox/rd.mbox', content);
    expect(texts(await collect([file]))).toEqual(['Subject: rd\n\n>From twice quoted.\n>>From three times.\n> From is not quoting.\n>Fromage is not either.\n']);
  });

  it('splits CRLF mbox files', async () => {
    const crlf = (text: string): string => text.replace(/\n/g, '\r\n');
    const file = await put('mbox/crlf.mbox', mbox([crlf(MESSAGE_A), crlf(MESSAGE_B)], '\r\n'));
    expect(texts(await collect([file]))).toEqual([crlf(MESSAGE_A), crlf(MESSAGE_B)]);
  });

  it('splits the same at any chunk size', async () => {
    const content = mbox([MESSAGE_A, '\n\nSubject: blank lines first\n\n>From x\n\n\n', MESSAGE_B.replace(/\n/g, '\r\n'), MESSAGE_C]);
    const whole = await collect(['-'], { stdin: chunked(content, content.length) });
    expect(raws(whole)).toHaveLength(4);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const items = await collect(['-'], { stdin: chunked(content, size) });
      expect(items, `chunk size ${size}`).toEqual(whole);
    }
  });

  it('truncates a long mbox message and finds the next', async () => {
    const long = `Subject: long\n\n${'z'.repeat(10_000)}\n`;
    const file = await put('mbox/long.mbox', mbox([long, MESSAGE_C]));
    const items = raws(await collect([file], { maxMessageBytes: 64 }));
    expect(items).toHaveLength(2);
    expect(items[0]?.raw.toString()).toBe(long.slice(0, 64));
    expect(items[0]?.size).toBe(long.length);
    expect(items[0]?.truncated).toBe(true);
    expect(items[1]?.raw.toString()).toBe(MESSAGE_C);
    expect(items[1]?.truncated).toBe(false);
  });

  it('reports an empty mbox message', async () => {
    const content = `From a@example.com Mon Jan  6 10:00:00 2025\n\n${mbox([MESSAGE_A])}`;
    const file = await put('mbox/empty-first.mbox', content);
    const items = await collect([file]);
    expect(items).toHaveLength(2);
    expect(items[0]?.source).toBe(`${file}:0`);
    expect(errorOf(items[0])?.message).toContain('byte offset 0');
    expect(texts(items)).toEqual([MESSAGE_A]);
  });

  it('reports an mbox of one empty message', async () => {
    const file = await put('mbox/empty.mbox', 'From a@example.com Mon Jan  6 10:00:00 2025\n');
    const items = await collect([file]);
    expect(items).toHaveLength(1);
    expect(errorOf(items[0])?.message).toContain('is empty');
  });

  it('reads a gzip-compressed mbox', async () => {
    const content = mbox([MESSAGE_A, MESSAGE_B]);
    const file = await put('mbox/archive.mbox.gz', gzipSync(content));
    const items = raws(await collect([file]));
    expect(items.map((item) => item.raw.toString())).toEqual([MESSAGE_A, MESSAGE_B]);
    expect(items[1]?.offset).toBe(content.indexOf('From sender1'));
  });

  it('reports corrupt gzip after good messages', async () => {
    const filler = `Subject: filler\n\n${Array.from({ length: 4000 }, (_, i) => `line ${i} ${(i * 7919) % 1000}`).join('\n')}\n`;
    const content = mbox([MESSAGE_A, filler, MESSAGE_B]);
    const compressed = gzipSync(content);
    const file = await put('mbox/corrupt.mbox.gz', compressed.subarray(0, Math.floor(compressed.length / 2)));
    const items = await collect([file]);
    expect(texts(items)).toEqual([MESSAGE_A]);
    const last = items.at(-1)!;
    expect(errorOf(last)?.message).toContain(`byte offset ${content.indexOf('From sender1')} is incomplete`);
    expect(last.source).toBe(`${file}:${content.indexOf('From sender1')}`);
  });
});

describe('readMessages stdin', () => {
  it('reads one message from stdin', async () => {
    const items = await collect(['-'], { stdin: Readable.from([Buffer.from(MESSAGE_A)]) });
    expect(items).toEqual([{ source: '-', path: '-', raw: Buffer.from(MESSAGE_A), size: MESSAGE_A.length, truncated: false }]);
  });

  it('reads an mbox from stdin', async () => {
    const items = await collect(['-'], { stdin: Readable.from([mbox([MESSAGE_A, MESSAGE_B])]) });
    expect(texts(items)).toEqual([MESSAGE_A, MESSAGE_B]);
    expect(items[0]?.source).toBe('-:0');
  });

  it('reads gzip from stdin', async () => {
    const items = await collect(['-'], { stdin: chunked(gzipSync(MESSAGE_B), 3) });
    expect(texts(items)).toEqual([MESSAGE_B]);
  });

  it('reports stdin given twice', async () => {
    const items = await collect(['-', '-'], { stdin: Readable.from([Buffer.from(MESSAGE_A)]) });
    expect(texts(items)).toEqual([MESSAGE_A]);
    expect(items).toHaveLength(2);
    expect(errorOf(items[1])?.message).toContain('more than once');
  });

  it('reports empty stdin', async () => {
    const items = await collect(['-'], { stdin: Readable.from([]) });
    expect(items).toHaveLength(1);
    expect(errorOf(items[0])?.input).toBe('-');
  });
});
