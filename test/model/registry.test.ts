import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultModelDir } from '../../src/model/index.js';
import { openRegistry, RegistryError, type ModelRegistry } from '../../src/model/registry.js';
import { candidateModel, editManifest, newRegistryDir } from '../helpers/model.js';

const SHIPPED_VERSION = (JSON.parse(readFileSync(join(defaultModelDir(), 'manifest.json'), 'utf8')) as { version: string }).version;
function setHeadlineAuc(manifest: Record<string, unknown>, auc: number): void {
  const sets = (manifest.metrics as { testSplit: { set: string; auc: number | null }[] }).testSplit;
  const headline = sets.find((metrics) => metrics.set === 'spamassassin');
  if (headline) headline.auc = auc;
}

function corruptWeights(dir: string): void {
  const path = join(dir, 'weights.bin');
  const weights = readFileSync(path);
  weights[4] = (weights[4] ?? 0) ^ 0xff;
  writeFileSync(path, weights);
}

function logLines(root: string): Record<string, unknown>[] {
  const path = join(root, 'registry-log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function registryWith(...versions: string[]): Promise<{ root: string; registry: ModelRegistry }> {
  const root = newRegistryDir();
  const registry = await openRegistry(root);
  for (const version of versions) await registry.addModel(candidateModel(version));
  return { root, registry };
}

async function rejection(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(() => null, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}

describe('openRegistry', () => {
  it('rejects a missing folder', async () => {
    const error = await rejection(openRegistry('/nonexistent/spamward-registry'));
    expect(error.message).toMatch(/"\/nonexistent\/spamward-registry" does not exist/);
  });

  it('lists the shipped model as active', async () => {
    const registry = await openRegistry(newRegistryDir());
    const entries = await registry.list();
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    expect(entry?.version).toBe('default');
    expect(entry?.active).toBe(true);
    expect(entry?.modelVersion).toBe(SHIPPED_VERSION);
    expect(entry?.parent).toBeNull();
    expect(entry?.error).toBeNull();
    expect(entry?.headline?.auc).toBeGreaterThan(0.9);
    expect((await registry.active()).version).toBe('default');
  });

  it('lists a broken folder with its error', async () => {
    const { root, registry } = await registryWith('v2');
    corruptWeights(join(root, 'v2'));
    const entries = await registry.list();
    const broken = entries.find((entry) => entry.version === 'v2');
    expect(broken?.error).toMatch(/Checksum mismatch for weights\.bin/);
    expect(broken?.modelVersion).toBe('v2');
    expect(entries.find((entry) => entry.version === 'default')?.error).toBeNull();
  });

  it('show returns the manifest', async () => {
    const { registry } = await registryWith('v2');
    const detail = await registry.show('v2');
    expect(detail.parent).toBe('default');
    expect(detail.manifest?.version).toBe('v2');
    expect(detail.active).toBe(false);
    await expect(registry.show('v9')).rejects.toThrow(/Model version "v9" not found .*Versions: default, v2\./);
  });
});

describe('addModel', () => {
  it('copies a candidate under its version', async () => {
    const { root, registry } = await registryWith();
    const entry = await registry.addModel(candidateModel('2027.01.01'));
    expect(entry.version).toBe('2027.01.01');
    expect(entry.error).toBeNull();
    expect(existsSync(join(root, '2027.01.01', 'tokens.json'))).toBe(true);
    expect(logLines(root).map((line) => line.action)).toEqual(['add']);
  });

  it('rejects an existing version', async () => {
    const { registry } = await registryWith('v2');
    const error = await rejection(registry.addModel(candidateModel('v2')));
    expect(error.message).toMatch(/"v2" already exists/);
  });

  it('rejects a corrupt candidate', async () => {
    const { root, registry } = await registryWith();
    const source = candidateModel('v3');
    corruptWeights(source);
    const error = await rejection(registry.addModel(source));
    expect(error.message).toMatch(/Checksum mismatch/);
    expect(existsSync(join(root, 'v3'))).toBe(false);
  });

  it('rejects an unsafe version name', async () => {
    const { registry } = await registryWith();
    const error = await rejection(registry.addModel(candidateModel('v4'), { version: '../escape' }));
    expect(error.message).toMatch(/Invalid model version "\.\.\/escape"/);
  });
});

describe('promote', () => {
  it('switches and records the previous version', async () => {
    const { root, registry } = await registryWith('v2');
    const result = await registry.promote('v2', { reason: 'better on feedback' });
    expect(result).toMatchObject({ from: 'default', to: 'v2', changed: true });

    const pointer = JSON.parse(readFileSync(join(root, 'active.json'), 'utf8')) as Record<string, unknown>;
    expect(pointer.version).toBe('v2');
    expect(pointer.history).toEqual(['default']);
    expect(pointer.reason).toBe('better on feedback');
    expect(pointer.forced).toBe(false);
    expect(await registry.activeDir()).toBe(join(root, 'v2'));

    const last = logLines(root).at(-1);
    expect(last).toMatchObject({ action: 'promote', from: 'default', to: 'v2', reason: 'better on feedback' });
    expect(typeof last?.time).toBe('string');
  });

  it('leaves an active version alone', async () => {
    const { root, registry } = await registryWith();
    const result = await registry.promote('default');
    expect(result.changed).toBe(false);
    expect(existsSync(join(root, 'active.json'))).toBe(false);
  });

  it('rejects a missing version', async () => {
    const { registry } = await registryWith();
    const error = await rejection(registry.promote('nope'));
    expect(error.message).toMatch(/Model version "nope" not found/);
  });

  it('rejects a corrupt model', async () => {
    const { root, registry } = await registryWith('v2', 'v3');
    await registry.promote('v2');
    const before = readFileSync(join(root, 'active.json'), 'utf8');
    corruptWeights(join(root, 'v3'));
    const error = await rejection(registry.promote('v3'));
    expect(error.message).toMatch(/Cannot promote model version "v3": Checksum mismatch for weights\.bin/);
    expect(error.message).toMatch(/active version was not changed/);
    expect(readFileSync(join(root, 'active.json'), 'utf8')).toBe(before);
  });

  it('rejects another feature schema', async () => {
    const { root, registry } = await registryWith('v2');
    editManifest(join(root, 'v2'), (manifest) => {
      (manifest.schema as { digest: string }).digest = 'f'.repeat(64);
    });
    const error = await rejection(registry.promote('v2'));
    expect(error.message).toMatch(/feature schema/);
    expect(existsSync(join(root, 'active.json'))).toBe(false);
  });

  it('rejects a lower AUC unless forced', async () => {
    const { root, registry } = await registryWith();
    await registry.addModel(candidateModel('worse', (manifest) => setHeadlineAuc(manifest, 0.5)));
    const error = await rejection(registry.promote('worse'));
    expect(error.message).toMatch(/lower spamassassin test AUC \(0\.5\)/);

    const forced = await registry.promote('worse', { force: true, reason: 'test' });
    expect(forced.pointer.forced).toBe(true);
    expect(logLines(root).at(-1)).toMatchObject({ action: 'force', from: 'default', to: 'worse' });
  });

  it('serialises concurrent changes', async () => {
    const { registry } = await registryWith('v2', 'v3');
    await Promise.all([registry.promote('v2'), registry.promote('v3')]);
    const pointer = await registry.active();
    expect(['v2', 'v3']).toContain(pointer.version);
    expect(pointer.history).toHaveLength(2);
    expect(pointer.history[0]).toBe('default');
  });

  it('times out on a held lock', async () => {
    const root = newRegistryDir();
    const registry = await openRegistry(root, { lockTimeoutMs: 100 });
    await registry.addModel(candidateModel('v2'));
    writeFileSync(join(root, 'registry.lock'), '12345\n');
    const error = await rejection(registry.promote('v2'));
    expect(error.message).toMatch(/locked by another change .*process 12345/);
    expect(existsSync(join(root, 'active.json'))).toBe(false);
  });
});

describe('rollback', () => {
  it('returns to the previous version', async () => {
    const { root, registry } = await registryWith('v2', 'v3');
    await registry.promote('v2');
    await registry.promote('v3');
    const result = await registry.rollback({ reason: 'false positives' });
    expect(result).toMatchObject({ from: 'v3', to: 'v2', changed: true });
    expect(result.pointer.history).toEqual(['default']);
    expect(logLines(root).at(-1)).toMatchObject({ action: 'rollback', from: 'v3', to: 'v2', reason: 'false positives' });

    await registry.rollback();
    expect((await registry.active()).version).toBe('default');
  });

  it('rejects an empty history', async () => {
    const { registry } = await registryWith();
    const error = await rejection(registry.rollback());
    expect(error.message).toMatch(/Nothing to roll back to/);
  });

  it('rejects a corrupt previous model', async () => {
    const { root, registry } = await registryWith('v2');
    await registry.promote('v2');
    const before = readFileSync(join(root, 'active.json'), 'utf8');
    corruptWeights(join(root, 'default'));
    const error = await rejection(registry.rollback());
    expect(error.message).toMatch(/Cannot roll back to model version "default"/);
    expect(readFileSync(join(root, 'active.json'), 'utf8')).toBe(before);
  });
});

describe('active pointer', () => {
  const cases: [string, string, RegExp][] = [
    ['torn JSON', '{"version": "v2", "hist', /not valid JSON/],
    ['array', '[]', /expected a JSON object/],
    ['path in version', '{"version": "../etc"}', /"version" "\.\.\/etc" is not a valid version name/],
    ['bad history', '{"version": "default", "history": "v1"}', /"history" must be a list/],
  ];

  for (const [name, text, problem] of cases) {
    it(`rejects ${name}`, async () => {
      const root = newRegistryDir();
      const registry = await openRegistry(root);
      writeFileSync(join(root, 'active.json'), text);
      const error = await rejection(registry.active());
      expect(error.message).toContain(`"${join(root, 'active.json')}" is invalid`);
      expect(error.message).toMatch(problem);
      expect(error.input).toBe(join(root, 'active.json'));
      await expect(registry.list()).rejects.toThrow(RegistryError);
      await expect(registry.promote('default')).rejects.toThrow(RegistryError);
    });
  }
});
