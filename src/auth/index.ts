import { isIP } from 'node:net';
import { authenticate } from 'mailauth';
import { OptionsError } from '../errors.js';
import type { AuthInputs, AuthResultName } from '../features/index.js';
import type { Envelope, ParsedMessage } from '../parse/types.js';
import { MECHANISMS, resultNameOf, resultsByMechanism, topmostAuthenticationResults, trustedAuthenticationResults, type Mechanism, type MethodResult } from './authentication-results.js';
import { createDnsClient, DNS_CLIENT_DEFAULTS, toMailauthResolver, type DnsClient, type DnsStats } from './dns/index.js';

export { parseAuthenticationResults, topmostAuthenticationResults, trustedAuthenticationResults, resultsByMechanism, resultNameOf, MECHANISMS, type Mechanism } from './authentication-results.js';

/**
 * The authentication stage: SPF, DKIM, DMARC and ARC for one message, from
 * trusted Authentication-Results headers when the gateway's MTA already
 * checked, otherwise from mailauth over our own DNS client, always within
 * one per-message deadline. It never throws (a catch-all in `authenticate`
 * turns any error into `unknown`) and never reports a DNS failure as `fail`
 * (test/auth/authenticator.test.ts checks each kind): a lookup that timed
 * out, failed or was skipped by the circuit breaker turns the result into
 * `timeout`, `temperror` or `skipped`.
 */

import { DEFAULT_AUTH_DEADLINE_MS } from './defaults.js';

export { DEFAULT_AUTH_DEADLINE_MS };

export interface AuthOptions {
  /**
   * Resolvers as `host:port` for the DNS checks. Without resolvers (and
   * without `useSystemResolvers`) no DNS query is made: results then come
   * only from trusted Authentication-Results headers.
   */
  resolvers?: string[];
  /** Use the system's resolvers (`dns.getServers()`) when `resolvers` is empty. Default false. */
  useSystemResolvers?: boolean;
  /** Milliseconds the whole stage may take per message. Default 800. */
  deadlineMs?: number;
  /** Milliseconds one resolver may take for one query. Default 300 (the DNS client's default). */
  queryTimeoutMs?: number;
  /** authserv-ids of the gateway's own MTAs whose Authentication-Results are trusted. Default none. */
  trustAuthservIds?: string[];
  /**
   * Host names and IP addresses of the gateway's own MTAs, for finding where
   * outside hops begin. They are matched against the connecting host that a
   * Received header records (its reverse-DNS name or its address), never
   * against the HELO name, which the client chooses. Default none.
   */
  trustedHosts?: string[];
  /**
   * Trust the topmost Authentication-Results header whatever its authserv-id
   * or position. It is only for replaying archived mail whose receiving
   * system wrote that header, as training and evaluation do. On a live
   * gateway it would let senders forge their own results. Default false.
   */
  trustTopmostHeader?: boolean;
  /** A DNS client to share between scorers; built from the options above when absent. */
  dnsClient?: DnsClient;
}

export interface MechanismResult {
  result: AuthResultName;
  /** Why, in a few words: the checker's comment, or what was missing. */
  reason: string;
}

export interface AuthOutcome {
  spf: MechanismResult;
  dkim: MechanismResult;
  dmarc: MechanismResult;
  arc: MechanismResult;
  /** Origin of the results: trusted headers, DNS checks, or none. */
  source: 'trusted-header' | 'dns' | 'none';
  /** Unknown results and their causes, as `auth: ...` lines for the result's `degraded`. */
  degraded: string[];
}

export interface Authenticator {
  /**
   * Authenticates one message. `budgetMs`, when given, shortens the deadline
   * to what is left of the caller's own per-message budget (the scorer
   * passes the deadline minus the time parsing took).
   */
  authenticate(raw: Buffer, message: ParsedMessage, envelope?: Envelope, budgetMs?: number): Promise<AuthOutcome>;
  /** DNS counters, or null when DNS checks are off. */
  dnsStats(): DnsStats | null;
  readonly dnsEnabled: boolean;
}

/** Results from the Authentication-Results headers the options allow, or an empty object. */
function headerResults(message: ParsedMessage, trust: { authservIds: string[]; trustedHosts: string[] }, trustTopmost: boolean): Partial<Record<Mechanism, MethodResult>> {
  if (trustTopmost) {
    const topmost = topmostAuthenticationResults(message.headers);
    return topmost ? resultsByMechanism([topmost]) : {};
  }
  return resultsByMechanism(trustedAuthenticationResults(message.headers, trust));
}

/** Auth inputs from the topmost Authentication-Results header, as training reads archived mail. */
export function authInputsFromTopmostHeader(message: ParsedMessage): AuthInputs {
  const results = headerResults(message, { authservIds: [], trustedHosts: [] }, true);
  if (Object.keys(results).length === 0) return { spf: 'unknown', dkim: 'unknown', dmarc: 'unknown', arc: 'unknown' };
  return { spf: results.spf?.result ?? 'none', dkim: results.dkim?.result ?? 'none', dmarc: results.dmarc?.result ?? 'none', arc: results.arc?.result ?? 'none' };
}

export function toAuthInputs(outcome: AuthOutcome): AuthInputs {
  return { spf: outcome.spf.result, dkim: outcome.dkim.result, dmarc: outcome.dmarc.result, arc: outcome.arc.result };
}

function unknown(reason: string): MechanismResult {
  return { result: 'unknown', reason };
}

function allMechanisms(make: (mechanism: Mechanism) => MechanismResult): Pick<AuthOutcome, Mechanism> {
  return { spf: make('spf'), dkim: make('dkim'), dmarc: make('dmarc'), arc: make('arc') };
}

interface MailauthStatus {
  status?: { result?: string; comment?: string };
  info?: string;
}

interface MailauthResult {
  spf?: MailauthStatus | false;
  dkim?: { results?: MailauthStatus[] };
  dmarc?: MailauthStatus | false;
  arc?: MailauthStatus | false;
}

function fromStatus(status: MailauthStatus | false | undefined, missing: string): MechanismResult {
  if (!status || !status.status?.result) return { result: 'none', reason: missing };
  const result = status.status.result;
  // The same names as in Authentication-Results, so a DKIM `policy` (weak key) reads as it does in a trusted header.
  return { result: resultNameOf(result) ?? 'unknown', reason: String(status.status.comment || status.info || result).slice(0, 120) };
}

function dkimFrom(result: MailauthResult): MechanismResult {
  const signatures = result.dkim?.results ?? [];
  if (signatures.length === 0) return { result: 'none', reason: 'no DKIM signature' };
  const results = signatures.map((signature) => fromStatus(signature, 'no result'));
  const pass = results.find((entry) => entry.result === 'pass');
  if (pass) return pass;
  const temporary = results.find((entry) => entry.result === 'temperror');
  return temporary ?? (results[0] as MechanismResult);
}

/**
 * Guards the promise that a DNS failure never reads as `fail`: when any
 * lookup of this message failed, a `fail` or `permerror` might rest on the
 * missing answer, so it is reported as the failure kind instead.
 *
 * NOTE: the guard covers every mechanism, whichever lookup failed. A sender
 * can therefore turn its own SPF or DMARC fail into `timeout` by signing
 * with a domain whose name servers do not respond, at the cost of the wait.
 */
function guardAgainstDnsFailures(results: Pick<AuthOutcome, Mechanism>, failureKind: 'timeout' | 'skipped' | 'temperror', failureReason: string): void {
  for (const mechanism of MECHANISMS) {
    const entry = results[mechanism];
    if (entry.result === 'fail' || entry.result === 'permerror' || entry.result === 'temperror' || entry.result === 'softfail' || entry.result === 'neutral') {
      results[mechanism] = { result: failureKind, reason: `${failureReason}; the checker said ${entry.result}` };
    }
  }
}

/**
 * Returns a millisecond option, or the fallback when it is absent. Throws
 * OptionsError naming the option for anything but a number of at least 1,
 * the DNS client's minimum.
 */
function readMilliseconds(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new OptionsError(`${name} must be a finite number of milliseconds, at least 1, got ${JSON.stringify(value)}.`, { input: name });
  }
  return value;
}

/**
 * Returns a list of names, or an empty list when it is absent. Throws
 * OptionsError naming the option for anything but non-empty strings, because
 * a bad entry would otherwise fail every message.
 */
function readNames(value: unknown, name: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string' && entry.trim() !== '')) {
    throw new OptionsError(`${name} must be an array of non-empty strings, got ${JSON.stringify(value)}.`, { input: name });
  }
  return value.map((entry: string) => entry.trim());
}

/** Describes why SPF cannot be checked, or returns null when the envelope has a valid client IP. */
function missingClientIp(envelope: Envelope | undefined): string | null {
  const clientIp = envelope?.clientIp;
  if (clientIp === undefined || clientIp === '') return 'no client IP in the envelope';
  if (isIP(clientIp) === 0) return `envelope client IP ${JSON.stringify(clientIp).slice(0, 60)} is not an IP address`;
  return null;
}

/**
 * Creates the authentication stage. Throws OptionsError for an invalid
 * option, naming it (`auth.deadlineMs`, a resolver address, ...).
 */
export function createAuthenticator(options: AuthOptions = {}): Authenticator {
  const deadlineMs = readMilliseconds(options.deadlineMs, DEFAULT_AUTH_DEADLINE_MS, 'auth.deadlineMs');
  const queryTimeoutMs = readMilliseconds(options.queryTimeoutMs, DNS_CLIENT_DEFAULTS.queryTimeoutMs, 'auth.queryTimeoutMs');
  const trust = { authservIds: readNames(options.trustAuthservIds, 'auth.trustAuthservIds'), trustedHosts: readNames(options.trustedHosts, 'auth.trustedHosts') };
  const resolvers = options.resolvers ?? [];
  const dnsEnabled = options.dnsClient !== undefined || resolvers.length > 0 || options.useSystemResolvers === true;
  const client = options.dnsClient ?? (dnsEnabled
    ? createDnsClient({ ...(resolvers.length > 0 ? { resolvers } : {}), queryTimeoutMs, deadlineMs })
    : null);

  async function checkWithDns(raw: Buffer, envelope: Envelope | undefined, dns: DnsClient, deadlineMs: number): Promise<AuthOutcome> {
    const controller = new AbortController();
    const resolver = toMailauthResolver(dns, { signal: controller.signal, deadlineMs });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
      timer.unref?.();
    });
    const noClientIp = missingClientIp(envelope);
    const check = authenticate(raw, {
      resolver: resolver as unknown as (name: string, rrtype: string) => Promise<string[]>,
      ...(noClientIp === null ? { ip: envelope?.clientIp } : {}),
      ...(envelope?.helo ? { helo: envelope.helo } : {}),
      ...(envelope?.mailFrom !== undefined ? { sender: envelope.mailFrom } : {}),
      trustReceived: false,
      disableBimi: true,
      mta: 'spamward',
    }).then((value) => value as unknown as MailauthResult, (error: unknown) => error instanceof Error ? error : new Error(String(error)));

    const winner = await Promise.race([check, deadline]);
    clearTimeout(timer);
    controller.abort();
    const degraded: string[] = [];
    if (winner === 'deadline') {
      degraded.push(`auth: timeout (deadline of ${deadlineMs} ms passed before the checks finished)`);
      return { ...allMechanisms(() => ({ result: 'timeout', reason: `deadline of ${deadlineMs} ms passed` })), source: 'dns', degraded };
    }
    if (winner instanceof Error) {
      degraded.push(`auth: checker failed (${winner.message})`);
      return { ...allMechanisms(() => unknown(`checker failed: ${winner.message}`)), source: 'dns', degraded };
    }

    const results: Pick<AuthOutcome, Mechanism> = {
      spf: noClientIp === null ? fromStatus(winner.spf, 'no SPF result') : { result: 'skipped', reason: noClientIp },
      dkim: dkimFrom(winner),
      dmarc: fromStatus(winner.dmarc, 'no From domain'),
      arc: fromStatus(winner.arc, 'no ARC set'),
    };
    if (noClientIp !== null) {
      degraded.push(`auth: SPF skipped (${noClientIp})`);
      // Without SPF, DMARC can only see DKIM alignment, so its fail is not trustworthy.
      if (results.dmarc.result === 'fail') results.dmarc = { result: 'unknown', reason: `DMARC fail without SPF (${noClientIp})` };
    }
    // A name that cannot be sent in a query (badname) is an error in the
    // message, not an outage. mailauth reports it as temperror or permerror,
    // and a fail that rests on it is kept. Failures past the recorded ones
    // have no recorded status, so they count as outages.
    const outages = resolver.failures.filter((failure) => failure.status !== 'badname');
    const outageCount = outages.length + (resolver.failureCount - resolver.failures.length);
    if (outageCount > 0) {
      const statuses = new Set(outages.map((failure) => failure.status));
      const kind = statuses.has('timeout') ? 'timeout' : statuses.has('skipped') ? 'skipped' : 'temperror';
      const reason = kind === 'skipped' ? 'DNS circuit breaker open' : `${outageCount} DNS lookups failed (${[...statuses].join(', ') || 'status not recorded'})`;
      guardAgainstDnsFailures(results, kind, reason);
      degraded.push(`auth: ${kind} (${reason})`);
    }
    if (resolver.staleAnswers > 0) degraded.push(`auth: stale (${resolver.staleAnswers} DNS answers served from expired cache entries)`);
    return { ...results, source: 'dns', degraded };
  }

  async function authenticateMessage(raw: Buffer, message: ParsedMessage, envelope: Envelope | undefined, budgetMs: number | undefined): Promise<AuthOutcome> {
    const trusted = headerResults(message, trust, options.trustTopmostHeader === true);
    if (Object.keys(trusted).length > 0) {
      const results = allMechanisms((mechanism) => {
        const entry = trusted[mechanism];
        return entry ? { result: entry.result, reason: entry.details || 'from the trusted Authentication-Results' } : { result: 'none', reason: 'not in the trusted Authentication-Results' };
      });
      return { ...results, source: 'trusted-header', degraded: [] };
    }
    if (!client) {
      const reason = trust.authservIds.length > 0 || options.trustTopmostHeader === true
        ? 'not checked: no trusted Authentication-Results in the message and no resolvers configured'
        : 'not checked: no resolvers or trusted authserv-id configured';
      // Checks that were never configured are a deployment choice, not a degradation; `auth` in the result says so.
      return { ...allMechanisms(() => unknown(reason)), source: 'none', degraded: [] };
    }
    if (client.isSkippingLookups()) {
      // Every lookup would be skipped, so mailauth's parsing and hashing would buy nothing.
      const reason = 'DNS circuit breaker open: the resolvers failed a health check, so no check was made';
      return { ...allMechanisms(() => ({ result: 'skipped', reason })), source: 'dns', degraded: [`auth: skipped (${reason})`] };
    }
    return checkWithDns(raw, envelope, client, Math.min(deadlineMs, Math.max(1, budgetMs ?? deadlineMs)));
  }

  return {
    dnsEnabled,
    dnsStats: () => (client ? client.stats() : null),
    async authenticate(raw, message, envelope, budgetMs) {
      try {
        return await authenticateMessage(raw, message, envelope, budgetMs);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return { ...allMechanisms(() => unknown(`checker failed: ${reason}`)), source: client ? 'dns' : 'none', degraded: [`auth: checker failed (${reason})`] };
      }
    },
  };
}
