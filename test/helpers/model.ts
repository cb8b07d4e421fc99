import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { defaultModelDir, sha256 } from '../../src/model/index.js';

const copies: string[] = [];

// Registered in the test file that imports this helper, so its copies go when its tests end.
afterAll(() => {
  for (const dir of copies.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Copies the shipped model into a fresh temporary folder, for tests that damage it. */
export function copyShippedModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spamward-model-'));
  cpSync(defaultModelDir(), dir, { recursive: true });
  copies.push(dir);
  return dir;
}

export function editManifest(dir: string, edit: (manifest: Record<string, unknown>) => void): void {
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(path, JSON.stringify(manifest));
}

/** Creates a registry folder holding a copy of the shipped model as `default`. */
export function newRegistryDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'spamward-registry-'));
  copies.push(root);
  cpSync(defaultModelDir(), join(root, 'default'), { recursive: true });
  return root;
}

/** Creates a candidate model folder as training writes it: one weight bit changed, its new checksum, its own version and parent `default`. */
export function candidateModel(version: string, edit: (manifest: Record<string, unknown>) => void = () => {}): string {
  const dir = copyShippedModel();
  const weights = readFileSync(join(dir, 'weights.bin'));
  weights[0] = (weights[0] ?? 0) ^ 0x01;
  writeFileSync(join(dir, 'weights.bin'), weights);
  editManifest(dir, (manifest) => {
    manifest.version = version;
    manifest.parent = 'default';
    (manifest.checksums as Record<string, string>)['weights.bin'] = sha256(weights);
    edit(manifest);
  });
  return dir;
}
