/**
 * An adapter that gives mailauth a resolver with the conventions of Node's
 * `dns.promises.resolve(name, rrtype)`, backed by the DNS client.
 *
 * What mailauth 4.13.3 does with resolver errors (read in its lib/ folder):
 * - SPF (spf/index.js, spf/spf-verify.js): ENOTFOUND and ENODATA are void
 *   lookups (an empty result; permerror past 2 of them). ETIMEOUT and
 *   EREFUSED become temperror. Other codes become temperror at the top
 *   level, but inside `include:` or `redirect=` an error without an
 *   `spfResult` property is ignored and evaluation continues, so it can end
 *   in `-all` and a fail. DnsLookupError therefore carries `spfResult` on
 *   every failure. In the `ptr` mechanism, failed address lookups of the
 *   PTR names are skipped, as RFC 7208 section 5.5 specifies, so a timeout
 *   there means no match rather than temperror.
 * - DKIM (dkim/dkim-verifier.js): ENOTFOUND and ENODATA give neutral
 *   ("no key"); every other code gives temperror.
 * - DMARC (dmarc/get-dmarc-record.js, dmarc/verify.js): ENOTFOUND and
 *   ENODATA mean no record (none); other errors give temperror. DMARC's
 *   own result counts only SPF and DKIM passes, so a DKIM temperror caused
 *   by a timeout leaves no aligned pass and DMARC reports fail when its
 *   record was found.
 * - ARC (arc/index.js): a failed key lookup is swallowed, the seal is then
 *   checked without a key, and every error in ARC verification is reported
 *   as `arc=fail`.
 * The resolver alone cannot keep a timeout from becoming an SPF (through
 * `ptr`), DMARC or ARC fail, so the returned function lists its failed
 * lookups in `failures`:
 * the authentication stage must treat a fail reported while that list is
 * not empty as temperror.
 */

import { performance } from 'node:perf_hooks';
import { DnsLookupError } from './errors.js';
import type { DnsClient, DnsFailureStatus, DnsLookupOptions, DnsRecordsByType, DnsRecordType } from './types.js';

/** Failed lookups kept in `failures`; `failureCount` goes on counting past it. */
const MAX_RECORDED_FAILURES = 100;

export interface MailauthResolverOptions {
  /** Ends every lookup still running when aborted; they reject with ETIMEOUT unless the cache has an answer. */
  signal?: AbortSignal;
  /**
   * Milliseconds from the creation of the resolver until the lookups of this
   * message must end, shared by all of them: create one resolver per
   * message. Default: none, each lookup gets the client's `deadlineMs`.
   * For the authentication stage, 1000 ms or less keeps scoring on time.
   */
  deadlineMs?: number;
}

/** A lookup the resolver could not answer. */
export interface DnsFailureRecord {
  name: string;
  type: DnsRecordType;
  status: DnsFailureStatus;
  reason: string;
}

/**
 * A resolver for mailauth's `resolver` option. Records are in Node's shapes:
 * TXT as `string[][]`, MX as `{ exchange, priority }[]`, the other types as
 * `string[]`. Negative answers reject with a DnsLookupError whose `code` is
 * ENOTFOUND or ENODATA, failures with ETIMEOUT, ESERVFAIL, EREFUSED,
 * EBADRESP, ECANCELLED (circuit breaker open) or EBADNAME.
 *
 * NOTE: mailauth 4.13.3 types its resolver as returning `string[][] | string[]`,
 * which leaves out MX records, so passing this function needs a cast.
 */
export interface MailauthResolver {
  (name: string, rrtype?: string): Promise<DnsRecordsByType[DnsRecordType]>;
  /** The first failed lookups, in order (at most 100). Empty when every lookup got an answer. */
  readonly failures: readonly DnsFailureRecord[];
  /** Failed lookups, all counted. */
  readonly failureCount: number;
  /** Lookups answered from expired cache entries because no resolver answered. */
  readonly staleAnswers: number;
}

/** Wraps a DNS client as a resolver for mailauth; see MailauthResolver for the conventions. */
export function toMailauthResolver(client: DnsClient, options: MailauthResolverOptions = {}): MailauthResolver {
  const { signal } = options;
  // performance.now() is monotonic, so a wall-clock step cannot stretch or cut the deadline.
  const endsAt = options.deadlineMs === undefined ? null : performance.now() + options.deadlineMs;
  const failures: DnsFailureRecord[] = [];
  let failureCount = 0;
  let staleAnswers = 0;

  const resolve = async (name: string, rrtype = 'A'): Promise<DnsRecordsByType[DnsRecordType]> => {
    const type = String(rrtype).toUpperCase() as DnsRecordType;
    const lookupOptions: DnsLookupOptions = {};
    if (signal !== undefined) lookupOptions.signal = signal;
    if (endsAt !== null) lookupOptions.deadlineMs = endsAt - performance.now();

    const outcome = await client.lookup(name, type, lookupOptions);
    if (outcome.status === 'ok') {
      if (outcome.stale) staleAnswers += 1;
      return outcome.records;
    }
    if (!('reason' in outcome)) {
      if (outcome.stale) staleAnswers += 1;
      throw new DnsLookupError(name, type, outcome.status, outcome.status === 'nxdomain' ? 'the name does not exist' : `the name has no ${type} records`);
    }

    failureCount += 1;
    if (failures.length < MAX_RECORDED_FAILURES) failures.push({ name, type, status: outcome.status, reason: outcome.reason });
    throw new DnsLookupError(name, type, outcome.status, outcome.reason);
  };

  return Object.defineProperties(resolve, {
    failures: { get: () => failures, enumerable: true },
    failureCount: { get: () => failureCount, enumerable: true },
    staleAnswers: { get: () => staleAnswers, enumerable: true },
  }) as MailauthResolver;
}
