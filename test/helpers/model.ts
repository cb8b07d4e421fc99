import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultModelDir } from '../../src/model/index.js';

/** Copies the shipped model into a fresh temporary folder, for tests that damage it. */
export function copyShippedModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spamward-model-'));
  cpSync(defaultModelDir(), dir, { recursive: true });
  return dir;
}

export function editManifest(dir: string, edit: (manifest: Record<string, unknown>) => void): void {
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(manifest);
  writeFileSync(path, JSON.stringify(manifest));
}
