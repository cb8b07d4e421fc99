import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CorpusError } from '../src/errors.js';
import { openFeedbackStore } from '../src/feedback/index.js';
import { splitOf, type CorpusMessage, type CorpusSet } from './corpus.js';

/**
 * Reported messages as a training set. The latest label of each message
 * counts. A message is held out of training (split `test`) when the first
 * hex digit of its sha256 is c, d, e or f, the same rule as the corpora.
 * About a quarter of the reports are therefore left for the gate to check
 * the candidate on.
 */

export const FEEDBACK_SET = 'feedback';

/** Loads a feedback folder. Throws a CorpusError naming the folder when it is missing or contains no usable report. */
export async function loadFeedbackSet(dir: string): Promise<CorpusSet> {
  let entries;
  try {
    const store = await openFeedbackStore(dir, { create: false });
    entries = await store.list();
  } catch (error) {
    throw new CorpusError(`Cannot read the feedback folder "${dir}": ${error instanceof Error ? error.message : String(error)}`, { cause: error, input: dir });
  }
  const messages: CorpusMessage[] = [];
  const digest = createHash('sha256');
  for (const entry of entries) {
    if (entry.status !== 'ok') {
      process.stderr.write(`feedback: skipped ${entry.sha256}: ${entry.problem ?? entry.status}\n`);
      continue;
    }
    messages.push({ id: `${FEEDBACK_SET}/${entry.sha256}`, set: FEEDBACK_SET, label: entry.label, split: splitOf(entry.sha256), path: entry.path, raw: readFileSync(entry.path) });
    digest.update(`${entry.sha256} ${entry.label}\n`);
  }
  if (messages.length === 0) throw new CorpusError(`The feedback folder "${dir}" contains no readable report. Add reports with \`spamward feedback add\`.`, { input: dir });
  return {
    name: FEEDBACK_SET,
    licence: 'messages reported by the site running the training; not redistributed',
    source: `feedback folder ${dir}`,
    sha256: digest.digest('hex'),
    messages,
  };
}
