import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeedbackInputError, FeedbackStoreError, openFeedbackStore, reportFeedback, type FeedbackReport, type FeedbackStore, type FeedbackStoreOptions } from '../../src/feedback/index.js';

let root: string;
let folderCount = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-feedback-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function message(n: number): Buffer {
  return Buffer.from(`From: sender${n}@example.com\r\nTo: admin@example.com\r\nSubject: Offer ${n}\r\n\r\nBody ${n}.\r\n`);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface OpenedStore {
  store: FeedbackStore;
  dir: string;
  warnings: string[];
}

async function openStore(options: FeedbackStoreOptions = {}): Promise<OpenedStore> {
  folderCount += 1;
  const dir = path.join(root, `store-${folderCount}`);
  const warnings: string[] = [];
  const store = await openFeedbackStore(dir, { logger: { warn: (text) => warnings.push(text) }, ...options });
  return { store, dir, warnings };
}

async function indexLines(dir: string): Promise<string[]> {
  return (await readFile(path.join(dir, 'index.jsonl'), 'utf8')).split('\n');
}

describe('add', () => {
  it('stores a new message and its report', async () => {
    const { store, dir } = await openStore();
    const raw = message(1);
    const result = await store.add(raw, 'spam', { reason: 'phishing', reporter: 'alice', source: 'q/1.eml', time: new Date('2026-01-02T03:04:05Z') });

    expect(result).toEqual({ sha256: sha256(raw), duplicate: false, previousLabel: null, outcome: 'new' });
    const copy = store.messagePath(result.sha256);
    expect(copy).toBe(path.join(dir, 'messages', result.sha256.slice(0, 2), `${result.sha256}.eml`));
    expect(await readFile(copy)).toEqual(raw);
    const lines = await indexLines(dir);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    const report = JSON.parse(lines[0] ?? '') as FeedbackReport;
    expect(report).toEqual({ time: '2026-01-02T03:04:05.000Z', sha256: result.sha256, label: 'spam', reason: 'phishing', reporter: 'alice', source: 'q/1.eml', size: raw.length });
  });

  it('keeps one copy of a duplicate', async () => {
    const { store, dir } = await openStore();
    const raw = message(2);
    const first = await store.add(raw, 'spam');
    const before = await stat(store.messagePath(first.sha256));
    const second = await store.add(Buffer.from(raw), 'spam', { reporter: 'bob' });

    expect(second).toEqual({ sha256: first.sha256, duplicate: true, previousLabel: 'spam', outcome: 'duplicate' });
    const after = await stat(store.messagePath(first.sha256));
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect((await indexLines(dir)).filter((line) => line !== '')).toHaveLength(2);
  });

  it('relabels with history kept', async () => {
    const { store } = await openStore();
    const raw = message(3);
    await store.add(raw, 'spam', { reason: 'looked like spam' });
    const relabel = await store.add(raw, 'ham', { reason: 'newsletter the user subscribed to' });
    const again = await store.add(raw, 'ham');

    expect(relabel.outcome).toBe('relabelled');
    expect(relabel.previousLabel).toBe('spam');
    expect(relabel.duplicate).toBe(true);
    expect(again.outcome).toBe('duplicate');
    const entries = await store.list();
    expect(entries).toHaveLength(1);
    const entry = entries[0];
    expect(entry?.label).toBe('ham');
    expect(entry?.reports).toBe(3);
    expect(entry?.history.map((report) => report.label)).toEqual(['spam', 'ham', 'ham']);
    expect(entry?.history[1]?.reason).toBe('newsletter the user subscribed to');
    expect(entry?.status).toBe('ok');
    expect(entry?.problem).toBeNull();
  });

  it('lists messages in order of first report', async () => {
    const { store } = await openStore();
    const results = [];
    for (const n of [10, 11, 12]) results.push(await store.add(message(n), n === 11 ? 'ham' : 'spam'));
    await store.add(message(10), 'ham');

    const entries = await store.list();
    expect(entries.map((entry) => entry.sha256)).toEqual(results.map((result) => result.sha256));
    expect(entries.map((entry) => entry.label)).toEqual(['ham', 'ham', 'spam']);
  });

  it('rejects an empty message', async () => {
    const { store, dir } = await openStore();
    const error = await store.add(Buffer.alloc(0), 'spam', { source: 'empty.eml' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FeedbackInputError);
    expect((error as FeedbackInputError).input).toBe('empty.eml');
    expect((error as Error).message).toContain('empty.eml is empty');
    await expect(stat(path.join(dir, 'index.jsonl'))).rejects.toThrow();
  });

  it('rejects a message over the limit', async () => {
    const { store } = await openStore({ maxMessageBytes: 20 });
    const error = await store.add(message(4), 'spam', { source: 'big.eml' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FeedbackInputError);
    expect((error as Error).message).toMatch(/big\.eml is \d+ bytes, over the feedback limit of 20 bytes/);
    expect(await store.list()).toEqual([]);
    const small = await store.add(Buffer.from('Subject: x\r\n\r\nhi\r\n'), 'ham');
    expect(small.outcome).toBe('new');
  });

  it('rejects an invalid label, time and field', async () => {
    const { store } = await openStore({ maxFieldLength: 10 });
    await expect(store.add(message(5), 'junk' as 'spam')).rejects.toThrow(/Invalid feedback label "junk"/);
    await expect(store.add(message(5), 'spam', { time: 'yesterday' })).rejects.toThrow(/not a valid date: yesterday/);
    await expect(store.add(message(5), 'spam', { reason: 'x'.repeat(11) })).rejects.toThrow(/reason .* 11 characters long, over the limit of 10/);
    await expect(store.add('text' as unknown as Buffer, 'spam')).rejects.toThrow(FeedbackInputError);
    expect(await store.list()).toEqual([]);
  });

  it('rejects an invalid option', async () => {
    await expect(openStore({ maxMessageBytes: 0 })).rejects.toThrow(/maxMessageBytes must be a positive integer, got 0/);
  });
});

describe('concurrency', () => {
  it('serialises concurrent adds', async () => {
    const { store, dir } = await openStore();
    const labels = ['spam', 'ham'] as const;
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => store.add(message(100 + (i % 20)), labels[i % 2] ?? 'spam')));

    expect(results.filter((result) => result.outcome === 'new')).toHaveLength(20);
    const lines = (await indexLines(dir)).filter((line) => line !== '');
    expect(lines).toHaveLength(60);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    const entries = await store.list();
    expect(entries).toHaveLength(20);
    expect(entries.every((entry) => entry.reports === 3 && entry.status === 'ok')).toBe(true);
  });

  it('sees reports from another store', async () => {
    const first = await openStore();
    const second = await openFeedbackStore(first.dir);
    const raw = message(30);
    await first.store.add(raw, 'spam');
    const result = await second.add(raw, 'ham');
    expect(result.previousLabel).toBe('spam');
    expect(result.outcome).toBe('relabelled');
  });
});

describe('torn index', () => {
  it('skips a partial last line', async () => {
    const { store, dir, warnings } = await openStore();
    await store.add(message(40), 'spam');
    await appendFile(path.join(dir, 'index.jsonl'), '{"time":"2026-01-01T00:00:00.000Z","sha256":"ab');

    const reopenedWarnings: string[] = [];
    const reopened = await openFeedbackStore(dir, { logger: { warn: (text) => reopenedWarnings.push(text) } });
    expect(await reopened.list()).toHaveLength(1);
    expect(await reopened.list()).toHaveLength(1);
    expect(reopenedWarnings).toHaveLength(1);
    expect(reopenedWarnings[0]).toMatch(/ends with a partial line of \d+ bytes/);
    expect(warnings).toEqual([]);
  });

  it('starts the next add on a new line', async () => {
    const { store, dir, warnings } = await openStore();
    const first = await store.add(message(41), 'spam');
    await appendFile(path.join(dir, 'index.jsonl'), '{"time":"2026-01-01T00:00:00.000Z","sha256":"ab');

    const second = await store.add(message(42), 'ham');
    const relabel = await store.add(message(41), 'ham');
    expect(relabel.previousLabel).toBe('spam');

    const lines = (await indexLines(dir)).filter((line) => line !== '');
    expect(lines).toHaveLength(4);
    expect(lines[1]).toBe('{"time":"2026-01-01T00:00:00.000Z","sha256":"ab');
    const entries = await store.list();
    expect(entries.map((entry) => [entry.sha256, entry.label])).toEqual([
      [first.sha256, 'ham'],
      [second.sha256, 'ham'],
    ]);
    // The partial line is reported once, when add() first read it, and not again by list().
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('partial line');
  });

  it('skips an invalid line in the middle', async () => {
    const { store, dir, warnings } = await openStore();
    await store.add(message(43), 'spam');
    await appendFile(path.join(dir, 'index.jsonl'), 'not json\n{"sha256":"00"}\n\n');
    await store.add(message(44), 'ham');

    const entries = await store.list();
    expect(entries).toHaveLength(2);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('is not valid JSON');
    expect(warnings[1]).toContain('has no valid sha256');
  });
});

describe('copy checks', () => {
  it('flags a missing copy', async () => {
    const { store } = await openStore();
    const result = await store.add(message(50), 'spam');
    await unlink(store.messagePath(result.sha256));

    const entry = await store.get(result.sha256);
    expect(entry?.status).toBe('missing');
    expect(entry?.problem).toContain('is missing');
  });

  it('flags a changed copy and repairs it', async () => {
    const { store } = await openStore();
    const raw = message(51);
    const result = await store.add(raw, 'spam');
    await writeFile(store.messagePath(result.sha256), 'tampered');

    const [entry] = await store.list();
    expect(entry?.status).toBe('mismatch');
    expect(entry?.problem).toContain('no longer matches its name');
    const [unverified] = await store.list({ verify: false });
    expect(unverified?.status).toBe('mismatch');

    await store.add(raw, 'spam');
    expect((await store.get(result.sha256))?.status).toBe('ok');
  });

  it('returns null for an unknown digest', async () => {
    const { store } = await openStore();
    expect(await store.get('0'.repeat(64))).toBeNull();
  });

  it('rejects an invalid digest', async () => {
    const { store } = await openStore();
    expect(() => store.messagePath('../../etc/passwd')).toThrow(FeedbackInputError);
    await expect(store.get('abc')).rejects.toThrow(/Invalid message digest "abc"/);
  });
});

describe('open', () => {
  it('rejects a missing folder without create', async () => {
    const dir = path.join(root, 'never-created');
    const error = await openFeedbackStore(dir, { create: false }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FeedbackStoreError);
    expect((error as Error).message).toContain('does not exist');
  });

  it('rejects a file as folder', async () => {
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    await expect(openFeedbackStore(file)).rejects.toThrow(/is not a folder/);
  });

  it('lists an empty store', async () => {
    const { store } = await openStore();
    expect(await store.list()).toEqual([]);
  });
});

describe('reportFeedback', () => {
  it('reads a stream', async () => {
    const { store } = await openStore();
    const raw = message(60);
    const result = await reportFeedback(store, Readable.from([raw.subarray(0, 10), raw.subarray(10)]), 'spam', { source: 'stream' });
    expect(result.sha256).toBe(sha256(raw));
    expect(await readFile(store.messagePath(result.sha256))).toEqual(raw);
  });

  it('rejects an oversized stream', async () => {
    const { store } = await openStore({ maxMessageBytes: 16 });
    const promise = reportFeedback(store, Readable.from([Buffer.alloc(10, 0x41), Buffer.alloc(10, 0x41)]), 'spam', { source: 'stream' });
    await expect(promise).rejects.toThrow(/stream is 20 bytes, over the feedback limit of 16 bytes/);
    expect(await store.list()).toEqual([]);
  });

  it('reads a string', async () => {
    const { store } = await openStore();
    const result = await reportFeedback(store, message(61).toString('utf8'), 'ham');
    expect(result.sha256).toBe(sha256(message(61)));
  });
});
