import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFeedbackStore } from '../../src/feedback/index.js';
import { defaultModelDir } from '../../src/model/index.js';
import { openRegistry } from '../../src/model/registry.js';
import { loadSpamAssassin, type CorpusMessage, type CorpusSet } from '../../training/corpus.js';
import { retrain, type RetrainOptions } from '../../training/retrain.js';

// A small slice of the SpamAssassin corpus keeps each retrain to seconds.
const PER_LABEL_AND_SPLIT = { train: 60, test: 30 };

let work: string;
let small: CorpusSet;

function slice(set: CorpusSet): CorpusSet {
  const messages: CorpusMessage[] = [];
  for (const split of ['train', 'test'] as const) {
    for (const label of ['ham', 'spam'] as const) {
      messages.push(...set.messages.filter((message) => message.split === split && message.label === label).slice(0, PER_LABEL_AND_SPLIT[split]));
    }
  }
  return { ...set, messages };
}

/** Writes a feedback folder in which the test split's ham is reported as spam, as a mistaken or hostile reporter would do. */
async function poisonedFeedback(name: string): Promise<string> {
  const dir = join(work, name);
  const store = await openFeedbackStore(dir);
  for (const message of small.messages.filter((entry) => entry.split === 'test' && entry.label === 'ham')) {
    await store.add(message.raw, 'spam', { source: message.id, reason: 'wrong report' });
  }
  return dir;
}

function freshRegistry(name: string): string {
  const dir = join(work, name);
  cpSync(defaultModelDir(), join(dir, 'default'), { recursive: true });
  return dir;
}

function options(registry: string, overrides: Partial<RetrainOptions>): RetrainOptions {
  return { corpus: [], registry, baseSet: small, epochs: 2, hidden: 8, command: 'test', log: () => {}, ...overrides };
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'spamward-retrain-'));
  small = slice(loadSpamAssassin());
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('retrain', () => {
  it('rejects a poisoned candidate', async () => {
    const registry = freshRegistry('rejected');
    const result = await retrain(options(registry, { feedback: await poisonedFeedback('poisoned-1'), feedbackWeight: 50, version: 'bad-1' }));
    expect(result.outcome).toBe('rejected');
    expect(result.promoted).toBe(false);
    expect(result.decision.checks.find((check) => check.name === 'auc')?.passed).toBe(false);
    const opened = await openRegistry(registry);
    expect((await opened.active()).version).toBe('default');
    expect((await opened.list()).map((entry) => entry.version).sort()).toEqual(['bad-1', 'default']);
    const report = readFileSync(result.reportPath, 'utf8');
    expect(report).toContain('Outcome: **rejected**');
    expect(report).toMatch(/\| auc \| FAIL \|/);
  });

  it('promotes a rejected candidate with force and logs it', async () => {
    const registry = freshRegistry('forced');
    const result = await retrain(options(registry, { feedback: await poisonedFeedback('poisoned-2'), feedbackWeight: 50, version: 'bad-2', force: true }));
    expect(result.decision.passed).toBe(false);
    expect(result.outcome).toBe('promoted with --force');
    const opened = await openRegistry(registry);
    expect((await opened.active()).version).toBe('bad-2');
    expect(readFileSync(join(registry, 'registry-log.jsonl'), 'utf8')).toContain('"force"');
  });

  it('promotes a candidate that passes, with its parent and feedback recorded', async () => {
    const registry = freshRegistry('passed');
    const feedbackDir = join(work, 'feedback');
    const store = await openFeedbackStore(feedbackDir);
    // Spam from the test split that the slice leaves out, reported as spam.
    const extra = loadSpamAssassin().messages.filter((message) => message.label === 'spam' && message.split === 'test').slice(40, 52);
    for (const message of extra) await store.add(message.raw, 'spam', { source: message.id });
    const held = (await store.list()).filter((entry) => /^[c-f]/.test(entry.sha256)).length;
    expect(held).toBeGreaterThan(0);
    const result = await retrain(options(registry, { feedback: feedbackDir, version: 'good-1', tolerances: { auc: 1, fpr: 1, recall: 1 } }));
    const feedbackCheck = result.decision.checks.find((check) => check.name === 'feedback');
    expect(feedbackCheck?.detail).toMatch(new RegExp(`candidate \\d+ of ${held}, active \\d+ of ${held}`));
    // With AUC, FPR and recall tolerated, the feedback check alone decides.
    expect(result.decision.passed).toBe(feedbackCheck?.passed);
    expect(result.promoted).toBe(result.decision.passed);
    expect((await (await openRegistry(registry)).active()).version).toBe(result.promoted ? 'good-1' : 'default');
    const manifest = JSON.parse(readFileSync(join(result.dir, 'manifest.json'), 'utf8')) as { parent: string; data: { feedback: string | null } };
    expect(manifest.parent).toBe('default');
    expect(manifest.data.feedback).toMatch(/^[0-9a-f]{64}$/);
  });

  it('promotes with loose tolerances when no feedback is given', async () => {
    const registry = freshRegistry('loose');
    const result = await retrain(options(registry, { version: 'good-2', tolerances: { auc: 1, fpr: 1, recall: 1 } }));
    expect(result.decision.passed).toBe(true);
    expect(result.outcome).toBe('promoted');
    expect((await (await openRegistry(registry)).active()).version).toBe('good-2');
  });
});
