import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultModelDir } from '../../src/model/index.js';
import { candidateModel, newRegistryDir } from '../helpers/model.js';
import { run } from './capture.js';

const SHIPPED_VERSION = (JSON.parse(readFileSync(join(defaultModelDir(), 'manifest.json'), 'utf8')) as { version: string }).version;
afterEach(() => {
  vi.unstubAllEnvs();
});

function activeVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'active.json'), 'utf8')) as { version: string }).version;
}

describe('spamward model', () => {
  it('list prints a table', async () => {
    const root = newRegistryDir();
    const { code, stdout } = await run(['model', 'list', '--registry', root]);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+ACTIVE\s+CREATED\s+PARENT\s+AUC\s+MODEL\s+STATUS$/);
    expect(lines[1]).toMatch(new RegExp(`^default\\s+\\*\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}\\s+-\\s+0\\.99\\d\\d\\s+${SHIPPED_VERSION.replace(/\./g, '\\.')}\\s+ok$`));
  });

  it('list prints JSON', async () => {
    const root = newRegistryDir();
    const { code, stdout } = await run(['model', 'list', '--registry', root, '--format', 'json']);
    expect(code).toBe(0);
    const entries = JSON.parse(stdout) as { version: string; active: boolean; error: string | null }[];
    expect(entries.map((entry) => entry.version)).toEqual(['default']);
    expect(entries[0]?.active).toBe(true);
    expect(entries[0]?.error).toBeNull();
  });

  it('list marks a broken version', async () => {
    const root = newRegistryDir();
    cpSync(join(root, 'default'), join(root, 'broken'), { recursive: true });
    writeFileSync(join(root, 'broken', 'tokens.json'), '{}');
    const { code, stdout } = await run(['model', 'list', '--registry', root]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^broken\s.*\sbroken$/m);
    expect(stdout).toMatch(/^broken: Checksum mismatch for tokens\.json/m);
  });

  it('add, promote and rollback', async () => {
    const root = newRegistryDir();
    const added = await run(['model', 'add', candidateModel('v2'), '--registry', root]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/Added model version v2/);

    const promoted = await run(['model', 'promote', 'v2', '--reason', 'retrained', '--registry', root]);
    expect(promoted.code).toBe(0);
    expect(promoted.stdout).toMatch(/Promoted model version v2; it was default\./);
    expect(activeVersion(root)).toBe('v2');

    const shown = await run(['model', 'show', 'v2', '--registry', root]);
    expect(shown.stdout).toMatch(/^version:\s+v2 \(active\)$/m);
    expect(shown.stdout).toMatch(/^parent:\s+default$/m);

    const rolled = await run(['model', 'rollback', '--reason', 'false positives', '--registry', root]);
    expect(rolled.code).toBe(0);
    expect(rolled.stdout).toMatch(/Rolled back to model version default; it was v2\./);
    expect(activeVersion(root)).toBe('default');

    const log = readFileSync(join(root, 'registry-log.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { action: string; reason: string });
    expect(log.map((entry) => entry.action)).toEqual(['add', 'promote', 'rollback']);
    expect(log[2]?.reason).toBe('false positives');
  });

  it('reads the registry from the environment', async () => {
    const root = newRegistryDir();
    vi.stubEnv('SPAMWARD_REGISTRY', root);
    const { code, stdout } = await run(['model', 'list', '--format', 'json']);
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { dir: string }[])[0]?.dir).toBe(join(root, 'default'));
  });

  it('rejections exit 1', async () => {
    const root = newRegistryDir();
    const missing = await run(['model', 'promote', 'v9', '--registry', root]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^spamward: Model version "v9" not found/);

    const empty = await run(['model', 'rollback', '--registry', root]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/Nothing to roll back to/);

    writeFileSync(join(root, 'active.json'), '{"version": ');
    const torn = await run(['model', 'list', '--registry', root]);
    expect(torn.code).toBe(1);
    expect(torn.stderr).toContain(`"${join(root, 'active.json')}" is invalid`);

    const noFolder = await run(['model', 'list', '--registry', join(root, 'absent')]);
    expect(noFolder.code).toBe(1);
    expect(noFolder.stderr).toMatch(/does not exist or is not a folder/);
  });

  it('usage errors exit 2', async () => {
    expect((await run(['model', 'promote'])).code).toBe(2);
    expect((await run(['model', 'list', '--format', 'xml'])).code).toBe(2);
    expect((await run(['model', 'rollback', '--reason', ' '])).code).toBe(2);
    expect((await run(['model', 'list', '--registry', 'a', '--registry', 'b'])).code).toBe(2);
  });
});
