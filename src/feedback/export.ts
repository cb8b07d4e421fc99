/**
 * Export of the feedback store as a labelled corpus set: `<out>/spam/*.eml`,
 * `<out>/ham/*.eml` and `<out>/labels.jsonl`. Given as `<corpus>/<set>`, the
 * folder is one set of a modern corpus folder as training/corpus.ts reads it.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../errors.js';
import { ensureFolder, fileContains, syncFolder, TEMPORARY_PREFIX, writeFileDurably } from '../durable.js';
import { FeedbackStoreError } from './errors.js';
import { FEEDBACK_LABELS, type ExportedLabel, type ExportSummary, type FeedbackEntry, type FeedbackLabel } from './types.js';

export const LABELS_FILE = 'labels.jsonl';

function otherLabel(label: FeedbackLabel): FeedbackLabel {
  return label === 'spam' ? 'ham' : 'spam';
}

/** Removes `file` and returns true, or returns false when it does not exist. */
async function removeIfPresent(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Reads and hashes a stored copy. Returns its bytes, or marks the entry
 * skipped when the copy is missing, unreadable or no longer matches its name.
 */
async function readVerified(entry: FeedbackEntry): Promise<Buffer | null> {
  if (entry.status !== 'ok') return null;
  try {
    const bytes = await readFile(entry.path);
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual === entry.sha256) return bytes;
    entry.status = 'mismatch';
    entry.problem = `Stored copy ${entry.path} no longer matches its name: its SHA-256 is ${actual}.`;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    entry.status = missing ? 'missing' : 'unreadable';
    entry.problem = missing ? `Stored copy ${entry.path} is missing.` : `Cannot read stored copy ${entry.path}: ${describeError(error)}.`;
  }
  return null;
}

/** Lists the `.eml` files in the label folders whose digest is not one of `known`. */
async function findForeignFiles(outDir: string, known: Set<string>): Promise<string[]> {
  const foreign: string[] = [];
  for (const label of FEEDBACK_LABELS) {
    const names = (await readdir(path.join(outDir, label))).sort();
    for (const name of names) {
      if (name.startsWith(TEMPORARY_PREFIX) || !name.endsWith('.eml')) continue;
      if (!known.has(name.slice(0, -'.eml'.length))) foreign.push(path.join(outDir, label, name));
    }
  }
  return foreign;
}

/**
 * Writes `entries` under their labels into `outDir` (see FeedbackStore.export).
 * Files already there with the same bytes are kept. Folders are fsynced once
 * after their files, and labels.jsonl is written last, so a complete
 * labels.jsonl means a complete export.
 */
export async function exportEntries(entries: FeedbackEntry[], outDir: string): Promise<ExportSummary> {
  const root = path.resolve(outDir);
  const summary: ExportSummary = { spam: 0, ham: 0, written: 0, removed: 0, skipped: [], foreign: [], labelsPath: path.join(root, LABELS_FILE) };
  const labels: ExportedLabel[] = [];
  let current = root;
  try {
    for (const label of FEEDBACK_LABELS) {
      current = path.join(root, label);
      await ensureFolder(current);
    }
    for (const entry of entries) {
      const bytes = await readVerified(entry);
      if (bytes === null) {
        summary.skipped.push(entry);
        continue;
      }
      const file = `${entry.label}/${entry.sha256}.eml`;
      current = path.join(root, file);
      if (!(await fileContains(current, bytes))) {
        await writeFileDurably(current, bytes, false);
        summary.written += 1;
      }
      current = path.join(root, otherLabel(entry.label), `${entry.sha256}.eml`);
      if (await removeIfPresent(current)) summary.removed += 1;
      summary[entry.label] += 1;
      const latest = entry.history[entry.history.length - 1];
      labels.push({ sha256: entry.sha256, label: entry.label, file, reports: entry.reports, time: latest?.time ?? '', reason: latest?.reason ?? null });
    }
    for (const label of FEEDBACK_LABELS) {
      current = path.join(root, label);
      await syncFolder(current);
    }
    current = root;
    summary.foreign = await findForeignFiles(root, new Set(entries.map((entry) => entry.sha256)));
    current = summary.labelsPath;
    await writeFileDurably(current, labels.map((line) => `${JSON.stringify(line)}\n`).join(''));
  } catch (error) {
    throw new FeedbackStoreError(`Cannot export feedback to ${outDir}: ${current}: ${describeError(error)}.`, { input: current, cause: error });
  }
  return summary;
}
