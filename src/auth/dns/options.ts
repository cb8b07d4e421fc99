/** Defaults and validation of the DNS client options, and parsing of resolver addresses. */

import { getServers } from 'node:dns';
import { isIPv4, isIPv6 } from 'node:net';
import { OptionsError } from '../../errors.js';
import type { DnsClientOptions, DnsLogger } from './types.js';

const DNS_PORT = 53;

/**
 * Option defaults. The lookup deadline of 1000 ms stays within the budget of
 * one message: a mail gateway scores in the SMTP DATA phase, and one slow
 * lookup should cost at most a second before the stage carries on without
 * it. RFC 8767 finds that stale windows of less than a day handle the vast
 * majority of outages. A day covers an overnight resolver outage, and the
 * SPF, DKIM and DMARC records the client serves change rarely. A longer
 * window would keep a revoked DKIM key in use longer. The negative TTL cap of an hour is the lower end of the one
 * to three hours that RFC 2308 section 5 suggests. RFC 9520 requires
 * resolvers to cache resolution failures; 5 s covers the lookups of one
 * message and a burst from one sender, and lets a passing fault clear soon.
 */
export const DNS_CLIENT_DEFAULTS = Object.freeze({
  queryTimeoutMs: 300,
  hedgeDelayMs: 100,
  deadlineMs: 1000,
  cacheMaxEntries: 10_000,
  cacheMaxBytes: 32 * 1024 * 1024,
  minTtlSeconds: 30,
  maxTtlSeconds: 86_400,
  negativeMinTtlSeconds: 30,
  negativeMaxTtlSeconds: 3_600,
  serveStaleMs: 86_400_000,
  failureCacheMs: 5_000,
  breakerFailureThreshold: 5,
  breakerWindowMs: 10_000,
  breakerCooldownMs: 5_000,
});

type NumericOption = keyof typeof DNS_CLIENT_DEFAULTS;

/** Options that must be at least 1; the others may be 0. */
const POSITIVE_OPTIONS: ReadonlySet<NumericOption> = new Set([
  'queryTimeoutMs',
  'deadlineMs',
  'cacheMaxEntries',
  'cacheMaxBytes',
  'breakerFailureThreshold',
  'breakerWindowMs',
]);

/** One upstream resolver address. */
export interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
  /** `host:port`, with an IPv6 host in brackets. */
  label: string;
}

/** Options after defaults and validation. */
export type ResolvedDnsOptions = { -readonly [K in NumericOption]: number } & {
  upstreams: Upstream[];
  logger: DnsLogger | undefined;
};

function invalidResolver(entry: unknown, problem: string): OptionsError {
  return new OptionsError(
    `Invalid resolver ${JSON.stringify(entry)}: ${problem}. Expected an IP address with an optional port, such as "127.0.0.1:53" or "[::1]:53".`,
    { input: typeof entry === 'string' ? entry : String(entry) },
  );
}

function parsePort(entry: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw invalidResolver(entry, `port "${text}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65_535) throw invalidResolver(entry, `port ${port} is outside 1-65535`);
  return port;
}

function makeUpstream(host: string, port: number, family: 4 | 6): Upstream {
  const label = family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, family, label };
}

function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || /^[0:]+$/.test(host);
}

/**
 * Parses one resolver address: `1.2.3.4`, `1.2.3.4:5353`, `[::1]`,
 * `[::1]:5353` or a bare `::1`. Host names are rejected, because resolving
 * them would need the resolver being configured.
 */
export function parseResolver(entry: unknown): Upstream {
  if (typeof entry !== 'string') throw invalidResolver(entry, 'not a string');
  const text = entry.trim();
  if (text === '') throw invalidResolver(entry, 'empty');

  let upstream: Upstream;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    const host = bracketed[1] ?? '';
    if (!isIPv6(host)) throw invalidResolver(entry, `"${host}" is not an IPv6 address`);
    const port = bracketed[2] === undefined ? DNS_PORT : parsePort(entry, bracketed[2]);
    upstream = makeUpstream(host, port, 6);
  } else if (isIPv6(text)) {
    upstream = makeUpstream(text, DNS_PORT, 6);
  } else {
    const colon = text.lastIndexOf(':');
    const host = colon === -1 ? text : text.slice(0, colon);
    if (!isIPv4(host)) throw invalidResolver(entry, `"${host}" is not an IPv4 address (host names are not accepted)`);
    const port = colon === -1 ? DNS_PORT : parsePort(entry, text.slice(colon + 1));
    upstream = makeUpstream(host, port, 4);
  }

  if (isUnspecified(upstream.host)) throw invalidResolver(entry, 'the unspecified address cannot be a resolver');
  return upstream;
}

function readNumber(options: DnsClientOptions, key: NumericOption): number {
  const value = options[key];
  if (value === undefined) return DNS_CLIENT_DEFAULTS[key];
  const minimum = POSITIVE_OPTIONS.has(key) ? 1 : 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) {
    throw new OptionsError(`DNS option ${key} must be a finite number of at least ${minimum}, got ${JSON.stringify(value)}.`, { input: key });
  }
  return value;
}

function readUpstreams(resolvers: unknown): Upstream[] {
  if (resolvers === undefined) {
    const system = getServers();
    if (system.length === 0) {
      throw new OptionsError('No DNS resolvers configured: pass options.resolvers, because the system lists no servers.', { input: 'resolvers' });
    }
    return system.map(parseResolver);
  }
  if (!Array.isArray(resolvers)) {
    throw new OptionsError(`DNS option resolvers must be an array of "host:port" strings, got ${typeof resolvers}.`, { input: 'resolvers' });
  }
  if (resolvers.length === 0) {
    throw new OptionsError('DNS option resolvers is empty: list at least one resolver, or omit it to use the system servers.', { input: 'resolvers' });
  }
  return resolvers.map(parseResolver);
}

/** Applies defaults and validates every option; throws OptionsError naming the first bad one. */
export function resolveDnsOptions(options: DnsClientOptions = {}): ResolvedDnsOptions {
  const numbers = {} as { -readonly [K in NumericOption]: number };
  for (const key of Object.keys(DNS_CLIENT_DEFAULTS) as NumericOption[]) {
    numbers[key] = readNumber(options, key);
  }
  if (numbers.minTtlSeconds > numbers.maxTtlSeconds) {
    throw new OptionsError(`DNS option minTtlSeconds (${numbers.minTtlSeconds}) exceeds maxTtlSeconds (${numbers.maxTtlSeconds}).`, { input: 'minTtlSeconds' });
  }
  if (numbers.negativeMinTtlSeconds > numbers.negativeMaxTtlSeconds) {
    throw new OptionsError(
      `DNS option negativeMinTtlSeconds (${numbers.negativeMinTtlSeconds}) exceeds negativeMaxTtlSeconds (${numbers.negativeMaxTtlSeconds}).`,
      { input: 'negativeMinTtlSeconds' },
    );
  }

  const logger = options.logger;
  if (logger !== undefined && typeof logger?.warn !== 'function') {
    throw new OptionsError('DNS option logger must have a warn(message, meta) method.', { input: 'logger' });
  }

  return { ...numbers, upstreams: readUpstreams(options.resolvers), logger };
}
