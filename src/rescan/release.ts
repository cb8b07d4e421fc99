/**
 * Release of a message from quarantine: a crash-safe copy of its raw bytes
 * into the release folder as `<sha256>.eml`. The original is only read.
 */
import { constants } from 'node:fs';
import { access, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { syncFolder } from './report.js';

/** `written` when the file was created now, `exists` when a file with the same name was already there. */
export type ReleaseOutcome = 'written' | 'exists';

/** Returns the path a message with this digest is released to. */
export function releaseTarget(folder: string, sha256: string): string {
  return path.join(folder, `${sha256}.eml`);
}

/** Returns whether `file` exists; an unreadable parent folder counts as missing. */
export async function exists(file: string): Promise<boolean> {
  try {
    await access(file, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies `raw` to `<folder>/<sha256>.eml` unless that file exists. The bytes
 * go to a temporary file in the same folder, which is fsynced and renamed
 * over the target, and then the folder is fsynced, so the target is either
 * missing or complete after a crash. Throws the system error when a step fails.
 *
 * NOTE: the temporary name is derived from the digest, so a rerun after a
 * crash overwrites a leftover temporary file, but two rescans releasing the
 * same message into the same folder at the same time may collide.
 */
export async function releaseMessage(raw: Buffer, sha256: string, folder: string): Promise<ReleaseOutcome> {
  const target = releaseTarget(folder, sha256);
  if (await exists(target)) return 'exists';
  const temporary = path.join(folder, `.${sha256}.eml.tmp`);
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(raw);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, target);
  await syncFolder(folder);
  return 'written';
}
