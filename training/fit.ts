import { SpamwardError } from '../src/errors.js';

/**
 * Trains the network with TensorFlow.js. @tensorflow/tfjs-node is used when
 * it is installed (its native backend is faster); otherwise the pure
 * JavaScript @tensorflow/tfjs. Both save the same layers-model format.
 */

type Tf = typeof import('@tensorflow/tfjs');

export interface LoadedTf {
  tf: Tf;
  backend: string;
}

export async function loadTf(): Promise<LoadedTf> {
  try {
    const tf = (await import('@tensorflow/tfjs-node' as string)) as Tf;
    return { tf, backend: `tfjs-node ${tf.version.tfjs}` };
  } catch {
    // Not installed, or its native library failed to load: fall back to pure JavaScript.
  }
  try {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    return { tf, backend: `tfjs ${tf.version.tfjs} (cpu)` };
  } catch (error) {
    throw new SpamwardError('Training needs @tensorflow/tfjs. Install the development dependencies with `npm install` in the repository.', { cause: error, input: '@tensorflow/tfjs' });
  }
}

/** Mulberry32: a small seeded generator, so shuffling and sampling repeat run for run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FitOptions {
  seed: number;
  epochs: number;
  hiddenUnits: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the kernels. */
  l2: number;
  /** Called after each epoch with the mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * Fits Dense(hidden, relu) → Dense(1, sigmoid) on standardised rows with a
 * per-row weight, with a hand-written loop because tfjs's `fit` takes class
 * weights but not sample weights.
 */
export async function fitNetwork(
  { tf }: LoadedTf,
  rows: Float32Array[],
  labels: number[],
  weights: number[],
  options: FitOptions,
): Promise<import('@tensorflow/tfjs').LayersModel> {
  const inputs = rows[0]?.length ?? 0;
  const model = tf.sequential();
  model.add(tf.layers.dense({
    name: 'hidden',
    inputShape: [inputs],
    units: options.hiddenUnits,
    activation: 'relu',
    kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed }),
    biasInitializer: 'zeros',
  }));
  model.add(tf.layers.dense({
    name: 'output',
    units: 1,
    activation: 'sigmoid',
    kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1 }),
    biasInitializer: 'zeros',
  }));

  const optimizer = tf.train.adam(options.learningRate);
  const random = seededRandom(options.seed);
  const order = rows.map((_, index) => index);
  const flat = new Float32Array(rows.length * inputs);
  rows.forEach((row, index) => flat.set(row, index * inputs));

  for (let epoch = 0; epoch < options.epochs; epoch += 1) {
    for (let index = order.length - 1; index > 0; index -= 1) {
      const swap = Math.floor(random() * (index + 1));
      [order[index], order[swap]] = [order[swap] as number, order[index] as number];
    }
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      const batch = order.slice(start, start + options.batchSize);
      const x = new Float32Array(batch.length * inputs);
      batch.forEach((rowIndex, position) => x.set(flat.subarray(rowIndex * inputs, (rowIndex + 1) * inputs), position * inputs));
      const xs = tf.tensor2d(x, [batch.length, inputs]);
      const ys = tf.tensor2d(batch.map((rowIndex) => labels[rowIndex] as number), [batch.length, 1]);
      const ws = tf.tensor2d(batch.map((rowIndex) => weights[rowIndex] as number), [batch.length, 1]);
      const loss = optimizer.minimize(() => {
        const predictions = (model.apply(xs) as import('@tensorflow/tfjs').Tensor).clipByValue(1e-7, 1 - 1e-7);
        const crossEntropy = tf.neg(tf.add(tf.mul(ys, tf.log(predictions)), tf.mul(tf.sub(1, ys), tf.log(tf.sub(1, predictions)))));
        const weighted = tf.div(tf.sum(tf.mul(crossEntropy, ws)), tf.sum(ws));
        const penalty = tf.addN(model.layers.map((layer) => tf.sum(tf.square(layer.getWeights()[0] as import('@tensorflow/tfjs').Tensor))));
        return tf.add(weighted, tf.mul(options.l2, penalty)) as import('@tensorflow/tfjs').Scalar;
      }, true);
      lossSum += loss ? (await loss.data())[0] ?? 0 : 0;
      batches += 1;
      tf.dispose(loss ? [xs, ys, ws, loss] : [xs, ys, ws]);
    }
    options.onEpoch?.(epoch, lossSum / Math.max(1, batches));
  }
  return model;
}

export interface SavedArtifacts {
  modelJson: string;
  weights: Buffer;
}

/** Serialises a model into model.json (naming weights.bin) and the weight bytes. */
export async function serialiseModel({ tf }: LoadedTf, model: import('@tensorflow/tfjs').LayersModel, generatedBy: string): Promise<SavedArtifacts> {
  let saved: SavedArtifacts | null = null;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const weightData = artifacts.weightData;
    const bytes = Array.isArray(weightData) ? Buffer.concat(weightData.map((part) => Buffer.from(part))) : Buffer.from(weightData as ArrayBuffer);
    saved = {
      modelJson: `${JSON.stringify({
        format: 'layers-model',
        generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      }, null, 1)}\n`,
      weights: bytes,
    };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  if (!saved) throw new SpamwardError('TensorFlow.js did not hand over the model artifacts while saving.');
  return saved;
}
