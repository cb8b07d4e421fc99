import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/model/index.js';
import { openRegistry } from '../../src/model/registry.js';
import { editManifest } from '../helpers/model.js';
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

describe('spamward scan --registry', () => {
  it('scores with the active model of the given registry', async () => {
    const scanned = join(work, 'scanned');
    cpSync(defaultModelDir(), join(scanned, 'default'), { recursive: true });
    cpSync(defaultModelDir(), join(scanned, 'renamed'), { recursive: true });
    editManifest(join(scanned, 'renamed'), (manifest) => {
      manifest.version = 'test-renamed';
    });
    await (await openRegistry(scanned)).promote('renamed', { reason: 'test' });
    const file = join(work, 'message.eml');
    writeFileSync(file, 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nHello.\r\n');
    const result = await run(['scan', '--registry', scanned, '--verbose', '--format', 'jsonl', file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('test-renamed');
  });

  it('refuses --registry together with --model', async () => {
    const result = await run(['scan', '--registry', registry, '--model', join(registry, 'default'), join(work, 'message.eml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--registry');
  });
});
