import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/model/index.js';
import { run } from './capture.js';

let work: string;
let registry: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'spamward-cli-train-'));
  registry = join(work, 'registry');
  cpSync(defaultModelDir(), join(registry, 'default'), { recursive: true });
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('spamward train', () => {
  it('explains the gate in its help', async () => {
    const result = await run(['train', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--tolerance-auc');
    expect(result.stdout).toContain('held-out quarter');
  });

  it('rejects a zero feedback weight as a usage error', async () => {
    const result = await run(['train', '--feedback-weight', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--feedback-weight');
  });

  it('names a missing feedback folder and leaves the registry alone', async () => {
    const missing = join(work, 'no-such-feedback');
    const result = await run(['train', '--registry', registry, '--feedback', missing]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    const list = await run(['model', 'list', '--registry', registry, '--format', 'json']);
    expect((JSON.parse(list.stdout) as { version: string }[]).map((entry) => entry.version)).toEqual(['default']);
  });
});
