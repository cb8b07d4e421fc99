import { FEATURE_COUNT, featureIndex } from './schema.js';

/** Writes named feature values into one Float32Array in schema order. */
export class FeatureWriter {
  constructor(readonly values: Float32Array = new Float32Array(FEATURE_COUNT)) {}

  set(name: string, value: number): void {
    this.values[featureIndex(name)] = Number.isFinite(value) ? value : 0;
  }
}
