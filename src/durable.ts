/**
 * Crash-safe file writes: a file is written to a temporary name in its
 * folder, fsynced, renamed over the target, and the folder is fsynced, so
 * after a crash the target is either absent, the old file, or complete.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** Fsyncs a folder, so a file created or renamed in it survives a crash. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Prefix of temporary files, which list() and export() ignore.
 * NOTE: a temporary file left by a crash between write and rename is never removed.
 */
export const TEMPORARY_PREFIX = '.tmp-';

/**
 * Creates `folder` and its missing parents. Each folder created is fsynced
 * into its parent, so the new entry survives a crash.
 */
export async function ensureFolder(folder: string): Promise<void> {
  const resolved = path.resolve(folder);
  const first = await mkdir(resolved, { recursive: true });
  if (first === undefined) return;
  // mkdir returns the first folder it created; every folder from its parent down to `resolved` gained an entry.
  let current = resolved;
  for (;;) {
    await syncFolder(path.dirname(current));
    if (current === first) break;
    current = path.dirname(current);
  }
}

/**
 * Writes `bytes` to `target` through a temporary file with a unique name, so
 * several processes may write the same target at once. The last rename wins.
 * With `syncParent` false the caller fsyncs the folder itself, once for many files.
 */
export async function writeFileDurably(target: string, bytes: Uint8Array | string, syncParent = true): Promise<void> {
  const folder = path.dirname(target);
  const temporary = path.join(folder, `${TEMPORARY_PREFIX}${process.pid}-${randomUUID()}`);
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  if (syncParent) await syncFolder(folder);
}

/** Returns whether `file` contains exactly `bytes`. A missing or unreadable file does not. */
export async function fileContains(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const info = await stat(file);
    if (info.size !== bytes.length) return false;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(await readFile(file));
  } catch {
    return false;
  }
}
