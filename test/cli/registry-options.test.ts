import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/model/index.js';
import { openRegistry } from '../../src/model/registry.js';
import { editManifest, newRegistryDir } from '../helpers/model.js';
import { run } from './capture.js';

let work: string;
let message: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'spamward-cli-registry-'));
  message = join(work, 'message.eml');
  writeFileSync(message, 'From: a@example.com\r\nTo: b@example.org\r\nSubject: hello\r\n\r\nHello.\r\n');
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A registry whose active version has a corrupt weights file. */
function brokenRegistry(): string {
  const registry = newRegistryDir();
  cpSync(defaultModelDir(), join(registry, 'broken'), { recursive: true });
  appendFileSync(join(registry, 'broken', 'weights.bin'), 'corrupt');
  writeFileSync(join(registry, 'active.json'), JSON.stringify({ version: 'broken', history: ['default'], changedAt: new Date().toISOString(), reason: null, forced: true }));
  return registry;
}

describe('spamward scan --registry', () => {
  it('scores with the active model of the given registry', async () => {
    const registry = newRegistryDir();
    cpSync(defaultModelDir(), join(registry, 'renamed'), { recursive: true });
    editManifest(join(registry, 'renamed'), (manifest) => {
      manifest.version = 'test-renamed';
    });
    await (await openRegistry(registry)).promote('renamed', { reason: 'test' });
    const result = await run(['scan', '--registry', registry, '--verbose', '--format', 'jsonl', message]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('test-renamed');
  });

  it('refuses --registry together with --model', async () => {
    const registry = newRegistryDir();
    const result = await run(['scan', '--registry', registry, '--model', join(registry, 'default'), message]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--registry');
  });

  it('names a registry folder that does not exist', async () => {
    const missing = join(work, 'no-such-registry');
    const result = await run(['scan', '--registry', missing, message]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(missing);
  });

  it('fails instead of falling back when the registry model is broken', async () => {
    const result = await run(['scan', '--registry', brokenRegistry(), message]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Checksum mismatch');
  });
});

describe('spamward rescan with a broken model', () => {
  it('stops before releasing anything', async () => {
    const released = join(work, 'released');
    const result = await run(['rescan', message, '--registry', brokenRegistry(), '--report', join(work, 'report.jsonl'), '--release-below', '100', '--release-to', released, '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Checksum mismatch');
    expect(existsSync(released) ? readdirSync(released) : []).toEqual([]);
  });
});
