/**
 * Feedback intake: messages administrators reported as spam or ham, stored
 * durably for retraining and exported as a labelled corpus set.
 */
import { readRaw, type RawMessage } from '../parse/input.js';
import { FeedbackInputError } from './errors.js';
import type { FeedbackStore } from './store.js';
import type { AddResult, FeedbackLabel, FeedbackMeta } from './types.js';

export { FeedbackInputError, FeedbackStoreError } from './errors.js';
export { LABELS_FILE } from './export.js';
export { DEFAULT_MAX_FIELD_LENGTH, INDEX_FILE, MESSAGES_FOLDER, openFeedbackStore, type FeedbackStore } from './store.js';
export * from './types.js';

/**
 * Reads `raw` (bytes, a string or a stream, as the scorer accepts) and adds
 * it to `store`, for `scorer.report()`. At most the store's
 * `maxMessageBytes` + 1 bytes are kept while a stream is read, and a longer
 * message is rejected whole with a FeedbackInputError, so an oversized
 * stream never fills memory and is never stored cut. A stream that fails
 * rejects with the parser's SourceError.
 */
export async function reportFeedback(store: FeedbackStore, raw: RawMessage, label: FeedbackLabel, meta: FeedbackMeta = {}): Promise<AddResult> {
  if (raw instanceof Uint8Array) return store.add(raw, label, meta);
  const limit = store.maxMessageBytes;
  const { bytes, size } = await readRaw(raw, limit + 1);
  if (size > limit) {
    const source = meta.source ?? 'the message';
    throw new FeedbackInputError(`Message ${source} is ${size} bytes, over the feedback limit of ${limit} bytes (option maxMessageBytes).`, { input: source });
  }
  return store.add(bytes, label, meta);
}
