import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const HAM = fileURLToPath(new URL('../fixtures/cli/ham.eml', import.meta.url));
/** Maximum wait for one spawned CLI, after which the child is killed. */
const CHILD_TIMEOUT_MS = 15_000;
// `npm ci` builds dist through the prepare script, so in CI a missing build is a failure, not a skip.
const skipWithoutBuild = !existsSync(MAIN) && process.env.CI === undefined;

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI with `args`. `stdin` is written and closed; when
 * `closeStdoutAfterFirstChunk` is set, the test stops reading as `head` does.
 */
function runBuilt(args: string[], options: { stdin?: string; closeStdoutAfterFirstChunk?: boolean } = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`spamward ${args.join(' ')} did not exit within ${CHILD_TIMEOUT_MS} ms`));
    }, CHILD_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (options.closeStdoutAfterFirstChunk) child.stdout.destroy();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-main-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.skipIf(skipWithoutBuild)('built CLI', () => {
  it('scans a file', async () => {
    const result = await runBuilt(['scan', '--no-model', HAM]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const record = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(record.source).toBe(HAM);
    expect(record.error).toBeNull();
  });

  it('reads stdin', async () => {
    const result = await runBuilt(['scan', '--no-model', '-'], { stdin: 'From: a@example.com\nSubject: piped\n\nHello.\n' });
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { source: string }).source).toBe('-');
  });

  it('exits 2 on a usage error', async () => {
    const result = await runBuilt(['scan', '--threshold-spam', 'lots', HAM]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("'lots'");
  });

  it('exits quietly when stdout closes', async () => {
    const message = 'From: a@example.com\nTo: b@example.org\nSubject: many\n\nHello.\n';
    const mbox = path.join(root, 'many.mbox');
    await writeFile(mbox, Array.from({ length: 5000 }, (_, i) => `From a@example.com Mon Jan  6 10:00:00 2025\n${message.replace('many', `many ${i}`)}\n`).join(''));
    const result = await runBuilt(['scan', '--no-model', '--verbose', mbox], { closeStdoutAfterFirstChunk: true });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/Error|\n\s+at /);
    // The summary shows that the scan stopped when the reader went away instead of scoring every message.
    const scanned = /Scanned (\d+) messages/.exec(result.stderr);
    expect(scanned).not.toBeNull();
    expect(Number(scanned?.[1])).toBeLessThan(5000);
  });
});
