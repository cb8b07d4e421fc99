/** The DNS layer: a caching, hedging, circuit-broken client and its adapter for mailauth. */

export { createDnsClient } from './client.js';
export { DNS_CLIENT_DEFAULTS, parseResolver, type Upstream } from './options.js';
export { DnsLookupError, nodeCodeOf, type NodeDnsErrorCode, type SpfErrorResult } from './errors.js';
export { toMailauthResolver, type DnsFailureRecord, type MailauthResolver, type MailauthResolverOptions } from './mailauth.js';
export {
  DNS_RECORD_TYPES,
  type BreakerState,
  type DnsAnswer,
  type DnsClient,
  type DnsClientOptions,
  type DnsFailure,
  type DnsFailureStatus,
  type DnsLogger,
  type DnsLookupOptions,
  type DnsNegativeAnswer,
  type DnsOutcome,
  type DnsRecordsByType,
  type DnsRecordType,
  type DnsStats,
  type MxRecord,
} from './types.js';
