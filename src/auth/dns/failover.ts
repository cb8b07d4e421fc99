/**
 * Failover and hedging across resolvers. The first resolver is asked; when
 * it has not answered within the hedge delay the next one is asked too, and
 * so on; an error answer moves to the next resolver at once. The first good
 * answer wins and the queries still in flight are cancelled. NXDOMAIN and
 * NODATA are good answers.
 */

import { statusOfSocketError } from './errors.js';
import type { Upstream } from './options.js';
import { readResponse, type Question, type ResponseReading } from './records.js';
import type { DnsFailureStatus } from './types.js';
import { queryUpstream, type UpstreamEvents } from './upstream.js';

/** Result of a hedged query across the resolvers. */
export type FailoverResult =
  | { kind: 'answer'; reading: Exclude<ResponseReading, { kind: 'failure' }>; upstream: Upstream }
  | { kind: 'failure'; status: DnsFailureStatus; reasons: string[] }
  | { kind: 'aborted'; reasons: string[] };

export interface FailoverOptions {
  queryTimeoutMs: number;
  hedgeDelayMs: number;
  /** Ends the whole query: every query in flight is cancelled and the result is `aborted`. */
  signal: AbortSignal;
  events: UpstreamEvents & { hedged(): void };
  health: UpstreamHealth;
}

interface Failure {
  status: DnsFailureStatus;
  reason: string;
  /** Position of the resolver in the order it was asked. */
  position: number;
}

/**
 * Consecutive failures per resolver, to ask the healthiest first: resolvers
 * are ordered by fewest failures, ties in the configured order. A resolver
 * that lost a race it started first counts as failed, so a black-holed
 * first resolver stops costing every lookup the hedge delay.
 */
export class UpstreamHealth {
  readonly #failures = new Map<string, number>();

  order(upstreams: readonly Upstream[]): Upstream[] {
    return [...upstreams].sort((a, b) => (this.#failures.get(a.label) ?? 0) - (this.#failures.get(b.label) ?? 0));
  }

  succeeded(upstream: Upstream): void {
    this.#failures.delete(upstream.label);
  }

  failed(upstream: Upstream): void {
    this.#failures.set(upstream.label, (this.#failures.get(upstream.label) ?? 0) + 1);
  }
}

/** Asks the resolvers one question with failover and hedging; never rejects. */
export function askUpstreams(upstreams: readonly Upstream[], question: Question, options: FailoverOptions): Promise<FailoverResult> {
  const { queryTimeoutMs, hedgeDelayMs, signal, events, health } = options;

  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'aborted', reasons: [] });
      return;
    }
    const order = health.order(upstreams);
    const cancel = new AbortController();
    const inFlight = new Map<Upstream, number>();
    const failures: Failure[] = [];
    let next = 0;
    let settled = false;
    let hedgeTimer: NodeJS.Timeout | undefined;

    const reasons = (): string[] => [...failures].sort((a, b) => a.position - b.position).map((failure) => failure.reason);
    const finish = (result: FailoverResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(hedgeTimer);
      signal.removeEventListener('abort', onAbort);
      cancel.abort();
      resolve(result);
    };
    const onAbort = (): void => finish({ kind: 'aborted', reasons: reasons() });

    const settle = (upstream: Upstream, position: number, reading: ResponseReading): void => {
      inFlight.delete(upstream);
      if (reading.kind !== 'failure') {
        health.succeeded(upstream);
        for (const [slower, slowerPosition] of inFlight) {
          if (slowerPosition < position) health.failed(slower);
        }
        finish({ kind: 'answer', reading, upstream });
        return;
      }
      health.failed(upstream);
      failures.push({ status: reading.status, reason: reading.reason, position });
      if (next < order.length) {
        launch(false);
      } else if (inFlight.size === 0) {
        const first = failures.reduce((a, b) => (b.position < a.position ? b : a));
        finish({ kind: 'failure', status: first.status, reasons: reasons() });
      }
    };

    const launch = (hedged: boolean): void => {
      clearTimeout(hedgeTimer);
      const upstream = order[next];
      if (settled || upstream === undefined) return;
      const position = next;
      next += 1;
      inFlight.set(upstream, position);
      if (hedged) events.hedged();

      void queryUpstream(upstream, question, { timeoutMs: queryTimeoutMs, signal: cancel.signal, events }).then(
        (result) => {
          if (settled || result.kind === 'aborted') return;
          if (result.kind === 'failure') {
            settle(upstream, position, result);
            return;
          }
          const reading = readResponse(result.response, question);
          settle(upstream, position, reading.kind === 'failure' ? { ...reading, reason: `${upstream.label}: ${reading.reason}` } : reading);
        },
        // Only a local fault lands here (a socket that cannot be created, for one); the next resolver may still answer.
        (error: unknown) => {
          if (settled) return;
          const message = error instanceof Error ? error.message : String(error);
          settle(upstream, position, { kind: 'failure', status: statusOfSocketError(error), reason: `${upstream.label}: ${message}` });
        },
      );
      if (next < order.length) hedgeTimer = setTimeout(() => launch(true), hedgeDelayMs);
    };

    signal.addEventListener('abort', onAbort, { once: true });
    launch(false);
  });
}
