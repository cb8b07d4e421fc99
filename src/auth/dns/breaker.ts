/**
 * A circuit breaker over all resolvers.
 *
 * Lookup failures alone never open it, because the names looked up come
 * from messages: a sender whose own name servers stay silent would
 * otherwise open the breaker and switch DNS off for all mail. Failures
 * count when they come in a run of `failureThreshold`, the first no longer
 * than `windowMs` ago. Such a run makes the client send a health check, a
 * query that involves no sender's server, and only a failed check opens
 * the breaker. While open,
 * lookups do not ask the resolvers. After `cooldownMs` the next lookup
 * runs one health check (half-open): success closes the breaker, failure
 * opens it for another cool-down.
 */

import type { BreakerState } from './types.js';

export interface BreakerSettings {
  failureThreshold: number;
  windowMs: number;
  cooldownMs: number;
  /** Called once per transition, with the state entered and the state left. */
  onTransition(to: BreakerState, from: BreakerState): void;
}

/**
 * The permission a lookup gets: ask the resolvers, run the half-open health
 * check first (and report it with `checked`), or skip the resolvers.
 */
export type BreakerPermit = 'allowed' | 'check' | 'denied';

export class CircuitBreaker {
  readonly #settings: BreakerSettings;
  #state: BreakerState = 'closed';
  #failures = 0;
  /** Epoch milliseconds of the first failure of the current run. */
  #firstFailureAt = 0;
  /** Epoch milliseconds when the breaker last opened. */
  #openedAt = 0;
  #checking = false;

  constructor(settings: BreakerSettings) {
    this.#settings = settings;
  }

  get state(): BreakerState {
    return this.#state;
  }

  #moveTo(state: BreakerState, now: number): void {
    const from = this.#state;
    this.#state = state;
    this.#failures = 0;
    if (state === 'open') this.#openedAt = now;
    this.#settings.onTransition(state, from);
  }

  /** True while the breaker is open and cooling down, so any lookup would be denied; changes nothing. */
  isCoolingDown(now: number): boolean {
    return this.#state === 'open' && now - this.#openedAt < this.#settings.cooldownMs;
  }

  /** Asks whether a lookup may query the resolvers. Only one lookup at a time gets `check`. */
  acquire(now: number): BreakerPermit {
    if (this.#state === 'closed') return 'allowed';
    if (this.#state === 'open' && now - this.#openedAt < this.#settings.cooldownMs) return 'denied';
    if (this.#checking) return 'denied';
    if (this.#state === 'open') this.#moveTo('half-open', now);
    this.#checking = true;
    return 'check';
  }

  /** Records a lookup that got an answer from a resolver (negative answers included). */
  succeeded(): void {
    if (this.#state === 'closed') this.#failures = 0;
  }

  /**
   * Records a lookup that asked the resolvers and got no answer. Returns true
   * when the run of failures reached the threshold: the caller must then run
   * a health check and report it with `checked`.
   */
  failed(now: number): boolean {
    if (this.#state !== 'closed' || this.#checking) return false;
    if (this.#failures === 0 || now - this.#firstFailureAt > this.#settings.windowMs) {
      this.#failures = 0;
      this.#firstFailureAt = now;
    }
    this.#failures += 1;
    if (this.#failures < this.#settings.failureThreshold) return false;
    this.#checking = true;
    return true;
  }

  /** Records the result of a health check: a healthy resolver closes the breaker (or keeps it closed), an unhealthy one opens it. */
  checked(healthy: boolean, now: number): void {
    this.#checking = false;
    if (healthy) {
      if (this.#state === 'closed') this.#failures = 0;
      else this.#moveTo('closed', now);
    } else {
      this.#moveTo('open', now);
    }
  }
}
