/** Errors raised by the behaviour stores. */

import { SpamwardError } from '../errors.js';

/** A store operation failed: Redis rejected a command or returned a reply of the wrong shape. */
export class BehaviourStoreError extends SpamwardError {
  override readonly code: string = 'SPAMWARD_BEHAVIOUR_STORE_FAILED';
}

/** A store operation did not finish within the store's `timeoutMs`. */
export class BehaviourStoreTimeoutError extends BehaviourStoreError {
  override readonly code: string = 'SPAMWARD_BEHAVIOUR_STORE_TIMEOUT';
}

/** The store has no usable connection: it is reconnecting, closed, or was never connected. */
export class BehaviourStoreUnavailableError extends BehaviourStoreError {
  override readonly code: string = 'SPAMWARD_BEHAVIOUR_STORE_UNAVAILABLE';
}

/** The value given to `createBehaviourStore` is not `memory`, a valid redis:// URL or a store object. */
export class BehaviourStoreSpecError extends SpamwardError {
  override readonly code = 'SPAMWARD_BEHAVIOUR_STORE_SPEC_INVALID';
}
