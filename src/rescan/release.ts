/**
 * Release of a message from quarantine: a crash-safe copy of its raw bytes
 * into a folder as `<sha256>.eml`, or an append to an mbox file (see
 * mbox-release.ts). With `move`, the original file is removed afterwards.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { readMessages } from '../pipeline/sources.js';
import { MboxRelease, readReleasedDigests } from './mbox-release.js';
import { syncFolder } from '../durable.js';

/** File names that make `--release-to` an mbox even when the file does not exist yet. */
const MBOX_FILE_NAME = /\.mbox$/i;

/** `written` when the message was copied now, `exists` when the target already had it. */
export type ReleaseOutcome = 'written' | 'exists';

/** A folder or mbox that messages are released into. */
export interface ReleaseDestination {
  /** `folder` or `mbox`. */
  readonly kind: 'folder' | 'mbox';
  /** The file a message with this digest is released to: `<folder>/<sha256>.eml`, or the mbox. */
  target(sha256: string): string;
  /** Returns whether a message with this digest is in the destination already. */
  has(sha256: string): Promise<boolean>;
  /** Copies the message durably unless it is there already. Throws the system error when a step fails. */
  release(raw: Buffer, sha256: string): Promise<ReleaseOutcome>;
  close(): Promise<void>;
}

/** Returns the path a message with this digest is released to in a folder. */
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

/** Returns whether `--release-to` names an mbox: a name ending in .mbox, or an existing regular file. */
export async function isMboxDestination(destination: string): Promise<boolean> {
  if (MBOX_FILE_NAME.test(destination)) return true;
  try {
    return (await stat(destination)).isFile();
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

/**
 * Opens the release destination. With `apply`, a folder is created when
 * missing, and an mbox is opened with any interrupted append rolled back.
 * Without `apply` nothing is created or changed, and `has` reads what is there.
 */
export async function openDestination(destination: string, apply: boolean): Promise<ReleaseDestination> {
  if (await isMboxDestination(destination)) {
    // A dry run only reads the index, so it neither creates the mbox nor rolls back an interrupted append.
    const mbox = apply ? await MboxRelease.open(destination) : null;
    const dryRunDigests = apply ? null : await readReleasedDigests(destination);
    return {
      kind: 'mbox',
      target: () => destination,
      has: async (sha256) => mbox?.has(sha256) === true || dryRunDigests?.has(sha256) === true,
      release: async (raw, sha256) => {
        if (mbox === null) throw new Error(`The release mbox ${destination} is not open; release needs apply.`);
        return mbox.append(raw, sha256);
      },
      close: async () => mbox?.close(),
    };
  }
  if (apply) await mkdir(destination, { recursive: true });
  return {
    kind: 'folder',
    target: (sha256) => releaseTarget(destination, sha256),
    has: (sha256) => exists(releaseTarget(destination, sha256)),
    release: (raw, sha256) => releaseMessage(raw, sha256, destination),
    close: async () => undefined,
  };
}

/**
 * Returns whether `file`, read as readMessages reads it, contains exactly
 * one message, whole, with this digest. This is how a file that starts with
 * a `From ` line but contains one message (as the SpamAssassin corpus stores
 * messages) can be removed by --move, while a real mbox is never changed.
 * Reading stops at the second message.
 */
export async function containsOnlyMessage(file: string, sha256: string, maxMessageBytes?: number): Promise<boolean> {
  let found = 0;
  for await (const item of readMessages([file], { maxMessageBytes })) {
    found += 1;
    if ('error' in item || found > 1 || item.truncated) return false;
    if (createHash('sha256').update(item.raw).digest('hex') !== sha256) return false;
  }
  return found === 1;
}

/** Removes the original of a released message and fsyncs its folder, so the removal is as durable as the copy. */
export async function removeOriginal(file: string): Promise<void> {
  await unlink(file);
  await syncFolder(path.dirname(path.resolve(file)));
}
