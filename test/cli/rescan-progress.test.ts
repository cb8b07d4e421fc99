import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateInputBytes, RescanProgress } from '../../src/cli/rescan-progress.js';
import { CapturedStream } from './capture.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-progress-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('input size estimate', () => {
  it('sums message files', async () => {
    const folder = path.join(root, 'sum');
    await mkdir(path.join(folder, 'sub'), { recursive: true });
    await writeFile(path.join(folder, 'a.eml'), 'x'.repeat(100));
    await writeFile(path.join(folder, 'sub', 'b.mbox'), 'x'.repeat(50));
    await writeFile(path.join(folder, 'notes.txt'), 'x'.repeat(1000));
    await writeFile(path.join(folder, '.hidden.eml'), 'x'.repeat(1000));
    const single = path.join(root, 'single.eml');
    await writeFile(single, 'x'.repeat(7));

    expect(await estimateInputBytes([folder, single])).toBe(157);
  });

  it('reads a Maildir whole', async () => {
    const maildir = path.join(root, 'maildir');
    for (const name of ['cur', 'new', 'tmp']) await mkdir(path.join(maildir, name), { recursive: true });
    await writeFile(path.join(maildir, 'cur', '1:2,S'), 'x'.repeat(30));
    await writeFile(path.join(maildir, 'new', '2'), 'x'.repeat(12));

    expect(await estimateInputBytes([maildir])).toBe(42);
  });

  it('gives no total for stdin or gzip', async () => {
    const folder = path.join(root, 'gzip');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'a.eml.gz'), 'x');

    expect(await estimateInputBytes(['-'])).toBeNull();
    expect(await estimateInputBytes([folder])).toBeNull();
  });
});

describe('progress line', () => {
  it('shows the estimate by bytes', () => {
    const stream = new CapturedStream(true);
    const progress = new RescanProgress(stream, true);
    progress.setTotalBytes(1000);
    const counts = { ham: 0, suspect: 0, spam: 0, errors: 0 };
    for (let i = 0; i < 8; i += 1) {
      counts.ham += 1;
      progress.update(counts, 50);
    }
    progress.stop();

    expect(stream.text).toMatch(/Rescanning: \d+ messages \| \d+\/s \| ETA \d+s \(by bytes\) \| ham \d+/);
  });

  it('says when the total is unknown', () => {
    const stream = new CapturedStream(true);
    const progress = new RescanProgress(stream, true);
    progress.setTotalBytes(null);
    const counts = { ham: 0, suspect: 0, spam: 3, errors: 4 };
    progress.update(counts, 10);
    progress.stop();

    expect(stream.text).toContain('ETA unknown');
    expect(stream.text).toContain('errors 4');
  });

  it('prints nothing off a terminal', () => {
    const stream = new CapturedStream(false);
    const progress = new RescanProgress(stream, false);
    progress.update({ ham: 100, suspect: 0, spam: 0, errors: 0 }, 10);
    progress.stop();

    expect(stream.text).toBe('');
  });
});
