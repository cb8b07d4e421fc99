import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures } from '../../src/features/index.js';
import { defaultModelDir, forward, loadModel, type LoadedModel } from '../../src/model/index.js';
import { DEFAULT_PARSE_LIMITS, parseBytes } from '../../src/parse/index.js';
import { createScorer } from '../../src/pipeline/scorer.js';
import { loadSpamAssassin, SPAMASSASSIN_SET, type CorpusMessage } from '../../training/corpus.js';
import { scoreReplay } from '../../training/evaluation.js';
import { rocAuc } from '../../training/metrics.js';

// The whole SpamAssassin test split: 1,549 messages.
let model: LoadedModel;
let testSplit: CorpusMessage[];

beforeAll(async () => {
  model = await loadModel(defaultModelDir());
  testSplit = loadSpamAssassin().messages.filter((message) => message.split === 'test');
  await tf.setBackend('cpu');
});

describe('shipped model', () => {
  it('forward pass matches tfjs on the test split', async () => {
    const dir = defaultModelDir();
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    const weights = readFileSync(join(dir, 'weights.bin'));
    const tfModel = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0]?.weights ?? [],
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }));

    const rows: Float32Array[] = [];
    for (const message of testSplit) {
      const parsed = await parseBytes(message.raw, message.raw.length, DEFAULT_PARSE_LIMITS);
      rows.push(model.standardise(extractFeatures(parsed, { tokens: model.tokens })));
    }
    const width = rows[0]?.length ?? 0;
    const flat = new Float32Array(rows.length * width);
    rows.forEach((row, index) => flat.set(row, index * width));
    const expected = (tfModel.predict(tf.tensor2d(flat, [rows.length, width])) as tf.Tensor).dataSync();

    let maxDifference = 0;
    rows.forEach((row, index) => {
      const ours = forward(model.layers, row).probability;
      maxDifference = Math.max(maxDifference, Math.abs(ours - (expected[index] as number)));
    });
    expect(rows.length).toBe(1549);
    expect(maxDifference).toBeLessThan(1e-5);
  }, 120_000);

  it('test-split AUC matches the manifest', async () => {
    // The manifest's figures come from a replay of the whole set in arrival order; so does this check.
    const scored = await scoreReplay(
      () => createScorer({ modelDir: defaultModelDir(), requireModel: true, auth: { trustTopmostHeader: true } }),
      loadSpamAssassin().messages,
    );
    const items = scored.find((entry) => entry.set === SPAMASSASSIN_SET)?.items ?? [];
    const recorded = model.manifest.metrics.testSplit.find((row) => row.set === SPAMASSASSIN_SET);
    expect(items).toHaveLength(1549);
    expect(recorded?.auc).toBeTypeOf('number');
    expect(rocAuc(items)).toBeCloseTo(recorded?.auc as number, 6);
  }, 120_000);
});
