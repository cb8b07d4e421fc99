/** Record types, lookup outcomes, options and counters of the DNS client. */

/** Record types the client looks up: what SPF, DKIM, DMARC and ARC need, plus NS. */
export type DnsRecordType = 'A' | 'AAAA' | 'TXT' | 'MX' | 'PTR' | 'CNAME' | 'NS';

export const DNS_RECORD_TYPES: readonly DnsRecordType[] = Object.freeze(['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME', 'NS']);

/** One MX record, shaped as Node's `dns.promises.resolveMx` returns it. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/**
 * Record data per type, shaped as Node's `dns.promises.resolve` returns it:
 * addresses and names as strings, TXT as one array of character-strings per
 * record (join them to get the record text).
 */
export interface DnsRecordsByType {
  A: string[];
  AAAA: string[];
  TXT: string[][];
  MX: MxRecord[];
  PTR: string[];
  CNAME: string[];
  NS: string[];
}

/** Fields shared by every answer that came from a resolver, directly or through the cache. */
interface AnswerFields {
  /**
   * Seconds the answer may be reused: the record TTL after the client's
   * clamps for a fresh answer, what remains of it for a cache hit, and 30 for
   * a stale answer.
   */
  ttl: number;
  /** True when the answer is an expired cache entry served because no resolver answered. */
  stale: boolean;
  /** True when the answer came from the cache (fresh or stale) rather than from a resolver now. */
  cached: boolean;
  /** The resolver (`host:port`) that sent the answer, at the time it was fetched. */
  resolver: string;
}

/** The name exists and has records of the requested type. */
export interface DnsAnswer<T extends DnsRecordType = DnsRecordType> extends AnswerFields {
  status: 'ok';
  records: DnsRecordsByType[T];
}

/**
 * A negative answer: `nxdomain` when the name does not exist, `nodata` when
 * it exists without records of the requested type. Both are valid answers.
 */
export interface DnsNegativeAnswer extends AnswerFields {
  status: 'nxdomain' | 'nodata';
}

/**
 * Why a lookup has no answer:
 * - `timeout`: no resolver answered in time, or the caller's deadline or signal ended the lookup.
 * - `servfail`: every resolver asked returned SERVFAIL or another server-side error code.
 * - `refused`: a resolver returned REFUSED or could not be reached (connection refused).
 * - `malformed`: a resolver sent bytes that are not a valid response to the query.
 * - `skipped`: the circuit breaker is open (or checking the resolvers), so no resolver was asked.
 * - `badname`: the name cannot be sent in a query (empty label, label over 63 bytes, non-ASCII).
 */
export type DnsFailureStatus = 'timeout' | 'servfail' | 'refused' | 'malformed' | 'skipped' | 'badname';

export interface DnsFailure {
  status: DnsFailureStatus;
  /** Description of the failure, naming the resolvers asked. */
  reason: string;
}

/** The result of one lookup. Lookups return one of these and never throw for DNS conditions. */
export type DnsOutcome<T extends DnsRecordType = DnsRecordType> = DnsAnswer<T> | DnsNegativeAnswer | DnsFailure;

/** Receiver of the client's warnings; the client logs nothing without one. */
export interface DnsLogger {
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface DnsClientOptions {
  /**
   * Resolvers as `host:port`: an IPv4 address, `[IPv6]` in brackets, or a bare
   * IPv6 address; the port defaults to 53. Addresses only, no host names.
   * Default: the system's servers from `dns.getServers()`. There is no
   * built-in public resolver.
   */
  resolvers?: string[];
  /** Milliseconds one resolver gets to answer one query (UDP, or TCP after truncation). Default 300. */
  queryTimeoutMs?: number;
  /**
   * Milliseconds to wait for a resolver before also asking the next one.
   * An error answer moves on at once. Default 100.
   */
  hedgeDelayMs?: number;
  /** Milliseconds a lookup may take in total when the caller passes no deadline. Default 1000. */
  deadlineMs?: number;
  /** Cache entries kept, least recently used dropped first. Default 10,000. */
  cacheMaxEntries?: number;
  /** Estimated bytes of record data kept in the cache. Default 32 MiB (33,554,432). */
  cacheMaxBytes?: number;
  /** Lower clamp on positive TTLs, in seconds. Default 30. */
  minTtlSeconds?: number;
  /** Upper clamp on positive TTLs, in seconds. Default 86,400 (1 day). */
  maxTtlSeconds?: number;
  /** Lower clamp on negative TTLs, and their TTL when the answer has no SOA, in seconds. Default 30. */
  negativeMinTtlSeconds?: number;
  /** Upper clamp on negative TTLs (from the SOA), in seconds. Default 3,600. */
  negativeMaxTtlSeconds?: number;
  /**
   * Milliseconds after expiry during which an entry may still be served,
   * marked stale, when no resolver answers. 0 turns serve-stale off.
   * Default 86,400,000 (1 day).
   */
  serveStaleMs?: number;
  /**
   * Milliseconds a failed lookup (timeout, SERVFAIL, REFUSED, malformed) is
   * remembered for its name and type, so repeated lookups of a broken name
   * fail at once instead of waiting again. 0 turns it off. Default 5,000.
   */
  failureCacheMs?: number;
  /**
   * Consecutive failed lookups within `breakerWindowMs` after which the
   * client checks the resolvers' health; a failed check opens the circuit
   * breaker. Default 5.
   */
  breakerFailureThreshold?: number;
  /** Milliseconds within which the failures must fall to count as consecutive. Default 10,000. */
  breakerWindowMs?: number;
  /** Milliseconds the breaker stays open before the next lookup checks the resolvers again. Default 5,000. */
  breakerCooldownMs?: number;
  /** Receives breaker transitions, one warning each. Default: none, nothing is logged. */
  logger?: DnsLogger;
}

/** Per-lookup options. */
export interface DnsLookupOptions {
  /** Ends the lookup when aborted; the outcome is then `timeout` unless the cache has an answer. */
  signal?: AbortSignal;
  /** Milliseconds this lookup may take in total. Default: the client's `deadlineMs`. */
  deadlineMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Counters since the client was created. */
export interface DnsStats {
  /** Lookups requested, cache hits included. */
  queries: number;
  /** Lookups answered from a fresh cache entry. */
  cacheHits: number;
  /** Lookups answered from an expired entry because no resolver answered. */
  staleAnswers: number;
  /**
   * Lookups that skipped the resolvers because the same name and type failed
   * within `failureCacheMs`; they return a stale answer when the cache has one.
   */
  cachedFailures: number;
  /** Queries sent to resolvers, over UDP and TCP. */
  upstreamQueries: number;
  /** Queries to a second or later resolver sent because the hedge delay passed. */
  hedgedQueries: number;
  /** UDP answers with the TC bit set that were asked again over TCP. */
  tcpFallbacks: number;
  /** Queries to one resolver that got no answer within `queryTimeoutMs`. */
  timeouts: number;
  /** Lookups that ended without an answer, by status; stale answers are not counted here. */
  failures: Record<DnsFailureStatus, number>;
  /** Entries in the cache now, stale ones included. */
  cacheEntries: number;
  breaker: {
    state: BreakerState;
    /** Transitions into each state. */
    opened: number;
    halfOpened: number;
    closed: number;
    /** Health checks sent to the resolvers (root NS queries). */
    healthChecks: number;
  };
}

export interface DnsClient {
  /** Looks up records of one type; resolves with an outcome, never rejects for DNS conditions. */
  lookup<T extends DnsRecordType>(name: string, type: T, options?: DnsLookupOptions): Promise<DnsOutcome<T>>;
  /** Returns a snapshot of the counters. */
  stats(): DnsStats;
  /** Drops every cache entry. */
  clearCache(): void;
  /** The resolvers in use, normalised to `host:port` (IPv6 in brackets). */
  readonly resolvers: readonly string[];
  /**
   * True while the circuit breaker is open and cooling down, when every
   * lookup not in the cache is `skipped` at once. Callers can then skip work
   * that only leads to lookups; after the cool-down it is false again, so the
   * next lookup probes the resolvers.
   */
  isSkippingLookups(): boolean;
}
