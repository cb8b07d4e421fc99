import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { defaultModelDir } from '../../src/model/index.js';

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
