import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScorer as realCreateScorer, type Scorer, type ScorerOptions } from '../../src/pipeline/scorer.js';
import { CapturedStream, run } from '../cli/capture.js';
import { killAfterRows, lineCount, readRows, runToExit } from '../helpers/rescan.js';

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
    expect(result.stderr).toContain('Rescanned 3 messages: 3 ham, 0 suspect, 0 spam, 0 errors; 3 released, 0 already released; 0 of them already in the report');
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
    expect(second.stderr).toContain('2 of them already in the report, so not scored again');
    expect((await readRows(report)).map((row) => row.source)).toEqual([0, 1, 2, 3, 4, 5].map((i) => path.join(folder, `00${i}.eml`)));
  });

  it('shows progress on a terminal', async () => {
    const folder = await messageFolder('progress', 12);
    const stderr = new CapturedStream(true);
    const result = await run(['rescan', folder, '--report', path.join(root, 'progress.jsonl'), '--no-model'], { stderr, isTTY: { stderr: true } });

    expect(result.code).toBe(0);
    expect(stderr.text).toMatch(/Rescanning: \d+ messages \| \d+\/s \| ETA /);
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

describe('rescan reports and options', () => {
  it('writes CSV and HTML reports', async () => {
    const folder = await messageFolder('reports', 3);
    await writeFile(path.join(folder, '003.eml'), `X-Spam-Status: Yes, score=8.1 required=5.0\n${message(3)}`);
    const report = path.join(root, 'reports.jsonl');
    const csv = path.join(root, 'reports.csv');
    const html = path.join(root, 'reports.html');
    const result = await run(['rescan', folder, '--report', report, '--no-model', '--workers', '1', '--csv', csv, '--html', html]);

    expect(result.code).toBe(0);
    const lines = (await readFile(csv, 'utf8')).trimEnd().split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]?.startsWith('source,messageId,sha256,verdict,score,previousScore')).toBe(true);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<tr><td>ham</td><td>4</td></tr>');
    expect(page).toContain('1 of 1 messages with an earlier verdict changed');
    expect(result.stderr).toContain('1 of 1 messages with an earlier verdict changed (0 now flagged, 1 no longer flagged)');
  });

  it('writes the same reports after a resume', async () => {
    const folder = await messageFolder('resumed-reports', 4);
    const whole = path.join(root, 'whole.jsonl');
    await run(['rescan', folder, '--report', whole, '--no-model', '--workers', '1', '--csv', `${whole}.csv`]);
    const partial = path.join(root, 'partial.jsonl');
    const firstTwo = (await readFile(whole, 'utf8')).split('\n').slice(0, 2).join('\n');
    await writeFile(partial, `${firstTwo}\n`);
    await run(['rescan', folder, '--report', partial, '--no-model', '--workers', '1', '--csv', `${partial}.csv`]);

    expect(await readFile(`${partial}.csv`, 'utf8')).toBe(await readFile(`${whole}.csv`, 'utf8'));
  });

  it('rejects an invalid worker count', async () => {
    for (const value of ['0', '-1', '1.5', 'two']) {
      const result = await run(['rescan', root, '--report', path.join(root, 'workers.jsonl'), '--workers', value]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('Expected a whole number of threads');
    }
  });

  it('turns DNS off with --no-dns', async () => {
    const folder = await messageFolder('no-dns', 1);
    // Nothing listens on this loopback port, so a DNS check would fail or time out.
    const resolver = ['--resolver', '127.0.0.1:9', '--auth-deadline', '300'];
    const withDns = path.join(root, 'with-dns.jsonl');
    const withoutDns = path.join(root, 'without-dns.jsonl');
    await run(['rescan', folder, '--report', withDns, '--no-model', '--workers', '1', ...resolver]);
    await run(['rescan', folder, '--report', withoutDns, '--no-model', '--workers', '1', ...resolver, '--no-dns']);

    expect((await readRows(withDns))[0]?.degraded.some((entry) => entry.startsWith('auth:'))).toBe(true);
    expect((await readRows(withoutDns))[0]?.degraded.filter((entry) => entry.startsWith('auth:'))).toEqual([]);
  });

  it('documents the authentication default', async () => {
    const result = await run(['help', 'rescan']);

    expect(result.stdout).toContain('--no-dns');
    expect(result.stdout).toContain('--trust-authserv-id');
    expect(result.stdout).toMatch(/else they\s+are skipped/);
  });
});

describe.skipIf(skipWithoutBuild)('rescan after SIGKILL', () => {
  it('resumes with one row per message', { timeout: 2 * CHILD_TIMEOUT_MS }, async () => {
    const folder = await messageFolder('killed', KILL_TEST_MESSAGES);
    const report = path.join(root, 'killed.jsonl');
    const releaseTo = path.join(root, 'killed-out');
    const args = [MAIN, 'rescan', folder, '--report', report, '--release-below', '100', '--release-to', releaseTo, '--yes'];

    const killedBy = await killAfterRows(args, report, ROWS_BEFORE_KILL, CHILD_TIMEOUT_MS);
    expect(killedBy).toBe('SIGKILL');
    expect(await lineCount(report)).toBeLessThan(KILL_TEST_MESSAGES);

    const code = await runToExit(args);
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
