/**
 * A model registry: a folder whose subfolders are model versions, with a
 * pointer (active.json) naming the version the scorers use. Promote and
 * rollback load the target model first, so a corrupt or mismatched model is
 * never made active. Every change is appended to registry-log.jsonl.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describeError } from '../errors.js';
import { defaultModelDir, loadModel } from './index.js';
import { syncFolder } from '../durable.js';
import type { ModelManifest, SetMetrics } from './manifest.js';
import {
  appendLog,
  checkVersion,
  isValidVersion,
  readActivePointer,
  RegistryError,
  withRegistryLock,
  writeActivePointer,
  type ActivePointer,
  type RegistryAction,
} from './registry-files.js';

export { ACTIVE_FILE, DEFAULT_VERSION, LOG_FILE, readActivePointer, RegistryError, type ActivePointer, type RegistryAction, type RegistryLogEntry } from './registry-files.js';

/** Default number of earlier active versions kept in active.json for rollback. */
export const DEFAULT_HISTORY_LIMIT = 50;
/** Default milliseconds a change waits for another process's lock on the registry. */
export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
/** The test split whose metrics are a model's headline: the SpamAssassin public corpus. */
export const HEADLINE_SET = 'spamassassin';

export interface OpenRegistryOptions {
  /** Earlier active versions kept in active.json; older ones are dropped and can no longer be rolled back to. Default 50. */
  historyLimit?: number;
  /** Milliseconds promote, rollback and addModel wait for another process's change to finish. Default 5000. */
  lockTimeoutMs?: number;
}

/** One version in a registry, summarised from its manifest. */
export interface RegistryEntry {
  /** Version name: the folder name in the registry. */
  version: string;
  /** Absolute path of the version's folder. */
  dir: string;
  /** Whether active.json names this version. */
  active: boolean;
  /** `version` from manifest.json, which each ScoreResult carries as modelVersion; null when the manifest is unreadable. */
  modelVersion: string | null;
  createdAt: string | null;
  /** Version the model was trained from, or null. */
  parent: string | null;
  /** Metrics of the SpamAssassin test split, or null when the manifest has none. */
  headline: SetMetrics | null;
  /** Error message of loadModel, or null when the folder loads. */
  error: string | null;
}

export interface RegistryEntryDetail extends RegistryEntry {
  /** The parsed manifest.json, or null when it is missing or not JSON. */
  manifest: ModelManifest | null;
}

export interface PromoteOptions {
  /** Reason for the promotion, stored in active.json and the log. */
  reason?: string;
  /**
   * Promote even when the candidate's headline AUC is missing or lower than
   * the active model's. A model that fails to load is never promoted.
   */
  force?: boolean;
  /**
   * The caller scored both models on the same data and its own checks
   * passed (the retraining gate does this), so the comparison of the
   * manifests' headline AUCs, which may come from different data, is
   * skipped. The log records the promotion as `promote`.
   */
  gated?: boolean;
}

export interface SwitchResult {
  /** Version active before the call. */
  from: string;
  /** Version active after the call. */
  to: string;
  /** False when `to` was already active, so nothing was written. */
  changed: boolean;
  pointer: ActivePointer;
}

export interface ModelRegistry {
  /** Absolute path of the registry folder. */
  readonly dir: string;
  /** Summarises every version folder; a folder that does not load carries its error instead of raising it. */
  list(): Promise<RegistryEntry[]>;
  /** Summarises one version with its full manifest. */
  show(version: string): Promise<RegistryEntryDetail>;
  /** Reads active.json. */
  active(): Promise<ActivePointer>;
  /** Returns the folder of the active version. */
  activeDir(): Promise<string>;
  /** Makes `version` active after loading it, and records the previous one in the history. */
  promote(version: string, options?: PromoteOptions): Promise<SwitchResult>;
  /** Makes the newest version in the history active again, after loading it. */
  rollback(options?: { reason?: string }): Promise<SwitchResult>;
  /** Copies a model folder into the registry as a new version; `version` defaults to the manifest's version. */
  addModel(sourceDir: string, options?: { version?: string }): Promise<RegistryEntry>;
}

function headlineOf(manifest: ModelManifest | null): SetMetrics | null {
  const sets = manifest?.metrics?.testSplit;
  if (!Array.isArray(sets)) return null;
  return sets.find((metrics) => metrics?.set === HEADLINE_SET) ?? null;
}

async function readManifestLoosely(dir: string): Promise<ModelManifest | null> {
  try {
    const data: unknown = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as ModelManifest) : null;
  } catch {
    return null;
  }
}

async function describeVersion(dir: string, version: string, active: boolean): Promise<RegistryEntryDetail> {
  const manifest = await readManifestLoosely(dir);
  let error: string | null = null;
  try {
    await loadModel(dir);
  } catch (caught) {
    error = describeError(caught);
  }
  return {
    version,
    dir,
    active,
    modelVersion: typeof manifest?.version === 'string' ? manifest.version : null,
    createdAt: typeof manifest?.createdAt === 'string' ? manifest.createdAt : null,
    parent: typeof manifest?.parent === 'string' ? manifest.parent : null,
    headline: headlineOf(manifest),
    error,
    manifest,
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function checkPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RegistryError(`${name} must be a positive whole number, got ${JSON.stringify(value)}.`, { input: name });
  }
}

/** Copies the regular files at the top of `sourceDir` into `targetDir`, fsyncing each file and then the folder. */
async function copyModelFiles(sourceDir: string, targetDir: string): Promise<void> {
  for (const entry of await readdir(sourceDir, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const target = join(targetDir, entry.name);
    await copyFile(join(sourceDir, entry.name), target);
    const handle = await open(target, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  await syncFolder(targetDir);
}

/** The package's models/ folder, which contains the shipped `default` version. */
export function defaultRegistryDir(): string {
  return dirname(defaultModelDir());
}

/**
 * Opens the registry in `dir` (default: the package's models/ folder). It
 * raises a RegistryError when the folder does not exist.
 */
export async function openRegistry(dir: string = defaultRegistryDir(), options: OpenRegistryOptions = {}): Promise<ModelRegistry> {
  const root = resolve(dir);
  if (!(await isDirectory(root))) {
    throw new RegistryError(`Model registry folder "${root}" does not exist or is not a folder.`, { input: root });
  }
  const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  checkPositiveInteger(historyLimit, 'historyLimit');
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 0) {
    throw new RegistryError(`lockTimeoutMs must be a whole number of milliseconds, 0 or more, got ${JSON.stringify(lockTimeoutMs)}.`, { input: 'lockTimeoutMs' });
  }

  /** Returns the folder of an existing version, or raises a RegistryError listing the versions there are. */
  async function versionDir(version: string): Promise<string> {
    checkVersion(version, version);
    const folder = join(root, version);
    if (await isDirectory(folder)) return folder;
    const known = (await listVersionNames()).join(', ') || 'none';
    throw new RegistryError(`Model version "${version}" not found in registry "${root}". Versions: ${known}.`, { input: version });
  }

  async function listVersionNames(): Promise<string[]> {
    const names: string[] = [];
    for (const entry of await readdir(root, { withFileTypes: true })) {
      // Dot folders are copies in progress (see addModel) and are never versions.
      if (!entry.isDirectory() || !isValidVersion(entry.name)) continue;
      if (await stat(join(root, entry.name, 'manifest.json')).then(() => true, () => false)) names.push(entry.name);
    }
    return names.sort();
  }

  /** Loads the model in `folder`, turning a ModelLoadError into a RegistryError that states the pointer was not changed. */
  async function loadOrReject(version: string, folder: string, action: string): Promise<ModelManifest> {
    try {
      return (await loadModel(folder)).manifest;
    } catch (error) {
      throw new RegistryError(`Cannot ${action} model version "${version}": ${describeError(error)} The active version was not changed.`, { cause: error, input: folder });
    }
  }

  async function switchTo(pointer: ActivePointer, next: ActivePointer, action: RegistryAction): Promise<SwitchResult> {
    await writeActivePointer(root, next);
    await appendLog(root, { action, from: pointer.version, to: next.version, time: next.changedAt ?? new Date().toISOString(), reason: next.reason });
    return { from: pointer.version, to: next.version, changed: true, pointer: next };
  }

  async function promote(version: string, options: PromoteOptions = {}): Promise<SwitchResult> {
    const folder = await versionDir(version);
    const manifest = await loadOrReject(version, folder, 'promote');
    return withRegistryLock(root, lockTimeoutMs, async () => {
      const pointer = await readActivePointer(root);
      if (pointer.version === version) return { from: version, to: version, changed: false, pointer };

      const force = options.force === true;
      if (!force && options.gated !== true) {
        const candidate = headlineOf(manifest)?.auc ?? null;
        const current = headlineOf(await readManifestLoosely(join(root, pointer.version)))?.auc ?? null;
        if (candidate === null) {
          throw new RegistryError(`Model version "${version}" has no AUC for the ${HEADLINE_SET} test split in its manifest, so it cannot be compared with "${pointer.version}". Evaluate it, or promote it with force (--force on the command line).`, { input: version });
        }
        if (current !== null && candidate < current) {
          throw new RegistryError(`Model version "${version}" has a lower ${HEADLINE_SET} test AUC (${candidate}) than the active "${pointer.version}" (${current}). Promote it with force (--force on the command line) to switch anyway.`, { input: version });
        }
      }
      const next: ActivePointer = {
        version,
        history: [...pointer.history, pointer.version].slice(-historyLimit),
        changedAt: new Date().toISOString(),
        reason: options.reason ?? null,
        forced: force,
      };
      return switchTo(pointer, next, force ? 'force' : 'promote');
    });
  }

  async function rollback(options: { reason?: string } = {}): Promise<SwitchResult> {
    return withRegistryLock(root, lockTimeoutMs, async () => {
      const pointer = await readActivePointer(root);
      const previous = pointer.history.at(-1);
      if (previous === undefined) {
        throw new RegistryError(`Nothing to roll back to in registry "${root}": active.json has no earlier version (active: "${pointer.version}").`, { input: root });
      }
      await loadOrReject(previous, await versionDir(previous), 'roll back to');
      const next: ActivePointer = {
        version: previous,
        history: pointer.history.slice(0, -1),
        changedAt: new Date().toISOString(),
        reason: options.reason ?? null,
        forced: false,
      };
      return switchTo(pointer, next, 'rollback');
    });
  }

  async function addModel(sourceDir: string, options: { version?: string } = {}): Promise<RegistryEntry> {
    let manifest: ModelManifest;
    try {
      manifest = (await loadModel(sourceDir)).manifest;
    } catch (error) {
      throw new RegistryError(`Cannot add model folder "${sourceDir}": ${describeError(error)}`, { cause: error, input: sourceDir });
    }
    const version = options.version ?? manifest.version;
    checkVersion(version, version);
    return withRegistryLock(root, lockTimeoutMs, async () => {
      const target = join(root, version);
      if (await stat(target).then(() => true, () => false)) {
        throw new RegistryError(`Model version "${version}" already exists in registry "${root}"; versions are never overwritten. Choose another version name.`, { input: target });
      }
      // Copied under a dot name first, so a crash mid-copy never leaves a folder that looks like a version.
      const staging = join(root, `.${version}.partial-${randomBytes(6).toString('hex')}`);
      try {
        await mkdir(staging);
        await copyModelFiles(sourceDir, staging);
        await loadModel(staging);
        await rename(staging, target);
      } catch (error) {
        await rm(staging, { recursive: true, force: true });
        throw new RegistryError(`Cannot copy model folder "${sourceDir}" into registry "${root}" as "${version}": ${describeError(error)}`, { cause: error, input: sourceDir });
      }
      await syncFolder(root);
      await appendLog(root, { action: 'add', from: null, to: version, time: new Date().toISOString(), reason: `copied from ${resolve(sourceDir)}` });
      const pointer = await readActivePointer(root);
      const { manifest: _manifest, ...entry } = await describeVersion(target, version, pointer.version === version);
      return entry;
    });
  }

  return {
    dir: root,
    async list() {
      const pointer = await readActivePointer(root);
      const entries: RegistryEntry[] = [];
      for (const version of await listVersionNames()) {
        const { manifest: _manifest, ...entry } = await describeVersion(join(root, version), version, version === pointer.version);
        entries.push(entry);
      }
      return entries;
    },
    async show(version: string) {
      const pointer = await readActivePointer(root);
      return describeVersion(await versionDir(version), version, version === pointer.version);
    },
    active: () => readActivePointer(root),
    async activeDir() {
      return join(root, (await readActivePointer(root)).version);
    },
    promote,
    rollback,
    addModel,
  };
}
