import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFeedbackStore, type ExportedLabel, type FeedbackStore } from '../../src/feedback/index.js';
import { loadCorpusFolder } from '../../training/corpus.js';

let root: string;
let folderCount = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-feedback-export-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function message(n: number): Buffer {
  return Buffer.from(`From: sender${n}@example.com\r\nTo: admin@example.com\r\nSubject: Report ${n}\r\n\r\nBody ${n}.\r\n`);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function freshStore(): Promise<{ store: FeedbackStore; out: string }> {
  folderCount += 1;
  const store = await openFeedbackStore(path.join(root, `store-${folderCount}`), { logger: { warn: () => {} } });
  return { store, out: path.join(root, `export-${folderCount}`, 'feedback') };
}

async function readLabels(file: string): Promise<ExportedLabel[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ExportedLabel);
}

describe('export', () => {
  it('writes the label folders and labels.jsonl', async () => {
    const { store, out } = await freshStore();
    await store.add(message(1), 'spam', { reason: 'scam' });
    await store.add(message(2), 'ham');
    await store.add(message(3), 'spam');
    await store.add(message(3), 'ham', { reason: 'false positive' });

    const summary = await store.export(out);

    expect(summary.spam).toBe(1);
    expect(summary.ham).toBe(2);
    expect(summary.written).toBe(3);
    expect(summary.removed).toBe(0);
    expect(summary.skipped).toEqual([]);
    expect(summary.foreign).toEqual([]);
    expect((await readdir(path.join(out, 'spam'))).sort()).toEqual([`${sha256(message(1))}.eml`]);
    expect((await readdir(path.join(out, 'ham'))).sort()).toEqual([`${sha256(message(2))}.eml`, `${sha256(message(3))}.eml`].sort());
    expect(await readFile(path.join(out, 'spam', `${sha256(message(1))}.eml`))).toEqual(message(1));

    const labels = await readLabels(summary.labelsPath);
    expect(summary.labelsPath).toBe(path.join(out, 'labels.jsonl'));
    expect(labels.map((line) => line.file)).toEqual([`spam/${sha256(message(1))}.eml`, `ham/${sha256(message(2))}.eml`, `ham/${sha256(message(3))}.eml`]);
    expect(labels[0]?.reason).toBe('scam');
    expect(labels[2]?.reports).toBe(2);
    expect(labels[2]?.reason).toBe('false positive');
  });

  it('moves a relabelled message on re-export', async () => {
    const { store, out } = await freshStore();
    await store.add(message(4), 'spam');
    await store.add(message(5), 'spam');
    await store.export(out);
    await store.add(message(4), 'ham');

    const summary = await store.export(out);

    expect(summary.written).toBe(1);
    expect(summary.removed).toBe(1);
    expect(await readdir(path.join(out, 'spam'))).toEqual([`${sha256(message(5))}.eml`]);
    expect(await readdir(path.join(out, 'ham'))).toEqual([`${sha256(message(4))}.eml`]);
    const labels = await readLabels(summary.labelsPath);
    expect(labels.map((line) => line.label)).toEqual(['ham', 'spam']);
  });

  it('skips a missing or changed copy', async () => {
    const { store, out } = await freshStore();
    const missing = await store.add(message(6), 'spam');
    const changed = await store.add(message(7), 'spam');
    const kept = await store.add(message(8), 'ham');
    await unlink(store.messagePath(missing.sha256));
    await writeFile(store.messagePath(changed.sha256), message(70));

    const summary = await store.export(out);

    expect(summary.skipped.map((entry) => [entry.sha256, entry.status])).toEqual([
      [missing.sha256, 'missing'],
      [changed.sha256, 'mismatch'],
    ]);
    expect(summary.spam).toBe(0);
    expect(summary.ham).toBe(1);
    expect(await readdir(path.join(out, 'spam'))).toEqual([]);
    expect((await readLabels(summary.labelsPath)).map((line) => line.sha256)).toEqual([kept.sha256]);
  });

  it('reports foreign files and keeps them', async () => {
    const { store, out } = await freshStore();
    await store.add(message(9), 'ham');
    const stray = path.join(out, 'spam', 'someone-else.eml');
    await mkdir(path.dirname(stray), { recursive: true });
    await writeFile(stray, message(90));

    const summary = await store.export(out);

    expect(summary.foreign).toEqual([stray]);
    expect(await readFile(stray)).toEqual(message(90));
  });

  it('loads as a training corpus set', async () => {
    const { store, out } = await freshStore();
    await store.add(message(11), 'spam');
    await store.add(message(12), 'ham');
    await store.export(out);

    const sets = loadCorpusFolder(path.dirname(out));
    expect(sets.map((set) => set.name)).toEqual(['feedback']);
    const messages = sets[0]?.messages ?? [];
    expect(messages.map((item) => [item.label, sha256(item.raw)]).sort()).toEqual([
      ['ham', sha256(message(12))],
      ['spam', sha256(message(11))],
    ]);
  });

  it('exports an empty store', async () => {
    const { store, out } = await freshStore();
    const summary = await store.export(out);
    expect(summary.spam + summary.ham).toBe(0);
    expect(await readFile(summary.labelsPath, 'utf8')).toBe('');
  });

  it('rejects an output path that is a file', async () => {
    const { store } = await freshStore();
    await store.add(message(10), 'ham');
    const file = path.join(root, 'plain-file');
    await writeFile(file, 'x');
    await expect(store.export(file)).rejects.toThrow(/Cannot export feedback to/);
  });
});
