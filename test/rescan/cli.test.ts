import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScorer as realCreateScorer, type Scorer, type ScorerOptions } from '../../src/pipeline/scorer.js';
import type { RescanRow } from '../../src/rescan/index.js';
import { CapturedStream, run } from '../cli/capture.js';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const BUILT_RESCAN = fileURLToPath(new URL('../../dist/src/rescan/index.js', import.meta.url));
// `npm ci` builds dist through the prepare script, so in CI a missing build is a failure, not a skip.
const skipWithoutBuild = !existsSync(BUILT_RESCAN) && process.env.CI === undefined;
/** Maximum wait for the spawned CLI, after which the test fails. */
const CHILD_TIMEOUT_MS = 30_000;
/** Rows the report must hold before the child is killed. */
const ROWS_BEFORE_KILL = 20;
const KILL_TEST_MESSAGES = 200;
const RELEASED_NAME = /^[0-9a-f]{64}\.eml$/;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function message(n: number): string {
  return `From: sender${n}@example.com\nTo: bob@example.com\nSubject: Note ${n}\nMessage-ID: <note-${n}@example.com>\n\nHello, this is note ${n}.\n`;
}

function sha256(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function messageFolder(name: string, count: number): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i += 1) await writeFile(path.join(folder, `${String(i).padStart(3, '0')}.eml`), message(i));
  return folder;
}

async function readRows(file: string): Promise<RescanRow[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as RescanRow);
}

async function lineCount(file: string): Promise<number> {
  try {
    return (await readFile(file, 'utf8')).split('\n').length - 1;
  } catch {
    return 0;
  }
}

describe('rescan command', () => {
  it('lists releases in a dry run', async () => {
    const folder = await messageFolder('dry', 3);
    const report = path.join(root, 'dry.jsonl');
    const releaseTo = path.join(root, 'dry-out');
    const result = await run(['rescan', folder, '--report', report, '--no-model', '--release-below', '100', '--release-to', releaseTo]);

    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(3);
    expect(result.stdout).toContain(`would release ${path.join(folder, '000.eml')} -> ${path.join(releaseTo, `${sha256(message(0))}.eml`)}`);
    expect(result.stderr).toContain('3 would be released');
    await expect(stat(releaseTo)).rejects.toThrow();
  });

  it('releases with --yes', async () => {
    const folder = await messageFolder('yes', 3);
    const report = path.join(root, 'yes.jsonl');
    const releaseTo = path.join(root, 'yes-out');
    const result = await run(['rescan', folder, '--report', report, '--no-model', '--release-below', '100', '--release-to', releaseTo, '--yes']);

    expect(result.code).toBe(0);
    expect((await readdir(releaseTo)).sort()).toEqual([0, 1, 2].map((i) => `${sha256(message(i))}.eml`).sort());
    expect(result.stderr).toContain('Rescanned 3 messages: 3 ham, 0 suspect, 0 spam, 0 errors; 3 released, 0 already released; 0 skipped');
    expect(await readRows(report)).toHaveLength(3);
  });

  it('exits 1 on a bad message', async () => {
    const folder = await messageFolder('bad', 1);
    await writeFile(path.join(folder, 'empty.eml'), '');
    const result = await run(['rescan', folder, '--report', path.join(root, 'bad.jsonl'), '--no-model']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('empty.eml is empty');
    expect(result.stderr).toContain('1 error;');
  });

  it('rejects release options alone', async () => {
    const report = path.join(root, 'usage.jsonl');
    const below = await run(['rescan', root, '--report', report, '--release-below', '1']);
    const yes = await run(['rescan', root, '--report', report, '--yes']);
    const missing = await run(['rescan', root]);

    expect(below.code).toBe(2);
    expect(below.stderr).toContain('--release-below and --release-to must be given together');
    expect(yes.code).toBe(2);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--report');
    expect(existsSync(report)).toBe(false);
  });

  it('stops on interrupt and resumes', async () => {
    const folder = await messageFolder('interrupt', 6);
    const report = path.join(root, 'interrupt.jsonl');
    const controller = new AbortController();
    const createScorer = async (options: ScorerOptions): Promise<Scorer> => {
      const real = await realCreateScorer(options);
      return {
        ...real,
        modelVersion: real.modelVersion,
        modelError: real.modelError,
        score: async (raw) => {
          const result = await real.score(raw);
          if (String(raw).includes('note 1.')) controller.abort();
          return result;
        },
        close: () => real.close(),
        dnsStats: () => real.dnsStats(),
      };
    };
    const first = await run(['rescan', folder, '--report', report, '--no-model'], { signal: controller.signal, createScorer });

    expect(first.code).toBe(130);
    expect(await readRows(report)).toHaveLength(2);
    expect(first.stderr).not.toContain('Scanning');

    const second = await run(['rescan', folder, '--report', report, '--no-model']);

    expect(second.code).toBe(0);
    expect(second.stderr).toContain('2 skipped as already in the report');
    expect((await readRows(report)).map((row) => row.source)).toEqual([0, 1, 2, 3, 4, 5].map((i) => path.join(folder, `00${i}.eml`)));
  });

  it('shows progress on a terminal', async () => {
    const folder = await messageFolder('progress', 12);
    const stderr = new CapturedStream(true);
    const result = await run(['rescan', folder, '--report', path.join(root, 'progress.jsonl'), '--no-model'], { stderr, isTTY: { stderr: true } });

    expect(result.code).toBe(0);
    expect(stderr.text).toMatch(/Scanning: \d+ messages/);
    expect(stderr.text).toContain('Rescanned 12 messages: 12 ham');
  });

  it('goes on after stdout closes', async () => {
    const folder = await messageFolder('epipe', 4);
    const report = path.join(root, 'epipe.jsonl');
    const stdout = new Writable({
      write(_chunk, _encoding, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const result = await run(['rescan', folder, '--report', report, '--no-model', '--release-below', '100', '--release-to', path.join(root, 'epipe-out')], { stdout });

    expect(result.code).toBe(0);
    expect(await readRows(report)).toHaveLength(4);
    expect(result.stderr).toContain('4 would be released');
  });

  it('rejects a corrupt report', async () => {
    const report = path.join(root, 'corrupt.jsonl');
    await writeFile(report, '{"source": 1}\n');
    const result = await run(['rescan', await messageFolder('corrupt', 1), '--report', report, '--no-model']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 1 is not a rescan row');
  });
});

describe.skipIf(skipWithoutBuild)('rescan after SIGKILL', () => {
  it('resumes with one row per message', { timeout: 2 * CHILD_TIMEOUT_MS }, async () => {
    const folder = await messageFolder('killed', KILL_TEST_MESSAGES);
    const report = path.join(root, 'killed.jsonl');
    const releaseTo = path.join(root, 'killed-out');
    const args = [MAIN, 'rescan', folder, '--report', report, '--release-below', '100', '--release-to', releaseTo, '--yes'];

    const killedBy = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      const deadline = setTimeout(() => {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`rescan did not write ${ROWS_BEFORE_KILL} rows within ${CHILD_TIMEOUT_MS} ms`));
      }, CHILD_TIMEOUT_MS);
      const poll = setInterval(() => {
        void lineCount(report).then((count) => {
          if (count >= ROWS_BEFORE_KILL) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        });
      }, 2);
      child.on('error', reject);
      child.on('exit', (_code, signal) => {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(signal);
      });
    });
    expect(killedBy).toBe('SIGKILL');
    expect(await lineCount(report)).toBeLessThan(KILL_TEST_MESSAGES);

    const rerun = spawn(process.execPath, args, { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => rerun.on('exit', resolve));
    expect(code).toBe(0);

    const rows = await readRows(report);
    expect(rows).toHaveLength(KILL_TEST_MESSAGES);
    expect(new Set(rows.map((row) => row.source)).size).toBe(KILL_TEST_MESSAGES);
    const files = await readdir(releaseTo);
    expect(files.filter((name) => !RELEASED_NAME.test(name))).toEqual([]);
    expect(files).toHaveLength(KILL_TEST_MESSAGES);
    for (let i = 0; i < KILL_TEST_MESSAGES; i += 1) {
      expect(await readFile(path.join(releaseTo, `${sha256(message(i))}.eml`), 'utf8')).toBe(message(i));
    }
  });
});
