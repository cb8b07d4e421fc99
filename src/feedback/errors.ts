/** Errors of the feedback store. */
import { SpamwardError } from '../errors.js';

/** A report was rejected: empty or oversized message, unknown label, invalid meta field or digest. */
export class FeedbackInputError extends SpamwardError {
  override readonly code = 'SPAMWARD_FEEDBACK_INVALID';
}

/** The feedback folder or an export folder could not be read or written. */
export class FeedbackStoreError extends SpamwardError {
  override readonly code = 'SPAMWARD_FEEDBACK_STORE_FAILED';
}
