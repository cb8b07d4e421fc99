/**
 * The files of a model registry folder: the active pointer (active.json),
 * the change log (registry-log.jsonl) and the lock that serialises writers.
 * Every write is fsynced, and the pointer is replaced by rename, so a reader
 * sees the old pointer or the new one, never a torn file.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, SpamwardError } from '../errors.js';
import { writeFileDurably } from '../durable.js';

/** The active pointer's file name in the registry root. */
export const ACTIVE_FILE = 'active.json';
/** The change log's file name in the registry root: one JSON object per line. */
export const LOG_FILE = 'registry-log.jsonl';
/** Created with O_EXCL while a process changes the registry, and removed afterwards. */
export const LOCK_FILE = 'registry.lock';
/** The version that is active when active.json does not exist: the model shipped in the package. */
export const DEFAULT_VERSION = 'default';
/** Maximum length of a version name, which is also a folder name. */
export const MAX_VERSION_LENGTH = 128;
/** Milliseconds between attempts to take the lock while another process holds it. */
const LOCK_RETRY_MS = 50;

/** A letter or digit first, then letters, digits, dots, dashes and underscores: a safe folder name on every platform. */
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A registry folder is missing or malformed, a version is missing or rejected, or a registry change failed. */
export class RegistryError extends SpamwardError {
  override readonly code = 'SPAMWARD_REGISTRY_FAILED';
}

/** Contents of active.json. */
export interface ActivePointer {
  /** Active version: the name of a folder in the registry. */
  version: string;
  /** Versions that were active before, newest last; rollback returns to the last one. */
  history: string[];
  /** ISO 8601 time of the last change, or null when active.json does not exist. */
  changedAt: string | null;
  /** Reason given for the last change, or null. */
  reason: string | null;
  /** Whether the last promotion skipped the metrics check. */
  forced: boolean;
}

export type RegistryAction = 'add' | 'promote' | 'force' | 'rollback';

/** One line of registry-log.jsonl. */
export interface RegistryLogEntry {
  action: RegistryAction;
  /** Version active before the change; null for `add`. */
  from: string | null;
  to: string;
  /** ISO 8601 time of the change. */
  time: string;
  reason: string | null;
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `name` can be a version: see VERSION_PATTERN and MAX_VERSION_LENGTH. */
export function isValidVersion(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_VERSION_LENGTH && VERSION_PATTERN.test(name);
}

/** Throws a RegistryError unless `name` is a valid version name. */
export function checkVersion(name: string, input: string): void {
  if (!isValidVersion(name)) {
    throw new RegistryError(
      `Invalid model version ${JSON.stringify(name)}: a version is a folder name of at most ${MAX_VERSION_LENGTH} characters, a letter or digit followed by letters, digits, ".", "-" or "_".`,
      { input },
    );
  }
}

function invalidPointer(path: string, problem: string, cause?: unknown): RegistryError {
  return new RegistryError(
    `Active model pointer "${path}" is invalid: ${problem}. Fix it or delete it; without it the active version is "${DEFAULT_VERSION}".`,
    { input: path, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Reads active.json of the registry in `dir`. A missing file means the
 * `default` version with no history; a file that cannot be read or parsed
 * raises a RegistryError naming the file.
 */
export async function readActivePointer(dir: string): Promise<ActivePointer> {
  const path = join(dir, ACTIVE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return { version: DEFAULT_VERSION, history: [], changedAt: null, reason: null, forced: false };
    throw new RegistryError(`Cannot read active model pointer "${path}": ${describeError(error)}.`, { cause: error, input: path });
  }

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw invalidPointer(path, `not valid JSON (${describeError(error)})`, error);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalidPointer(path, 'expected a JSON object');
  const record = data as Record<string, unknown>;
  if (!isValidVersion(record.version)) throw invalidPointer(path, `"version" ${JSON.stringify(record.version)} is not a valid version name`);
  const history = record.history ?? [];
  if (!Array.isArray(history) || !history.every(isValidVersion)) throw invalidPointer(path, '"history" must be a list of version names');
  const changedAt = record.changedAt ?? null;
  if (changedAt !== null && typeof changedAt !== 'string') throw invalidPointer(path, '"changedAt" must be a string or null');
  const reason = record.reason ?? null;
  if (reason !== null && typeof reason !== 'string') throw invalidPointer(path, '"reason" must be a string or null');
  return { version: record.version, history: [...history], changedAt, reason, forced: record.forced === true };
}

/** Writes active.json atomically. */
export async function writeActivePointer(dir: string, pointer: ActivePointer): Promise<void> {
  await writeFileDurably(join(dir, ACTIVE_FILE), `${JSON.stringify(pointer, null, 2)}\n`);
}

/** Appends one entry to registry-log.jsonl and fsyncs it. */
export async function appendLog(dir: string, entry: RegistryLogEntry): Promise<void> {
  const handle = await open(join(dir, LOG_FILE), 'a');
  try {
    await handle.writeFile(`${JSON.stringify(entry)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Runs `change` while holding registry.lock, so two processes cannot lose
 * each other's history entries. Waits up to `timeoutMs` for another holder.
 */
export async function withRegistryLock<T>(dir: string, timeoutMs: number, change: () => Promise<T>): Promise<T> {
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`, 'utf8');
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) {
        throw new RegistryError(`Cannot create lock file "${path}": ${describeError(error)}. The registry folder must be writable to change it.`, { cause: error, input: path });
      }
      if (Date.now() >= deadline) {
        const holder = await readFile(path, 'utf8').catch(() => '');
        // NOTE: a process killed while holding the lock leaves the file behind. It is not removed automatically,
        // because a pid cannot be checked on another host that shares the folder.
        throw new RegistryError(
          `Model registry "${dir}" is locked by another change (lock file "${path}", process ${holder.trim() || 'unknown'}). Retry; if no spamward process is changing the registry, delete the lock file.`,
          { input: path },
        );
      }
      await sleep(LOCK_RETRY_MS);
    }
  }
  try {
    return await change();
  } finally {
    await rm(path, { force: true });
  }
}
