import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeError, ModelLoadError } from '../errors.js';
import { FEATURE_NAMES, FEATURE_SCHEMA_DIGEST, FEATURE_SCHEMA_VERSION } from '../features/schema.js';
import { TokenTable, type TokenTableData } from '../features/token-table.js';
import { MODEL_FORMAT, type ModelManifest } from './manifest.js';
import { forward, readDenseNetwork, type DenseLayer } from './network.js';

export { MODEL_FORMAT, type ModelManifest, type SetMetrics, type TrainingSetRecord } from './manifest.js';
export { forward, readDenseNetwork, type DenseLayer, type ForwardResult } from './network.js';

/** Files a model folder holds besides manifest.json. */
export const MODEL_FILES = ['model.json', 'weights.bin', 'tokens.json'] as const;

/** The model shipped with the package: models/default beside dist/ or src/. */
export function defaultModelDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/model → repository root, or dist/src/model → repository root.
  const root = here.includes(`${join('dist', 'src')}`) ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');
  return join(root, 'models', 'default');
}

export interface FeatureContribution {
  feature: string;
  /** Change in log-odds attributed to the feature: gradient times standardised input. */
  contribution: number;
  /** The feature's value in this message. */
  value: number;
  /** The feature's mean over the training rows, the point a contribution is measured from. */
  mean: number;
}

export interface Prediction {
  probability: number;
  logit: number;
  contributions: FeatureContribution[];
}

export interface LoadedModel {
  dir: string;
  manifest: ModelManifest;
  tokens: TokenTable;
  layers: DenseLayer[];
  /** Standardises a raw feature vector with the manifest's mean and deviation. */
  standardise(features: Float32Array): Float32Array;
  /** Scores one feature vector and returns the `top` largest contributions by absolute value. */
  predict(features: Float32Array, top?: number): Prediction;
}

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readModelFile(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (error) {
    throw new ModelLoadError(`Cannot read ${name} in model folder "${dir}": ${describeError(error)}. A model folder holds manifest.json, ${MODEL_FILES.join(', ')}.`, { cause: error, input: dir });
  }
}

function checkManifest(manifest: ModelManifest, dir: string): void {
  if (manifest.format !== MODEL_FORMAT) {
    throw new ModelLoadError(`Model in "${dir}" has format ${JSON.stringify(manifest.format)}; this version of spamward reads ${MODEL_FORMAT}.`, { input: dir });
  }
  if (manifest.schema?.digest !== FEATURE_SCHEMA_DIGEST) {
    throw new ModelLoadError(
      `Model in "${dir}" was trained with feature schema ${manifest.schema?.version ?? '?'} (digest ${String(manifest.schema?.digest).slice(0, 12)}), but this spamward extracts schema ${FEATURE_SCHEMA_VERSION} (digest ${FEATURE_SCHEMA_DIGEST.slice(0, 12)}). Retrain the model or use a matching spamward version.`,
      { input: dir },
    );
  }
  const { mean, std } = manifest.normalisation ?? {};
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== FEATURE_NAMES.length || std.length !== FEATURE_NAMES.length) {
    throw new ModelLoadError(`Model in "${dir}" has normalisation vectors that do not match the ${FEATURE_NAMES.length} features of the schema.`, { input: dir });
  }
}

/**
 * Loads a model folder. It checks the format, the feature schema digest and
 * the sha256 of every file against manifest.json, and throws a
 * ModelLoadError that names the folder and the mismatch.
 */
export async function loadModel(dir: string = defaultModelDir()): Promise<LoadedModel> {
  const manifestBytes = await readModelFile(dir, 'manifest.json');
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as ModelManifest;
  } catch (error) {
    throw new ModelLoadError(`manifest.json in "${dir}" is not valid JSON: ${describeError(error)}.`, { cause: error, input: dir });
  }
  checkManifest(manifest, dir);

  const files = new Map<string, Buffer>();
  for (const name of MODEL_FILES) {
    const bytes = await readModelFile(dir, name);
    const expected = manifest.checksums?.[name];
    const actual = sha256(bytes);
    if (expected !== actual) {
      throw new ModelLoadError(`Checksum mismatch for ${name} in "${dir}": manifest says ${expected ?? 'nothing'}, file has ${actual}. The file is corrupt or was changed after training.`, { input: join(dir, name) });
    }
    files.set(name, bytes);
  }

  let layers: DenseLayer[];
  let tokenData: TokenTableData;
  try {
    const modelJson: unknown = JSON.parse((files.get('model.json') as Buffer).toString('utf8'));
    layers = readDenseNetwork(modelJson, (path) => {
      const weights = files.get(basename(path));
      if (!weights) throw new ModelLoadError(`model.json names weight file ${path}, which is not part of the model folder.`);
      return weights;
    });
    tokenData = JSON.parse((files.get('tokens.json') as Buffer).toString('utf8')) as TokenTableData;
  } catch (error) {
    if (error instanceof ModelLoadError) throw new ModelLoadError(`${error.message} (model folder "${dir}")`, { cause: error, input: dir });
    throw new ModelLoadError(`Model files in "${dir}" cannot be read: ${describeError(error)}.`, { cause: error, input: dir });
  }
  if (layers[0]?.inputs !== FEATURE_NAMES.length) {
    throw new ModelLoadError(`Model in "${dir}" takes ${layers[0]?.inputs} inputs but the feature schema has ${FEATURE_NAMES.length}.`, { input: dir });
  }

  const mean = Float32Array.from(manifest.normalisation.mean);
  const std = Float32Array.from(manifest.normalisation.std);
  const standardise = (features: Float32Array): Float32Array => {
    const out = new Float32Array(features.length);
    for (let index = 0; index < features.length; index += 1) {
      out[index] = ((features[index] as number) - (mean[index] as number)) / (std[index] as number);
    }
    return out;
  };

  return {
    dir,
    manifest,
    tokens: new TokenTable(tokenData),
    layers,
    standardise,
    predict(features: Float32Array, top = 5): Prediction {
      const input = standardise(features);
      const result = forward(layers, input);
      const contributions: FeatureContribution[] = [];
      for (let index = 0; index < input.length; index += 1) {
        const contribution = (result.gradient[index] as number) * (input[index] as number);
        if (contribution !== 0) {
          contributions.push({ feature: FEATURE_NAMES[index] as string, contribution, value: features[index] as number, mean: mean[index] as number });
        }
      }
      contributions.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
      return { probability: result.probability, logit: result.logit, contributions: contributions.slice(0, top) };
    },
  };
}
