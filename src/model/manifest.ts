/** manifest.json of a model folder: what the model is, what it was trained on, how it scored. */

export const MODEL_FORMAT = 'spamward-model/1';

export interface TrainingSetRecord {
  name: string;
  licence: string;
  source: string;
  sha256: string;
  messages: { train: number; test: number; ham: number; spam: number };
}

export interface SetMetrics {
  set: string;
  messages: number;
  ham: number;
  spam: number;
  /** ROC AUC of the combined score; null when the set holds one class only. */
  auc: number | null;
  /** False-positive rate at the default spam threshold; null without ham. */
  fpr: number | null;
  /** False-negative rate at the default spam threshold; null without spam. */
  fnr: number | null;
  /** Spam recall at the best threshold that keeps FPR at or below 1% and 0.1%; null without both classes. */
  recallAtFpr1: number | null;
  recallAtFpr01: number | null;
}

/** sha256 digests of what a model was trained on, so two versions can be compared without the data. */
export interface ModelDataRecord {
  /** sha256 of each training data set, by set name. */
  sets: Record<string, string>;
  /** sha256 of the feedback (corrected verdicts) used in training, or null when none was used. */
  feedback: string | null;
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: string;
  createdAt: string;
  schema: { version: number; digest: string; features: string[] };
  /** Per-feature mean and standard deviation applied before the network. */
  normalisation: { mean: number[]; std: number[] };
  /** Score thresholds calibrated on the validation split. */
  thresholds: { suspect: number; spam: number; reject: number };
  /** Weight given to the summed rule scores when combined with the model's log-odds. */
  ruleWeight: number;
  training: {
    seed: number;
    epochs: number;
    sets: TrainingSetRecord[];
    /** Tokens masked because they mark one corpus source. */
    maskedTokens: number;
    /** From and Reply-To tokens masked because the public-domain corpus does not contain them. */
    maskedAddressTokens?: number;
    backend: string;
  };
  metrics: {
    /** Test split scored with authentication read from each message's topmost Authentication-Results. */
    testSplit: SetMetrics[];
    /** The same messages scored with every authentication input unknown, as when DNS is down. */
    testSplitAuthUnknown: SetMetrics[];
    computedAt: string;
    command: string;
  };
  /** sha256 of every file in the folder but the manifest, by file name. */
  checksums: Record<string, string>;
  /** Registry version this model was trained from (fine-tuned or retrained on feedback), or null for a model trained from scratch. Absent in older manifests. */
  parent?: string | null;
  /** Digests of the training data and feedback. Absent in older manifests. */
  data?: ModelDataRecord;
}
