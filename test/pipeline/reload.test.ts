import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { defaultModelDir } from '../../src/model/index.js';
import { openRegistry, RegistryError, type ModelRegistry } from '../../src/model/registry.js';
import { createScorer, type Logger, type Scorer, type ScorerOptions } from '../../src/pipeline/scorer.js';
import { candidateModel, newRegistryDir } from '../helpers/model.js';

const SHIPPED_VERSION = (JSON.parse(readFileSync(join(defaultModelDir(), 'manifest.json'), 'utf8')) as { version: string }).version;
/** Milliseconds between polls in these tests; small, so a switch shows up quickly. */
const POLL_MS = 10;
/** Upper bound on the wait for a switch, far above what it takes, so a slow machine does not fail the test. */
const WAIT = { timeout: 10_000, interval: 5 };

const MESSAGE = [
  'From: Alice Example <alice@example.com>',
  'To: Bob <bob@example.org>',
  'Subject: notes from the meeting',
  'Date: Tue, 03 Dec 2024 10:00:00 +0000',
  'Message-ID: <20241203100000.1234@mail.example.com>',
  '',
  'Hi Bob, here are the notes from the meeting.',
  '',
].join('\r\n');

const scorers: Scorer[] = [];

afterEach(async () => {
  for (const scorer of scorers.splice(0)) await scorer.close();
});

/** Creates a registry with the shipped model as `default` and a candidate `v2`. */
async function newRegistry(): Promise<{ root: string; registry: ModelRegistry }> {
  const root = newRegistryDir();
  const registry = await openRegistry(root);
  await registry.addModel(candidateModel('v2'));
  return { root, registry };
}

function recordingLogger(): Logger & { warnings: string[]; notices: string[] } {
  const warnings: string[] = [];
  const notices: string[] = [];
  return { warnings, notices, warn: (message) => warnings.push(message), info: (message) => notices.push(message) };
}

async function scorerFor(root: string, options: ScorerOptions = {}): Promise<Scorer> {
  const scorer = await createScorer({ registry: root, reloadIntervalMs: POLL_MS, store: null, logger: recordingLogger(), ...options });
  scorers.push(scorer);
  return scorer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('scorer registry', () => {
  it('starts with the default version', async () => {
    const { root } = await newRegistry();
    const scorer = await scorerFor(root);
    expect(scorer.modelVersion).toBe(SHIPPED_VERSION);
    expect((await scorer.score(MESSAGE)).modelVersion).toBe(SHIPPED_VERSION);
  });

  it('starts with the active version', async () => {
    const { root, registry } = await newRegistry();
    await registry.promote('v2');
    const scorer = await scorerFor(root);
    expect(scorer.modelVersion).toBe('v2');
  });

  it('follows promote and rollback', async () => {
    const { root, registry } = await newRegistry();
    const logger = recordingLogger();
    const scorer = await scorerFor(root, { logger });

    await registry.promote('v2', { reason: 'test' });
    await vi.waitFor(() => expect(scorer.modelVersion).toBe('v2'), WAIT);
    expect((await scorer.score(MESSAGE)).modelVersion).toBe('v2');
    expect(logger.notices.at(-1)).toMatch(new RegExp(`switched model from ${SHIPPED_VERSION} to v2`));

    await registry.rollback({ reason: 'test' });
    await vi.waitFor(() => expect(scorer.modelVersion).toBe(SHIPPED_VERSION), WAIT);
    expect((await scorer.score(MESSAGE)).modelVersion).toBe(SHIPPED_VERSION);
    expect(logger.warnings).toEqual([]);
  });

  it('scores every message during a switch', async () => {
    const { root, registry } = await newRegistry();
    const scorer = await scorerFor(root, { reloadIntervalMs: 0 });
    const pending = Array.from({ length: 40 }, (_, index) => scorer.score(MESSAGE.replace('notes', `notes ${index}`)));
    await registry.promote('v2');
    const reloaded = scorer.reload();
    pending.push(...Array.from({ length: 40 }, () => scorer.score(MESSAGE)));

    const results = await Promise.all(pending);
    expect(results).toHaveLength(80);
    for (const result of results) expect([SHIPPED_VERSION, 'v2']).toContain(result.modelVersion);
    expect(await reloaded).toEqual({ version: 'v2', changed: true });
    expect((await scorer.score(MESSAGE)).modelVersion).toBe('v2');
  });

  it('reload reports no change', async () => {
    const { root } = await newRegistry();
    const scorer = await scorerFor(root, { reloadIntervalMs: 0 });
    expect(await scorer.reload()).toEqual({ version: SHIPPED_VERSION, changed: false });
  });

  it('keeps the model when the new one is corrupt', async () => {
    const { root } = await newRegistry();
    const logger = recordingLogger();
    const scorer = await scorerFor(root, { logger });
    const weights = join(root, 'v2', 'weights.bin');
    writeFileSync(weights, Buffer.alloc(readFileSync(weights).length));
    // Written by hand, because promote rejects the corrupt version.
    writeFileSync(join(root, 'active.json'), JSON.stringify({ version: 'v2', history: ['default'] }));

    await vi.waitFor(() => expect(logger.warnings).toHaveLength(1), WAIT);
    expect(logger.warnings[0]).toMatch(new RegExp(`keeping model ${SHIPPED_VERSION} .*Checksum mismatch for weights\\.bin`));
    await sleep(POLL_MS * 10);
    expect(logger.warnings).toHaveLength(1);
    expect(scorer.modelVersion).toBe(SHIPPED_VERSION);
    expect((await scorer.score(MESSAGE)).modelVersion).toBe(SHIPPED_VERSION);
    await expect(scorer.reload()).rejects.toThrow(/Checksum mismatch/);
  });

  it('keeps the model on a torn pointer', async () => {
    const { root } = await newRegistry();
    const logger = recordingLogger();
    const scorer = await scorerFor(root, { logger });
    writeFileSync(join(root, 'active.json'), '{"version": "v2"');
    await vi.waitFor(() => expect(logger.warnings).toHaveLength(1), WAIT);
    expect(logger.warnings[0]).toContain(`"${join(root, 'active.json')}" is invalid`);
    expect(scorer.modelVersion).toBe(SHIPPED_VERSION);
  });

  it('keeps the model on conflicting thresholds', async () => {
    const { root, registry } = await newRegistry();
    await registry.addModel(candidateModel('v3', (manifest) => {
      manifest.thresholds = { suspect: 1, spam: 2, reject: 3 };
    }));
    const scorer = await scorerFor(root, { reloadIntervalMs: 0, thresholds: { suspect: 2.5 } });
    await registry.promote('v3');
    await expect(scorer.reload()).rejects.toThrow(OptionsError);
    expect(scorer.modelVersion).toBe(SHIPPED_VERSION);
  });

  it('starts without a model on a torn pointer', async () => {
    const { root } = await newRegistry();
    writeFileSync(join(root, 'active.json'), 'not json');
    const logger = recordingLogger();
    const scorer = await scorerFor(root, { logger });
    expect(scorer.modelVersion).toBeNull();
    expect(scorer.modelError).toMatch(/is invalid: not valid JSON/);
    expect(logger.warnings).toHaveLength(1);
    expect((await scorer.score(MESSAGE)).degraded[0]).toMatch(/^model: unavailable/);

    writeFileSync(join(root, 'active.json'), JSON.stringify({ version: 'v2' }));
    await vi.waitFor(() => expect(scorer.modelVersion).toBe('v2'), WAIT);
    expect(scorer.modelError).toBeNull();
  });

  it('requireModel rejects a torn pointer', async () => {
    const { root } = await newRegistry();
    writeFileSync(join(root, 'active.json'), 'not json');
    await expect(createScorer({ registry: root, requireModel: true, store: null })).rejects.toThrow(RegistryError);
  });

  it('close stops polling', async () => {
    const { root, registry } = await newRegistry();
    const scorer = await createScorer({ registry: root, reloadIntervalMs: POLL_MS, store: null });
    await scorer.close();
    await registry.promote('v2');
    await sleep(POLL_MS * 10);
    expect(scorer.modelVersion).toBe(SHIPPED_VERSION);
  });

  it('modelDir turns reloading off', async () => {
    const { root, registry } = await newRegistry();
    const scorer = await createScorer({ modelDir: join(root, 'default'), reloadIntervalMs: POLL_MS, store: null });
    scorers.push(scorer);
    await registry.promote('v2');
    expect(await scorer.reload()).toEqual({ version: SHIPPED_VERSION, changed: false });
    expect(scorer.modelVersion).toBe(SHIPPED_VERSION);
  });

  it('rejects invalid options', async () => {
    await expect(createScorer({ registry: '/tmp', modelDir: null })).rejects.toThrow(/either modelDir .* or registry/);
    await expect(createScorer({ registry: '' })).rejects.toThrow(OptionsError);
    await expect(createScorer({ reloadIntervalMs: -1 })).rejects.toThrow(/reloadIntervalMs must be a whole number/);
    await expect(createScorer({ reloadIntervalMs: 1.5 })).rejects.toThrow(OptionsError);
  });
});
