/**
 * The DNS client: cache first, then the circuit breaker, then hedged queries
 * to the resolvers under one deadline, and serve-stale when they all fail.
 */

import { performance } from 'node:perf_hooks';
import { OptionsError } from '../../errors.js';
import { CircuitBreaker } from './breaker.js';
import { cacheKey, DnsCache, type CacheRead, type CachedAnswer } from './cache.js';
import { askUpstreams, UpstreamHealth, type FailoverResult } from './failover.js';
import { resolveDnsOptions, type ResolvedDnsOptions } from './options.js';
import { normaliseName, type Question } from './records.js';
import {
  DNS_RECORD_TYPES,
  type BreakerState,
  type DnsClient,
  type DnsClientOptions,
  type DnsFailure,
  type DnsFailureStatus,
  type DnsLookupOptions,
  type DnsOutcome,
  type DnsRecordType,
  type DnsStats,
} from './types.js';

/** TTL given to stale answers, in seconds, as RFC 8767 section 4 recommends. */
const STALE_ANSWER_TTL_SECONDS = 30;

/**
 * The health check question. Recursive resolvers answer the root NS set
 * from their cache, and it involves no name server that a sender controls.
 */
const HEALTH_CHECK_QUESTION: Question = { name: '.', type: 'NS' };

const FAILURE_STATUSES: readonly DnsFailureStatus[] = ['timeout', 'servfail', 'refused', 'malformed', 'skipped', 'badname'];

function emptyStats(): DnsStats {
  return {
    queries: 0,
    cacheHits: 0,
    staleAnswers: 0,
    cachedFailures: 0,
    upstreamQueries: 0,
    hedgedQueries: 0,
    tcpFallbacks: 0,
    timeouts: 0,
    failures: Object.fromEntries(FAILURE_STATUSES.map((status) => [status, 0])) as Record<DnsFailureStatus, number>,
    cacheEntries: 0,
    breaker: { state: 'closed', opened: 0, halfOpened: 0, closed: 0, healthChecks: 0 },
  };
}

function answerFromCache<T extends DnsRecordType>(answer: CachedAnswer, ttl: number, stale: boolean): DnsOutcome<T> {
  return { ...answer, ttl, stale, cached: true } as DnsOutcome<T>;
}

function transitionMessage(to: BreakerState, settings: ResolvedDnsOptions): string {
  switch (to) {
    case 'open':
      return `DNS circuit breaker opened: the resolvers failed a health check and are not asked for ${settings.breakerCooldownMs} ms; lookups are answered from the cache or skipped`;
    case 'half-open':
      return 'DNS circuit breaker half-open: checking the resolvers again';
    case 'closed':
      return 'DNS circuit breaker closed: the resolvers passed a health check';
  }
}

/** Returns the lookup deadline in milliseconds; a deadline of 0 or less has already passed. */
function readDeadline(options: DnsLookupOptions, fallback: number): number {
  const deadline = options.deadlineMs ?? fallback;
  if (typeof deadline !== 'number' || Number.isNaN(deadline)) {
    throw new OptionsError(`DNS lookup option deadlineMs must be a number of milliseconds, got ${JSON.stringify(deadline)}.`, { input: 'deadlineMs' });
  }
  return deadline;
}

function failureOf(result: Exclude<FailoverResult, { kind: 'answer' }>, deadlineMs: number, callerAborted: boolean): DnsFailure {
  if (result.kind === 'failure') return { status: result.status, reason: result.reasons.join('; ') };
  const ended = callerAborted ? "the caller's signal aborted the lookup" : `no resolver answered within the lookup deadline of ${deadlineMs} ms`;
  return { status: 'timeout', reason: [ended, ...result.reasons].join('; ') };
}

/**
 * Returns whether a health check shows the resolvers usable: some resolver
 * responded, even with an error code, because the breaker exists to stop
 * waiting on resolvers that do not respond at all.
 */
function isHealthy(result: FailoverResult): boolean {
  return result.kind === 'answer' || (result.kind === 'failure' && (result.status === 'servfail' || result.status === 'refused'));
}

/**
 * Creates a DNS client. Throws OptionsError for an invalid option or
 * resolver address. Lookups resolve with an outcome for every DNS
 * condition. They reject only for caller errors: an unsupported record type
 * or a deadline that is not a number.
 */
export function createDnsClient(options: DnsClientOptions = {}): DnsClient {
  const settings = resolveDnsOptions(options);
  const counters = emptyStats();
  const health = new UpstreamHealth();
  const cache = new DnsCache({
    maxEntries: settings.cacheMaxEntries,
    maxBytes: settings.cacheMaxBytes,
    serveStaleMs: settings.serveStaleMs,
    minTtlSeconds: settings.minTtlSeconds,
    maxTtlSeconds: settings.maxTtlSeconds,
    negativeMinTtlSeconds: settings.negativeMinTtlSeconds,
    negativeMaxTtlSeconds: settings.negativeMaxTtlSeconds,
    failureCacheMs: settings.failureCacheMs,
  });
  const breaker = new CircuitBreaker({
    failureThreshold: settings.breakerFailureThreshold,
    windowMs: settings.breakerWindowMs,
    cooldownMs: settings.breakerCooldownMs,
    onTransition(to, from) {
      if (to === 'open') counters.breaker.opened += 1;
      else if (to === 'half-open') counters.breaker.halfOpened += 1;
      else counters.breaker.closed += 1;
      try {
        settings.logger?.warn(transitionMessage(to, settings), { from, to, resolvers: settings.upstreams.map((upstream) => upstream.label) });
      } catch {
        // A failing logger must not fail the lookup that caused the transition.
      }
    },
  });
  const events = {
    querySent: () => void (counters.upstreamQueries += 1),
    timedOut: () => void (counters.timeouts += 1),
    tcpFallback: () => void (counters.tcpFallbacks += 1),
    hedged: () => void (counters.hedgedQueries += 1),
  };

  /** Returns the cached answer when there is one (fresh or stale), otherwise counts and returns the failure. */
  function cachedOr<T extends DnsRecordType>(read: CacheRead | undefined, failure: DnsFailure): DnsOutcome<T> {
    if (read?.fresh) {
      counters.cacheHits += 1;
      return answerFromCache(read.answer, read.ttl, false);
    }
    if (read !== undefined) {
      counters.staleAnswers += 1;
      return answerFromCache(read.answer, STALE_ANSWER_TTL_SECONDS, true);
    }
    counters.failures[failure.status] += 1;
    return failure;
  }

  async function ask(question: Question, deadlineMs: number, signal: AbortSignal | undefined): Promise<FailoverResult> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), deadlineMs);
    const onCallerAbort = (): void => deadline.abort();
    signal?.addEventListener('abort', onCallerAbort, { once: true });
    try {
      return await askUpstreams(settings.upstreams, question, {
        queryTimeoutMs: settings.queryTimeoutMs,
        hedgeDelayMs: settings.hedgeDelayMs,
        signal: deadline.signal,
        events,
        health,
      });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  /** Sends the health check and reports it to the breaker; returns whether the resolvers are usable. */
  async function checkResolvers(deadlineMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    counters.breaker.healthChecks += 1;
    const healthy = isHealthy(await ask(HEALTH_CHECK_QUESTION, deadlineMs, signal));
    breaker.checked(healthy, Date.now());
    return healthy;
  }

  async function lookup<T extends DnsRecordType>(name: string, type: T, lookupOptions: DnsLookupOptions = {}): Promise<DnsOutcome<T>> {
    if (!DNS_RECORD_TYPES.includes(type)) {
      throw new OptionsError(`Unsupported DNS record type ${JSON.stringify(type)}. Supported types: ${DNS_RECORD_TYPES.join(', ')}.`, { input: String(type) });
    }
    const deadlineMs = readDeadline(lookupOptions, settings.deadlineMs);
    const startedAt = performance.now();
    const { signal } = lookupOptions;
    counters.queries += 1;

    const normalised = normaliseName(name);
    if ('problem' in normalised) {
      counters.failures.badname += 1;
      return { status: 'badname', reason: `cannot look up ${JSON.stringify(name)}: ${normalised.problem}` };
    }
    const key = cacheKey(normalised.name, type);
    const read = cache.get(key, Date.now());
    if (read?.fresh) {
      counters.cacheHits += 1;
      return answerFromCache(read.answer, read.ttl, false);
    }

    const rememberedFailure = cache.getFailure(key, Date.now());
    if (rememberedFailure !== undefined) {
      counters.cachedFailures += 1;
      return cachedOr(read, rememberedFailure);
    }
    if (signal?.aborted || deadlineMs <= 0) {
      const ended = signal?.aborted ? "the caller's signal was already aborted" : `the lookup deadline of ${deadlineMs} ms had already passed`;
      return cachedOr(read, { status: 'timeout', reason: `${ended}; no resolver was asked` });
    }

    let permit = breaker.acquire(Date.now());
    if (permit === 'check' && (await checkResolvers(deadlineMs, signal))) permit = breaker.acquire(Date.now());
    if (permit !== 'allowed') {
      return cachedOr(read, {
        status: 'skipped',
        reason: `the DNS circuit breaker is ${breaker.state} because the resolvers failed a health check, so no resolver was asked; they are checked again ${settings.breakerCooldownMs} ms after it opened`,
      });
    }

    const remainingMs = deadlineMs - (performance.now() - startedAt);
    const result = await ask({ name: normalised.name, type }, remainingMs, signal);
    const now = Date.now();
    if (result.kind === 'answer') {
      breaker.succeeded();
      const ttl = cache.ttlFor(result.reading);
      const resolver = result.upstream.label;
      const answer: CachedAnswer =
        result.reading.kind === 'records' ? { status: 'ok', records: result.reading.records, resolver } : { status: result.reading.kind, resolver };
      cache.set(key, answer, ttl, now);
      return { ...answer, ttl, stale: false, cached: false } as DnsOutcome<T>;
    }

    const failure = failureOf(result, deadlineMs, signal?.aborted === true);
    // A lookup cut short by its own deadline tells little about the name, so only
    // failures that every resolver returned are remembered.
    if (result.kind === 'failure') cache.setFailure(key, failure, now);
    if (breaker.failed(now)) void checkResolvers(settings.deadlineMs, undefined);
    // Read the cache again: another lookup may have refreshed the entry meanwhile.
    return cachedOr(cache.get(key, now), failure);
  }

  return {
    lookup,
    stats(): DnsStats {
      return {
        ...counters,
        failures: { ...counters.failures },
        cacheEntries: cache.size,
        breaker: { ...counters.breaker, state: breaker.state },
      };
    },
    clearCache(): void {
      cache.clear();
    },
    resolvers: Object.freeze(settings.upstreams.map((upstream) => upstream.label)),
    isSkippingLookups: () => breaker.isCoolingDown(Date.now()),
  };
}
