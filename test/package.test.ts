import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const BUILTINS = new Set(builtinModules);

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Package names that a source file imports or requires at run time (type-only imports are erased). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names: string[] = [];
  for (const match of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'([^']+)'|require\('([^']+)'\)|import\(\s*'([^']+)'/gm)) {
    const specifier = match[1] ?? match[2] ?? match[3] ?? '';
    if (specifier.startsWith('.') || specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
    const parts = specifier.split('/');
    names.push(specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
  }
  return names;
}

describe('package.json', () => {
  // A package used by src/ but listed only in devDependencies installs for us and breaks for users.
  it('lists every runtime import of src/ in dependencies', () => {
    const declared = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies ?? {})]);
    const missing = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      for (const name of runtimeImports(file)) if (!declared.has(name)) missing.add(`${name} (${file.slice(root.length + 1)})`);
    }
    expect([...missing]).toEqual([]);
  });
});
