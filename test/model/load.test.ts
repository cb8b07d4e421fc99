import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { FEATURE_COUNT, FEATURE_SCHEMA_DIGEST } from '../../src/features/index.js';
import { defaultModelDir, loadModel } from '../../src/model/index.js';
import { copyShippedModel, editManifest } from '../helpers/model.js';

describe('loadModel', () => {
  it('loads the shipped model', async () => {
    const model = await loadModel(defaultModelDir());
    expect(model.manifest.schema.digest).toBe(FEATURE_SCHEMA_DIGEST);
    expect(model.layers[0]?.inputs).toBe(FEATURE_COUNT);
    expect(model.tokens.size).toBeGreaterThan(1000);
  });

  it('rejects another schema digest', async () => {
    const dir = copyShippedModel();
    editManifest(dir, (manifest) => {
      (manifest.schema as { digest: string }).digest = 'f'.repeat(64);
    });
    await expect(loadModel(dir)).rejects.toThrow(/feature schema .*Retrain/);
  });

  it('rejects changed weights', async () => {
    const dir = copyShippedModel();
    const weights = readFileSync(join(dir, 'weights.bin'));
    weights[0] = (weights[0] ?? 0) ^ 0xff;
    writeFileSync(join(dir, 'weights.bin'), weights);
    const error = await loadModel(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as Error).message).toMatch(/Checksum mismatch for weights\.bin/);
  });

  it('rejects a changed token table', async () => {
    const dir = copyShippedModel();
    writeFileSync(join(dir, 'tokens.json'), '{"spamDocuments":1,"hamDocuments":1,"counts":{}}');
    await expect(loadModel(dir)).rejects.toThrow(/Checksum mismatch for tokens\.json/);
  });

  it('rejects a missing folder', async () => {
    await expect(loadModel('/nonexistent/spamward-model')).rejects.toThrow(/Cannot read manifest\.json in model folder "\/nonexistent\/spamward-model"/);
  });

  it('rejects a manifest that is not JSON', async () => {
    const dir = copyShippedModel();
    writeFileSync(join(dir, 'manifest.json'), '{ not json');
    await expect(loadModel(dir)).rejects.toThrow(/manifest\.json .* is not valid JSON/);
  });

  it('rejects an unknown format', async () => {
    const dir = copyShippedModel();
    editManifest(dir, (manifest) => {
      manifest.format = 'other/9';
    });
    await expect(loadModel(dir)).rejects.toThrow(/format "other\/9"/);
  });
});
