import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resolveFeedbackDir } from '../../src/cli/feedback.js';
import { openFeedbackStore } from '../../src/feedback/index.js';
import { jsonLines, run } from './capture.js';

const SHA256_LINE = /^[0-9a-f]{64} (spam|ham ) (new|duplicate|relabelled) +\S/;

let root: string;
let caseCount = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-cli-feedback-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

function message(n: number): string {
  return `From: sender${n}@example.com\nTo: admin@example.com\nSubject: Report ${n}\nMessage-ID: <report-${n}@example.com>\n\nBody of message ${n}.\n`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Creates a folder for one test and returns it with a feedback folder path inside it. */
async function caseFolder(): Promise<{ folder: string; dir: string }> {
  caseCount += 1;
  const folder = path.join(root, `case-${caseCount}`);
  await mkdir(folder, { recursive: true });
  return { folder, dir: path.join(folder, 'feedback') };
}

async function put(file: string, content: string | Buffer): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

function outputLines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

describe('feedback add', () => {
  it('adds a folder and an mbox past a bad input', async () => {
    const { folder, dir } = await caseFolder();
    const emlFolder = path.join(folder, 'reported');
    await put(path.join(emlFolder, 'a.eml'), message(1));
    await put(path.join(emlFolder, 'b.eml'), message(2));
    const mbox = await put(path.join(folder, 'missed.mbox'), `From alice@example.com Thu Jan  1 00:00:00 2026\n${message(3)}\nFrom bob@example.com Thu Jan  1 00:00:00 2026\n${message(4)}`);
    const broken = await put(path.join(folder, 'broken.eml.gz'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]));
    const missing = path.join(folder, 'missing.eml');

    const result = await run(['feedback', 'add', '--label', 'spam', '--reason', 'missed phishing', '--reporter', 'alice', '--dir', dir, emlFolder, broken, missing, mbox]);

    expect(result.code).toBe(1);
    const lines = outputLines(result.stdout);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(SHA256_LINE);
    expect(lines[0]).toBe(`${sha256(message(1))} spam new        ${path.join(emlFolder, 'a.eml')}`);
    expect(lines[2]).toContain(`${mbox}:0`);
    expect(result.stderr).toContain(broken);
    expect(result.stderr).toContain(`Input path does not exist: ${missing}`);
    expect(result.stderr).toContain(`Stored 4 reports in ${dir}: 4 new, 0 duplicate, 0 relabelled; 2 failed.`);

    const entries = await (await openFeedbackStore(dir)).list();
    expect(entries).toHaveLength(4);
    expect(entries[0]?.history[0]).toMatchObject({ label: 'spam', reason: 'missed phishing', reporter: 'alice', source: path.join(emlFolder, 'a.eml') });
  });

  it('prints duplicate and relabelled', async () => {
    const { folder, dir } = await caseFolder();
    const file = await put(path.join(folder, 'one.eml'), message(5));
    await run(['feedback', 'add', '--label', 'spam', '--dir', dir, file]);

    const duplicate = await run(['feedback', 'add', '--label', 'spam', '--dir', dir, file]);
    const relabel = await run(['feedback', 'add', '--label', 'ham', '--dir', dir, file]);

    expect(duplicate.code).toBe(0);
    expect(duplicate.stdout).toContain(' spam duplicate ');
    expect(relabel.code).toBe(0);
    expect(relabel.stdout).toContain(' ham  relabelled ');
    expect(relabel.stderr).toContain('0 new, 0 duplicate, 1 relabelled; 0 failed.');
  });

  it('rejects an oversized message and goes on', async () => {
    const { folder, dir } = await caseFolder();
    const small = await put(path.join(folder, 'small.eml'), 'Subject: hi\n\nx\n');
    const large = await put(path.join(folder, 'large.eml'), message(6));

    const result = await run(['feedback', 'add', '--label', 'ham', '--max-message-bytes', '40', '--dir', dir, large, small]);

    expect(result.code).toBe(1);
    expect(outputLines(result.stdout)).toHaveLength(1);
    expect(result.stderr).toContain(`Message ${large} is ${Buffer.byteLength(message(6))} bytes, over the feedback limit of 40 bytes`);
  });

  it('rejects an empty file', async () => {
    const { folder, dir } = await caseFolder();
    const empty = await put(path.join(folder, 'empty.eml'), '');
    const result = await run(['feedback', 'add', '--label', 'spam', '--dir', dir, empty]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${empty} is empty`);
  });

  it('reads stdin', async () => {
    const { dir } = await caseFolder();
    const result = await run(['feedback', 'add', '--label', 'spam', '--dir', dir, '-'], { stdinText: message(7) });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${sha256(message(7))} spam new        -\n`);
  });

  it('exits 130 when interrupted', async () => {
    const { folder, dir } = await caseFolder();
    const file = await put(path.join(folder, 'late.eml'), message(14));
    const controller = new AbortController();
    controller.abort();
    const result = await run(['feedback', 'add', '--label', 'spam', '--dir', dir, file], { signal: controller.signal });
    expect(result.code).toBe(130);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('interrupted. Stored 0 reports');
  });

  it('requires a valid label', async () => {
    const { folder, dir } = await caseFolder();
    const file = await put(path.join(folder, 'x.eml'), message(8));
    const missing = await run(['feedback', 'add', '--dir', dir, file]);
    const invalid = await run(['feedback', 'add', '--label', 'junk', '--dir', dir, file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--label <label>' not specified");
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('Allowed choices are spam, ham');
  });

  it('uses SPAMWARD_FEEDBACK_DIR', async () => {
    const { folder, dir } = await caseFolder();
    const file = await put(path.join(folder, 'env.eml'), message(9));
    vi.stubEnv('SPAMWARD_FEEDBACK_DIR', dir);
    const result = await run(['feedback', 'add', '--label', 'spam', file]);
    expect(result.code).toBe(0);
    expect(await readdir(path.join(dir, 'messages'))).toEqual([sha256(message(9)).slice(0, 2)]);
  });
});

describe('resolveFeedbackDir', () => {
  it('prefers flag, then env, then default', () => {
    expect(resolveFeedbackDir('/a', { SPAMWARD_FEEDBACK_DIR: '/b' })).toBe('/a');
    expect(resolveFeedbackDir(undefined, { SPAMWARD_FEEDBACK_DIR: '/b' })).toBe('/b');
    expect(resolveFeedbackDir(undefined, { SPAMWARD_FEEDBACK_DIR: ' ' })).toBe('./feedback');
    expect(resolveFeedbackDir(undefined, {})).toBe('./feedback');
  });
});

describe('feedback list', () => {
  async function reportedFolder(): Promise<string> {
    const { folder, dir } = await caseFolder();
    const spam = await put(path.join(folder, 'spam.eml'), message(10));
    const ham = await put(path.join(folder, 'ham.eml'), message(11));
    await run(['feedback', 'add', '--label', 'spam', '--dir', dir, spam, ham]);
    await run(['feedback', 'add', '--label', 'ham', '--reason', 'newsletter', '--dir', dir, ham]);
    return dir;
  }

  it('prints jsonl', async () => {
    const dir = await reportedFolder();
    const result = await run(['feedback', 'list', '--format', 'jsonl', '--dir', dir]);

    expect(result.code).toBe(0);
    const rows = jsonLines(result.stdout);
    expect(rows.map((row) => [row.sha256, row.label, row.reports, row.status])).toEqual([
      [sha256(message(10)), 'spam', 1, 'ok'],
      [sha256(message(11)), 'ham', 2, 'ok'],
    ]);
    expect((rows[1]?.history as { reason: string | null }[]).map((report) => report.reason)).toEqual([null, 'newsletter']);
    expect(result.stderr).toContain(`2 messages in ${dir}: 1 spam, 1 ham; 0 with a missing or changed copy.`);
  });

  it('prints a table', async () => {
    const dir = await reportedFolder();
    const result = await run(['feedback', 'list', '--format', 'table', '--dir', dir]);

    expect(result.code).toBe(0);
    const lines = outputLines(result.stdout);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^SHA256 +LABEL +REPORTS +LAST REPORTED +STATUS +SOURCE$/);
    expect(lines[1]).toMatch(new RegExp(`^${sha256(message(10))}  spam   1 +\\S+Z  ok +\\S+spam\\.eml$`));
    expect(lines[2]).toMatch(/ ham +2 /);
  });

  it('defaults to jsonl off a terminal', async () => {
    const dir = await reportedFolder();
    const result = await run(['feedback', 'list', '--dir', dir]);
    expect(jsonLines(result.stdout)).toHaveLength(2);
  });

  it('flags a damaged copy', async () => {
    const dir = await reportedFolder();
    const store = await openFeedbackStore(dir);
    await writeFile(store.messagePath(sha256(message(10))), 'changed');

    const result = await run(['feedback', 'list', '--format', 'jsonl', '--dir', dir]);

    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout)[0]?.status).toBe('mismatch');
    expect(result.stderr).toContain('no longer matches its name');
  });

  it('fails on a missing folder', async () => {
    const { dir } = await caseFolder();
    const result = await run(['feedback', 'list', '--dir', dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Feedback folder ${dir} does not exist`);
    expect(result.stdout).toBe('');
  });
});

describe('feedback export', () => {
  it('writes the labelled folder', async () => {
    const { folder, dir } = await caseFolder();
    const spam = await put(path.join(folder, 'spam.eml'), message(12));
    const ham = await put(path.join(folder, 'ham.eml'), message(13));
    await run(['feedback', 'add', '--label', 'spam', '--dir', dir, spam]);
    await run(['feedback', 'add', '--label', 'ham', '--dir', dir, ham]);
    const out = path.join(folder, 'corpus', 'feedback');

    const result = await run(['feedback', 'export', '--out', out, '--dir', dir]);

    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Exported 2 messages to ${out}: 1 spam, 1 ham; 2 written; 0 skipped.`);
    expect(await readdir(path.join(out, 'spam'))).toEqual([`${sha256(message(12))}.eml`]);
    expect(await readdir(path.join(out, 'ham'))).toEqual([`${sha256(message(13))}.eml`]);
    expect(jsonLines(await readFile(path.join(out, 'labels.jsonl'), 'utf8'))).toHaveLength(2);
  });

  it('requires --out', async () => {
    const result = await run(['feedback', 'export']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '--out <dir>' not specified");
  });
});

describe('feedback help', () => {
  it('states the default folder', async () => {
    const result = await run(['feedback', 'add', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('SPAMWARD_FEEDBACK_DIR');
    expect(result.stdout).toContain('./feedback');
  });
});
