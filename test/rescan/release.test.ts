import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMessages, type SourcedRaw } from '../../src/pipeline/sources.js';
import { MBOX_INDEX_SUFFIX, rescan, type RescanOptions } from '../../src/rescan/index.js';
import { mboxEntry, MboxRelease, ReleaseMboxError } from '../../src/rescan/mbox-release.js';
import { run } from '../cli/capture.js';
import { killAfterRows, lineCount, readRows, runToExit } from '../helpers/rescan.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
// `npm ci` builds dist through the prepare script, so in CI a missing build is a failure, not a skip.
const skipWithoutBuild = !existsSync(MAIN) && process.env.CI === undefined;
/** Maximum wait for the spawned CLI, after which the test fails. */
const CHILD_TIMEOUT_MS = 30_000;
const ROWS_BEFORE_KILL = 20;
const KILL_TEST_MESSAGES = 400;
const DATE = new Date(Date.UTC(2026, 11, 4, 9, 5, 7));

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-release-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A message whose body has lines an mbox must quote. */
function message(n: number): string {
  return `From: sender${n}@example.com\nTo: bob@example.com\nSubject: Note ${n}\nMessage-ID: <note-${n}@example.com>\n\nHello ${n}.\nFrom here on, a quoted line:\n>From the archive\n`;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function messageFolder(name: string, count: number): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i += 1) await writeFile(path.join(folder, `${String(i).padStart(3, '0')}.eml`), message(i));
  return folder;
}

async function mboxMessages(file: string): Promise<SourcedRaw[]> {
  const items: SourcedRaw[] = [];
  for await (const item of readMessages([file])) {
    if ('error' in item) throw item.error;
    items.push(item);
  }
  return items;
}

function release(options: Omit<RescanOptions, 'scorer' | 'workers'>): ReturnType<typeof rescan> {
  return rescan({ scorer: { modelDir: null }, workers: 1, ...options });
}

describe('mbox entry', () => {
  it('quotes From lines (mboxrd)', () => {
    const entry = mboxEntry(Buffer.from('Subject: x\n\nFrom me\n>From you\n>>From them\nFromage\n'), DATE).toString('latin1');

    expect(entry).toBe('From MAILER-DAEMON Fri Dec  4 09:05:07 2026\nSubject: x\n\n>From me\n>>From you\n>>>From them\nFromage\n\n');
  });

  it('adds a missing final newline', () => {
    expect(mboxEntry(Buffer.from('Subject: x\n\nbody'), DATE).toString('latin1').endsWith('body\n\n')).toBe(true);
  });

  it('reads back as the original', async () => {
    const file = path.join(root, 'roundtrip.mbox');
    const mbox = await MboxRelease.open(file);
    for (let i = 0; i < 3; i += 1) await mbox.append(Buffer.from(message(i)), sha256(message(i)), DATE);
    await mbox.close();
    const items = await mboxMessages(file);

    expect(items.map((item) => item.raw.toString('latin1'))).toEqual([0, 1, 2].map((i) => message(i)));
  });
});

describe('mbox release', () => {
  it('appends each message once', async () => {
    const file = path.join(root, 'once.mbox');
    const mbox = await MboxRelease.open(file);
    const first = await mbox.append(Buffer.from(message(1)), sha256(message(1)));
    const again = await mbox.append(Buffer.from(message(1)), sha256(message(1)));
    await mbox.close();
    const reopened = await MboxRelease.open(file);
    const third = await reopened.append(Buffer.from(message(1)), sha256(message(1)));
    await reopened.close();

    expect([first, again, third]).toEqual(['written', 'exists', 'exists']);
    expect(await mboxMessages(file)).toHaveLength(1);
  });

  it('rejects a destination that is not an mbox', async () => {
    const file = path.join(root, 'notes.txt');
    await writeFile(file, 'shopping list\n');

    await expect(MboxRelease.open(file)).rejects.toThrow(ReleaseMboxError);
    expect(await readFile(file, 'utf8')).toBe('shopping list\n');
  });

  it('rolls back an interrupted append', async () => {
    const file = path.join(root, 'interrupted.mbox');
    const mbox = await MboxRelease.open(file);
    await mbox.append(Buffer.from(message(1)), sha256(message(1)));
    await mbox.close();
    const before = await readFile(file);
    // A crash after the pending line and part of the entry, before the done line.
    await appendFile(`${file}${MBOX_INDEX_SUFFIX}`, `pending ${sha256(message(2))} ${before.length}\n`);
    await appendFile(file, mboxEntry(Buffer.from(message(2)), DATE).subarray(0, 30));
    const reopened = await MboxRelease.open(file);

    expect(await readFile(file)).toEqual(before);
    expect(reopened.has(sha256(message(2)))).toBe(false);
    expect(await reopened.append(Buffer.from(message(2)), sha256(message(2)))).toBe('written');
    await reopened.close();
    expect((await mboxMessages(file)).map((item) => item.raw.toString('latin1'))).toEqual([message(1), message(2)]);
  });

  it('rejects appends after a failed one', async () => {
    const file = path.join(root, 'failed-append.mbox');
    const mbox = await MboxRelease.open(file);
    await mbox.append(Buffer.from(message(1)), sha256(message(1)));
    const before = await readFile(file);
    // Closing the mbox handle underneath makes the next append fail.
    await (mbox as unknown as { mbox: { close(): Promise<void> } }).mbox.close();
    await expect(mbox.append(Buffer.from(message(2)), sha256(message(2)))).rejects.toThrow();
    await expect(mbox.append(Buffer.from(message(3)), sha256(message(3)))).rejects.toThrow('rerun the rescan to roll it back');
    await (mbox as unknown as { index: { close(): Promise<void> } }).index.close();
    const reopened = await MboxRelease.open(file);
    const appended = await reopened.append(Buffer.from(message(2)), sha256(message(2)));
    await reopened.close();

    expect(appended).toBe('written');
    expect((await readFile(file)).subarray(0, before.length)).toEqual(before);
    expect((await mboxMessages(file)).map((item) => item.raw.toString('latin1'))).toEqual([message(1), message(2)]);
  });

  it('rejects a corrupt index', async () => {
    const file = path.join(root, 'corrupt-index.mbox');
    await writeFile(`${file}${MBOX_INDEX_SUFFIX}`, 'garbage line\n');

    await expect(MboxRelease.open(file)).rejects.toThrow('line 1 is not an index line');
  });

  it('separates from a foreign last message', async () => {
    const file = path.join(root, 'foreign.mbox');
    await writeFile(file, 'From someone Fri Dec  4 09:00:00 2026\nSubject: old\n\nno final newline');
    const mbox = await MboxRelease.open(file);
    await mbox.append(Buffer.from(message(3)), sha256(message(3)));
    await mbox.close();
    const items = await mboxMessages(file);

    expect(items).toHaveLength(2);
    expect(items[1]?.raw.toString('latin1')).toBe(message(3));
  });

  it('releases a rescan into an mbox', async () => {
    const folder = await messageFolder('to-mbox', 3);
    const target = path.join(root, 'released.mbox');
    const report = path.join(root, 'to-mbox.jsonl');
    const dry = await release({ inputs: [folder], report, release: { below: 100, destination: target } });
    const applied = await release({ inputs: [folder], report, release: { below: 100, destination: target, apply: true } });
    const rerun = await release({ inputs: [folder], report, release: { below: 100, destination: target, apply: true } });

    expect(dry.wouldRelease).toBe(3);
    expect(applied.released).toBe(3);
    expect(rerun.released).toBe(0);
    expect(rerun.alreadyReleased).toBe(3);
    expect((await mboxMessages(target)).map((item) => item.raw.toString('latin1'))).toEqual([0, 1, 2].map((i) => message(i)));
  });

  it('treats an existing file as an mbox', async () => {
    const folder = await messageFolder('existing', 1);
    const target = path.join(root, 'existing-target');
    await writeFile(target, '');
    const summary = await release({ inputs: [folder], report: path.join(root, 'existing.jsonl'), release: { below: 100, destination: target, apply: true } });

    expect(summary.released).toBe(1);
    expect((await mboxMessages(target)).map((item) => item.raw.toString('latin1'))).toEqual([message(0)]);
  });
});

describe('move', () => {
  it('removes released originals', async () => {
    const folder = await messageFolder('move', 2);
    const target = path.join(root, 'move-out');
    const summary = await release({ inputs: [folder], report: path.join(root, 'move.jsonl'), release: { below: 100, destination: target, apply: true, move: true } });

    expect(summary.moved).toBe(2);
    expect(await readdir(folder)).toEqual([]);
    expect((await readdir(target)).sort()).toEqual([0, 1].map((i) => `${sha256(message(i))}.eml`).sort());
  });

  it('keeps originals in a dry run', async () => {
    const folder = await messageFolder('move-dry', 2);
    const planned: (string | undefined)[] = [];
    await release({
      inputs: [folder],
      report: path.join(root, 'move-dry.jsonl'),
      release: { below: 100, destination: path.join(root, 'move-dry-out'), move: true },
      onMessage: (event) => {
        planned.push(event.release?.move);
      },
    });

    expect(planned).toEqual(['planned', 'planned']);
    expect(await readdir(folder)).toHaveLength(2);
  });

  it('refuses messages inside an mbox', async () => {
    const source = path.join(root, 'source-dir');
    await mkdir(source);
    const mbox = path.join(source, 'quarantine.mbox');
    await writeFile(mbox, [0, 1].map((i) => `From x Fri Dec  4 09:00:00 2026\n${message(i)}\n`).join(''));
    const before = await readFile(mbox);
    const summary = await release({ inputs: [mbox], report: path.join(root, 'move-mbox.jsonl'), release: { below: 100, destination: path.join(root, 'move-mbox-out'), apply: true, move: true } });

    expect(summary.released).toBe(2);
    expect(summary.moved).toBe(0);
    expect(summary.notMoved).toBe(2);
    expect(await readFile(mbox)).toEqual(before);
  });

  it('removes a one-message file with a From line', async () => {
    const folder = path.join(root, 'from-line');
    await mkdir(folder);
    await writeFile(path.join(folder, 'one.eml'), `From x Fri Dec  4 09:00:00 2026\n${message(0)}`);
    const summary = await release({ inputs: [folder], report: path.join(root, 'from-line.jsonl'), release: { below: 100, destination: path.join(root, 'from-line-out'), apply: true, move: true } });

    expect(summary.moved).toBe(1);
    expect(await readdir(folder)).toEqual([]);
  });

  it('keeps a one-message mbox file', async () => {
    const folder = path.join(root, 'one-mbox');
    await mkdir(folder);
    await writeFile(path.join(folder, 'one.mbox'), `From x Fri Dec  4 09:00:00 2026\n${message(0)}`);
    const summary = await release({ inputs: [folder], report: path.join(root, 'one-mbox.jsonl'), release: { below: 100, destination: path.join(root, 'one-mbox-out'), apply: true, move: true } });

    expect(summary.released).toBe(1);
    expect(summary.notMoved).toBe(1);
    expect(await readdir(folder)).toEqual(['one.mbox']);
  });

  it('skips messages that do not qualify', async () => {
    const folder = await messageFolder('move-keep', 1);
    const summary = await release({ inputs: [folder], report: path.join(root, 'move-keep.jsonl'), release: { below: -1000, destination: path.join(root, 'move-keep-out'), apply: true, move: true } });

    expect(summary.moved).toBe(0);
    expect(await readdir(folder)).toHaveLength(1);
  });

  it('needs release options on the command line', async () => {
    const result = await run(['rescan', root, '--report', path.join(root, 'move-usage.jsonl'), '--move']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--move needs --release-below and --release-to');
  });
});

describe.skipIf(skipWithoutBuild)('mbox release after SIGKILL', () => {
  it('appends each message exactly once', { timeout: 3 * CHILD_TIMEOUT_MS }, async () => {
    const folder = await messageFolder('killed', KILL_TEST_MESSAGES);
    const report = path.join(root, 'killed.jsonl');
    const target = path.join(root, 'killed-out.mbox');
    const args = [MAIN, 'rescan', folder, '--report', report, '--workers', '2', '--release-below', '100', '--release-to', target, '--yes'];

    const killedBy = await killAfterRows(args, report, ROWS_BEFORE_KILL, CHILD_TIMEOUT_MS);
    expect(killedBy).toBe('SIGKILL');
    expect(await lineCount(report)).toBeLessThan(KILL_TEST_MESSAGES);

    const code = await runToExit(args);
    expect(code).toBe(0);

    const rows = await readRows(report);
    expect(rows).toHaveLength(KILL_TEST_MESSAGES);
    const released = (await mboxMessages(target)).map((item) => item.raw.toString('latin1'));
    expect(released).toHaveLength(KILL_TEST_MESSAGES);
    expect(new Set(released).size).toBe(KILL_TEST_MESSAGES);
    const expected = new Set(Array.from({ length: KILL_TEST_MESSAGES }, (_, i) => message(i)));
    expect(released.filter((text) => !expected.has(text))).toEqual([]);
    const index = await readFile(`${target}${MBOX_INDEX_SUFFIX}`, 'utf8');
    expect(index.split('\n').filter((line) => line.startsWith('done '))).toHaveLength(KILL_TEST_MESSAGES);
    expect((await stat(target)).size).toBeGreaterThan(0);
  });
});
