import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionsError, ParseError } from '../../src/errors.js';
import { createScorer as realCreateScorer, type Scorer, type ScorerOptions } from '../../src/pipeline/scorer.js';
import { rescan, RescanReportError, type RescanOptions, type RescanRow } from '../../src/rescan/index.js';
import { readRows } from '../helpers/rescan.js';

const HEURISTICS_ONLY = { modelDir: null };
const HAM = 'From: alice@example.com\nTo: bob@example.com\nSubject: Lunch {n}\nMessage-ID: <lunch-{n}@example.com>\nDate: Fri, 4 Dec 2026 10:00:00 +0000\n\nShall we meet at noon?\n';
const SPAM =
  'From: winner@example.com\nTo: bob@example.com\nSubject: FREE MONEY!!! CLAIM YOUR PRIZE NOW!!!\nMessage-ID: <prize@example.com>\n' +
  'MIME-Version: 1.0\nContent-Type: text/html\n\n<html><body><a href="http://192.0.2.7/claim">CLICK HERE</a> to claim your FREE $1,000,000 prize!!! ' +
  'Act now, limited time, 100% guaranteed, no credit check!!!</body></html>\n';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes a folder of `count` ham messages, one spam message and one empty (unreadable) message. */
async function quarantine(name: string, count = 3): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i += 1) await writeFile(path.join(folder, `ham-${i}.eml`), HAM.replaceAll('{n}', String(i)));
  await writeFile(path.join(folder, 'spam.eml'), SPAM);
  await writeFile(path.join(folder, 'empty.eml'), '');
  return folder;
}

function run(options: Omit<RescanOptions, 'scorer'>): ReturnType<typeof rescan> {
  return rescan({ scorer: HEURISTICS_ONLY, workers: 1, ...options });
}

describe('rescan scoring', () => {
  it('records a scoring error', async () => {
    const folder = await quarantine('scoring', 2);
    const report = path.join(root, 'scoring.jsonl');
    const createScorer = async (options: ScorerOptions): Promise<Scorer> => {
      const real = await realCreateScorer(options);
      return {
        ...real,
        modelVersion: real.modelVersion,
        modelError: real.modelError,
        score: async (raw) => {
          if (String(raw).includes('Lunch 1')) throw new ParseError('fake parse failure');
          return real.score(raw);
        },
        close: () => real.close(),
        dnsStats: () => real.dnsStats(),
      };
    };
    const summary = await rescan({ inputs: [folder], report, scorer: HEURISTICS_ONLY, createScorer });
    const rows = await readRows(report);

    const failed = rows.find((row) => row.source === path.join(folder, 'ham-1.eml'));
    expect(failed?.error).toEqual({ code: 'SPAMWARD_PARSE_FAILED', message: 'fake parse failure' });
    expect(failed?.sha256).toBe(sha256(HAM.replaceAll('{n}', '1')));
    expect(summary.errors).toBe(2);
    expect(rows).toHaveLength(4);
  });
});

describe('rescan report', () => {
  it('writes one row per folder message', async () => {
    const folder = await quarantine('folder');
    const report = path.join(root, 'folder.jsonl');
    const summary = await run({ inputs: [folder], report });
    const rows = await readRows(report);

    expect(rows).toHaveLength(5);
    const ham = rows.find((row) => row.source === path.join(folder, 'ham-0.eml'));
    expect(ham?.sha256).toBe(sha256(HAM.replaceAll('{n}', '0')));
    expect(ham?.messageId).toBe('lunch-0@example.com');
    expect(ham?.verdict).toBe('ham');
    expect(typeof ham?.score).toBe('number');
    expect(ham?.error).toBeNull();
    const spam = rows.find((row) => row.source === path.join(folder, 'spam.eml'));
    expect(spam?.symbols.length).toBeGreaterThan(0);
    expect(Object.keys(spam?.symbols[0] ?? {})).toEqual(['name', 'score']);
    expect(summary.errors).toBe(1);
    expect(summary.ham + summary.suspect + summary.spam).toBe(4);
  });

  it('records a bad message with its error', async () => {
    const folder = await quarantine('bad', 1);
    const report = path.join(root, 'bad.jsonl');
    await run({ inputs: [folder, path.join(root, 'missing.eml')], report });
    const rows = await readRows(report);

    const empty = rows.find((row) => row.source === path.join(folder, 'empty.eml'));
    expect(empty?.error?.code).toBe('SPAMWARD_SOURCE_FAILED');
    expect(empty?.verdict).toBeNull();
    expect(empty?.score).toBeNull();
    const missing = rows.find((row) => row.source === path.join(root, 'missing.eml'));
    expect(missing?.error?.message).toContain('missing.eml');
    expect(rows.filter((row) => row.error === null)).toHaveLength(2);
  });

  it('names mbox messages by offset', async () => {
    const mbox = path.join(root, 'box.mbox');
    const first = HAM.replaceAll('{n}', 'a');
    const second = HAM.replaceAll('{n}', 'b');
    const firstFrom = 'From alice@example.com Fri Dec  4 10:00:00 2026\n';
    const secondFrom = 'From alice@example.com Fri Dec  4 10:01:00 2026\n';
    await writeFile(mbox, `${firstFrom}${first}\n${secondFrom}${second}`);
    const report = path.join(root, 'box.jsonl');
    await run({ inputs: [mbox], report });
    const rows = await readRows(report);

    expect(rows.map((row) => row.source)).toEqual([`${mbox}:0`, `${mbox}:${Buffer.byteLength(firstFrom + first + '\n')}`]);
    expect(rows.map((row) => row.messageId)).toEqual(['lunch-a@example.com', 'lunch-b@example.com']);
    expect(rows.every((row) => row.sha256?.length === 64)).toBe(true);
  });

  it('rejects a corrupt complete line', async () => {
    const report = path.join(root, 'corrupt.jsonl');
    await writeFile(report, 'not json\n');
    await expect(run({ inputs: [await quarantine('corrupt', 1)], report })).rejects.toThrow(RescanReportError);
  });
});

describe('rescan resume', () => {
  it('resumes after a truncated last line', async () => {
    const folder = await quarantine('resume', 4);
    const report = path.join(root, 'resume.jsonl');
    await run({ inputs: [folder], report });
    const complete = await readFile(report, 'utf8');
    const lines = complete.split('\n').filter((line) => line !== '');
    // A crash after two rows, in the middle of writing the third.
    await writeFile(report, `${lines[0]}\n${lines[1]}\n${(lines[2] ?? '').slice(0, 20)}`);

    const summary = await run({ inputs: [folder], report });
    const rows = await readRows(report);

    expect(summary.resumed).toBe(2);
    expect(summary.truncatedReportBytes).toBe(20);
    expect(rows).toHaveLength(lines.length);
    expect(new Set(rows.map((row) => row.source)).size).toBe(lines.length);
    expect(rows.map((row) => row.source).sort()).toEqual(lines.map((line) => (JSON.parse(line) as RescanRow).source).sort());
  });

  it('skips everything on a complete rerun', async () => {
    const folder = await quarantine('rerun', 2);
    const report = path.join(root, 'rerun.jsonl');
    await run({ inputs: [folder], report });
    const before = await readFile(report, 'utf8');
    const summary = await run({ inputs: [folder], report });

    expect(await readFile(report, 'utf8')).toBe(before);
    expect(summary.resumed).toBe(4);
    expect(summary.errors).toBe(1);
  });

  it('writes one row for a repeated input', async () => {
    const folder = await quarantine('repeated', 1);
    const report = path.join(root, 'repeated.jsonl');
    const summary = await run({ inputs: [folder, folder], report });

    expect(await readRows(report)).toHaveLength(3);
    expect(summary.resumed).toBe(3);
  });

  it('rescans a changed message', async () => {
    const folder = await quarantine('changed', 1);
    const report = path.join(root, 'changed.jsonl');
    await run({ inputs: [folder], report });
    await writeFile(path.join(folder, 'ham-0.eml'), HAM.replaceAll('{n}', 'changed'));
    await run({ inputs: [folder], report });
    const rows = await readRows(report);

    expect(rows.filter((row) => row.source === path.join(folder, 'ham-0.eml'))).toHaveLength(2);
    expect(rows).toHaveLength(4);
  });
});

describe('rescan release', () => {
  /** Runs a dry run and returns the threshold that releases the ham and keeps the spam. */
  async function threshold(folder: string, report: string): Promise<number> {
    await run({ inputs: [folder], report });
    const rows = await readRows(report);
    const spamScore = rows.find((row) => row.source.endsWith('spam.eml'))?.score ?? Number.NaN;
    const hamScores = rows.filter((row) => row.source.includes('ham-')).map((row) => row.score ?? Number.NaN);
    expect(Math.max(...hamScores)).toBeLessThan(spamScore);
    return spamScore;
  }

  it('lists and writes nothing in a dry run', async () => {
    const folder = await quarantine('dry', 2);
    const report = path.join(root, 'dry.jsonl');
    const below = await threshold(folder, report);
    const releaseTo = path.join(root, 'dry-out');
    const planned: string[] = [];
    const summary = await run({
      inputs: [folder],
      report,
      release: { below, destination: releaseTo },
      onMessage: (event) => {
        if (event.release?.outcome === 'planned') planned.push(event.source);
      },
    });

    expect(planned.sort()).toEqual([path.join(folder, 'ham-0.eml'), path.join(folder, 'ham-1.eml')]);
    expect(summary.wouldRelease).toBe(2);
    await expect(stat(releaseTo)).rejects.toThrow();
  });

  it('copies messages below the threshold', async () => {
    const folder = await quarantine('apply', 3);
    const report = path.join(root, 'apply.jsonl');
    const below = await threshold(folder, report);
    const originals = new Map<string, Buffer>();
    for (const name of await readdir(folder)) originals.set(name, await readFile(path.join(folder, name)));
    const releaseTo = path.join(root, 'apply-out');
    const summary = await run({ inputs: [folder], report, release: { below, destination: releaseTo, apply: true } });

    const expected = [0, 1, 2].map((i) => `${sha256(HAM.replaceAll('{n}', String(i)))}.eml`).sort();
    expect((await readdir(releaseTo)).sort()).toEqual(expected);
    for (let i = 0; i < 3; i += 1) {
      const body = HAM.replaceAll('{n}', String(i));
      expect(await readFile(path.join(releaseTo, `${sha256(body)}.eml`), 'utf8')).toBe(body);
    }
    expect(summary.released).toBe(3);
    for (const [name, content] of originals) expect(await readFile(path.join(folder, name))).toEqual(content);
  });

  it('does not rewrite released files', async () => {
    const folder = await quarantine('again', 1);
    const report = path.join(root, 'again.jsonl');
    const below = await threshold(folder, report);
    const releaseTo = path.join(root, 'again-out');
    await run({ inputs: [folder], report, release: { below, destination: releaseTo, apply: true } });
    const target = path.join(releaseTo, `${sha256(HAM.replaceAll('{n}', '0'))}.eml`);
    const before = await stat(target);
    const summary = await run({ inputs: [folder], report, release: { below, destination: releaseTo, apply: true } });

    expect(summary.released).toBe(0);
    expect(summary.alreadyReleased).toBe(1);
    expect((await stat(target)).mtimeMs).toBe(before.mtimeMs);
    expect(await readdir(releaseTo)).toHaveLength(1);
    const dryRun = await run({ inputs: [folder], report, release: { below, destination: releaseTo } });
    expect(dryRun.wouldRelease).toBe(0);
    expect(dryRun.alreadyReleased).toBe(1);
  });

  it('rejects a folder inside the inputs', async () => {
    const folder = await quarantine('inside', 1);
    const release = { below: 100, destination: path.join(folder, 'released'), apply: true };

    await expect(run({ inputs: [folder], report: path.join(root, 'inside.jsonl'), release })).rejects.toThrow(OptionsError);
    await expect(stat(release.destination)).rejects.toThrow();
  });

  it('keeps going when a release fails', async () => {
    const folder = await quarantine('unwritable', 1);
    const report = path.join(root, 'unwritable.jsonl');
    const below = await threshold(folder, report);
    const releaseTo = path.join(root, 'unwritable-out');
    // A folder where the temporary file goes makes the write fail, also for root.
    await mkdir(path.join(releaseTo, `.${sha256(HAM.replaceAll('{n}', '0'))}.eml.tmp`), { recursive: true });
    const failures: string[] = [];
    const summary = await run({
      inputs: [folder],
      report,
      release: { below, destination: releaseTo, apply: true },
      onMessage: (event) => {
        if (event.release?.outcome === 'failed') failures.push(event.release.error ?? '');
      },
    });

    expect(summary.releaseFailures).toBe(1);
    expect(failures[0]).toContain('EISDIR');
    expect(summary.resumed).toBe(3);
    expect(summary.released).toBe(0);
  });

  it('rejects a non-finite threshold', async () => {
    await expect(run({ inputs: [], report: path.join(root, 'nan.jsonl'), release: { below: Number.NaN, destination: root } })).rejects.toThrow('release.below');
  });
});
