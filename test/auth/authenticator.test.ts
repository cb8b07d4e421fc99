import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { dkimSign, sealMessage } from 'mailauth';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClientOptions } from '../../src/auth/dns/index.js';
import { createAuthenticator, MECHANISMS, type AuthOptions, type AuthOutcome, type Authenticator } from '../../src/auth/index.js';
import { OptionsError } from '../../src/errors.js';
import { parseMessage } from '../../src/parse/index.js';
import type { Envelope } from '../../src/parse/types.js';
import { startDnsServer, type Behaviour, type TestDnsServer, type Zone } from '../helpers/dns-server.js';

/** Limits for runs expected to pass: generous, so a loaded machine does not turn an answer into a timeout. */
const PATIENT: AuthOptions = { deadlineMs: 3_000, queryTimeoutMs: 1_000 };
/** Limits for runs against a failing resolver. */
const SHORT: AuthOptions = { deadlineMs: 600, queryTimeoutMs: 100 };
/**
 * Limits for the invariant table, where one lookup fails and the others must
 * still be answered in time on a loaded machine, or the failing one is never sent.
 */
const TABLE: AuthOptions = { deadlineMs: 1_500, queryTimeoutMs: 300 };
/** Slack on top of the deadline before the stage counts as late. */
const DEADLINE_MARGIN_MS = 200;
/** Upper bound for polling the circuit breaker's state. */
const POLL_LIMIT_MS = 3_000;
const SELECTOR = 'sel';

let privateKey: string;
let keyRecord: string[];

function splitTxt(text: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 255) chunks.push(text.slice(i, i + 255));
  return chunks;
}

/**
 * example.com: SPF for 192.0.2.0/24 with -all, DKIM key, DMARC p=reject.
 * soft.example.com: SPF ~all. example.org: DKIM key and DMARC p=reject, no
 * SPF of its own. example.net: the bounce domain, whose SPF needs an include,
 * an `a:` and an `mx` lookup. quiet.example.net: no records at all.
 */
function zone(): Zone {
  const key = [{ type: 'TXT' as const, data: keyRecord }];
  return {
    'example.com': [
      { type: 'TXT', data: 'v=spf1 ip4:192.0.2.0/24 -all' },
      { type: 'A', data: '192.0.2.10' },
    ],
    [`${SELECTOR}._domainkey.example.com`]: key,
    '_dmarc.example.com': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    'soft.example.com': [{ type: 'TXT', data: 'v=spf1 ip4:192.0.2.0/24 ~all' }],
    'example.org': [{ type: 'A', data: '198.51.100.80' }],
    [`${SELECTOR}._domainkey.example.org`]: key,
    '_dmarc.example.org': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    'example.net': [
      { type: 'TXT', data: 'v=spf1 include:_spf.example.com a:relay.example.net mx -all' },
      { type: 'MX', data: { exchange: 'mx.example.net', priority: 10 } },
    ],
    '_spf.example.com': [{ type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' }],
    'relay.example.net': [{ type: 'A', data: '203.0.113.10' }],
    'mx.example.net': [{ type: 'A', data: '203.0.113.20' }],
  };
}

function compose(from: string, id: string, body = 'Hello, the report is attached as promised.'): string {
  return [`From: ${from}`, 'To: rcpt@example.com', 'Subject: Quarterly report', 'Date: Wed, 01 Jan 2025 00:00:00 +0000', `Message-ID: <${id}@example.com>`, '', body, ''].join('\r\n');
}

async function sign(message: string, domain: string, selector = SELECTOR): Promise<string> {
  // mailauth 4.13.3 signs with the entries of signatureData; its type definitions also require the top-level fields.
  const key = { signingDomain: domain, selector, privateKey };
  const signed = await dkimSign(message, { ...key, signatureData: [key] });
  return signed.signatures + message;
}

async function seal(signed: string, domain: string): Promise<string> {
  const options = { signingDomain: domain, selector: SELECTOR, privateKey, authResults: `mx.${domain}; spf=pass`, cv: 'none' };
  const sealed = await sealMessage(signed, options as Parameters<typeof sealMessage>[1]);
  return sealed.toString() + signed;
}

async function check(authenticator: Authenticator, raw: string, envelope?: Envelope): Promise<AuthOutcome> {
  return authenticator.authenticate(Buffer.from(raw), await parseMessage(raw), envelope);
}

function results(outcome: AuthOutcome): Record<string, string> {
  return { spf: outcome.spf.result, dkim: outcome.dkim.result, dmarc: outcome.dmarc.result, arc: outcome.arc.result };
}

function expectNoFailure(outcome: AuthOutcome): void {
  for (const mechanism of MECHANISMS) {
    expect(outcome[mechanism].result, mechanism).not.toBe('fail');
    expect(outcome[mechanism].result, mechanism).not.toBe('permerror');
    expect(outcome[mechanism].result, mechanism).not.toBe('softfail');
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  const started = performance.now();
  while (!condition() && performance.now() - started < POLL_LIMIT_MS) await sleep(10);
}

/** Envelope of mail from example.com sent by one of its listed hosts. */
const FROM_COM: Envelope = { clientIp: '192.0.2.25', helo: 'mail.example.com', mailFrom: 'alice@example.com' };

let server: TestDnsServer;
const extraServers: TestDnsServer[] = [];

beforeAll(() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  keyRecord = splitTxt(`v=DKIM1; k=rsa; p=${pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`);
});

beforeEach(async () => {
  server = await startDnsServer({ zone: zone(), soa: { ttl: 300, minimum: 300 } });
});

afterEach(async () => {
  await server.close();
  for (const extra of extraServers.splice(0)) await extra.close();
});

describe('authenticator results', () => {
  it('passes every mechanism', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const raw = await seal(await sign(compose('alice@example.com', 'pass'), 'example.com'), 'example.com');
    const outcome = await check(authenticator, raw, FROM_COM);
    expect(results(outcome)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'pass' });
    expect(outcome.source).toBe('dns');
    expect(outcome.degraded).toEqual([]);
  });

  it('reports spf fail for an unlisted IP', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const raw = await sign(compose('alice@example.com', 'spf-fail'), 'example.com');
    const outcome = await check(authenticator, raw, { ...FROM_COM, clientIp: '203.0.113.99' });
    expect(outcome.spf.result).toBe('fail');
    expect(outcome.dkim.result).toBe('pass');
    expect(outcome.dmarc.result).toBe('pass');
    expect(outcome.arc.result).toBe('none');
    expect(outcome.degraded).toEqual([]);
  });

  it('reports spf softfail', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const raw = compose('alice@soft.example.com', 'softfail');
    const outcome = await check(authenticator, raw, { clientIp: '203.0.113.99', helo: 'client.example.org', mailFrom: 'alice@soft.example.com' });
    expect(outcome.spf.result).toBe('softfail');
    expect(outcome.dkim.result).toBe('none');
  });

  it('reports dkim fail for a changed header', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const signed = await sign(compose('alice@example.com', 'dkim-fail'), 'example.com');
    const outcome = await check(authenticator, signed.replace('Subject: Quarterly report', 'Subject: Invoice overdue'), FROM_COM);
    expect(outcome.dkim).toEqual({ result: 'fail', reason: 'bad signature' });
    expect(outcome.spf.result).toBe('pass');
    expect(outcome.degraded).toEqual([]);
  });

  it('reports dkim neutral for a changed body', async () => {
    // mailauth 4.13.3 reports a body hash mismatch as neutral, not as fail.
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const signed = await sign(compose('alice@example.com', 'dkim-body'), 'example.com');
    const outcome = await check(authenticator, signed.replace('as promised', 'as promised. Wire the fee today'), FROM_COM);
    expect(outcome.dkim).toEqual({ result: 'neutral', reason: 'body hash did not verify' });
    expect(outcome.spf.result).toBe('pass');
    expect(outcome.degraded).toEqual([]);
  });

  it('reports a weak key as dkim fail', async () => {
    // mailauth 4.13.3 reports a key under 1024 bits as `policy`, which reads as fail, as it does in a header.
    const weak = generateKeyPairSync('rsa', { modulusLength: 512 });
    const weakKey = weak.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    server.setZone({ ...zone(), 'weak._domainkey.example.com': [{ type: 'TXT', data: `v=DKIM1; k=rsa; p=${weak.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` }] });
    const message = compose('alice@example.com', 'weak-key');
    const key = { signingDomain: 'example.com', selector: 'weak', privateKey: weakKey };
    const signed = (await dkimSign(message, { ...key, signatureData: [key] })).signatures + message;

    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const outcome = await check(authenticator, signed, FROM_COM);
    expect(outcome.dkim.result).toBe('fail');
    expect(outcome.degraded).toEqual([]);
  });

  it('reports dmarc fail when unaligned', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    // Signed and sent by example.com, so DKIM and SPF pass, but From is example.org with p=reject.
    const raw = await sign(compose('ceo@example.org', 'unaligned'), 'example.com');
    const outcome = await check(authenticator, raw, FROM_COM);
    expect(outcome.spf.result).toBe('pass');
    expect(outcome.dkim.result).toBe('pass');
    expect(outcome.dmarc.result).toBe('fail');
  });

  it('reports none without records', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const raw = compose('bob@quiet.example.net', 'none');
    const outcome = await check(authenticator, raw, { clientIp: '198.51.100.7', helo: 'quiet.example.net', mailFrom: 'bob@quiet.example.net' });
    expect(results(outcome)).toEqual({ spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none' });
    expect(outcome.degraded).toEqual([]);
  });

  it('keeps a fail beside a bad name', async () => {
    // A selector label over 63 bytes cannot be sent in a query. That is the sender's error, not an outage.
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const raw = await sign(compose('alice@example.com', 'badname'), 'example.com', 's'.repeat(64));
    const outcome = await check(authenticator, raw, { ...FROM_COM, clientIp: '203.0.113.99' });
    expect(outcome.spf.result).toBe('fail');
    expect(outcome.dmarc.result).toBe('fail');
    expect(outcome.degraded).toEqual([]);
  });
});

describe('authenticator envelope', () => {
  it('skips spf without an envelope', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'no-envelope'), 'example.com'));
    expect(outcome.spf).toEqual({ result: 'skipped', reason: 'no client IP in the envelope' });
    expect(outcome.dkim.result).toBe('pass');
    expect(outcome.dmarc.result).toBe('pass');
    expect(outcome.degraded).toEqual(['auth: SPF skipped (no client IP in the envelope)']);
  });

  it('skips spf for an invalid client IP', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const outcome = await check(authenticator, compose('alice@example.com', 'bad-ip'), { ...FROM_COM, clientIp: 'not-an-address' });
    expect(outcome.spf.result).toBe('skipped');
    expect(outcome.spf.reason).toContain('"not-an-address" is not an IP address');
    expect(outcome.degraded).toEqual([expect.stringContaining('auth: SPF skipped')]);
  });

  it('downgrades dmarc fail without spf', async () => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('ceo@example.org', 'no-spf-unaligned'), 'example.com'));
    expect(outcome.dmarc.result).toBe('unknown');
    expect(outcome.dmarc.reason).toContain('without SPF');
  });

  it('checks nothing without resolvers', async () => {
    const authenticator = createAuthenticator();
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'unchecked'), 'example.com'), FROM_COM);
    for (const mechanism of MECHANISMS) {
      expect(outcome[mechanism].result, mechanism).toBe('unknown');
      expect(outcome[mechanism].reason, mechanism).toContain('not checked');
    }
    expect(outcome.source).toBe('none');
    expect(outcome.degraded).toEqual([]);
    expect(authenticator.dnsEnabled).toBe(false);
    expect(authenticator.dnsStats()).toBeNull();
    expect(server.queries).toEqual([]);
  });
});

describe('authenticator outages', () => {
  it('returns timeout within the deadline', async () => {
    server.setBehaviour({ kind: 'silent' });
    const deadlineMs = 300;
    const authenticator = createAuthenticator({ resolvers: [server.address], deadlineMs, queryTimeoutMs: 100 });
    // Sealed, so ARC needs a key lookup too.
    const raw = await seal(await sign(compose('alice@example.com', 'black-hole'), 'example.com'), 'example.com');
    const message = await parseMessage(raw);

    const started = performance.now();
    const outcome = await authenticator.authenticate(Buffer.from(raw), message, FROM_COM);
    const elapsed = performance.now() - started;

    expect(elapsed).toBeLessThan(deadlineMs + DEADLINE_MARGIN_MS);
    expect(results(outcome)).toEqual({ spf: 'timeout', dkim: 'timeout', dmarc: 'timeout', arc: 'timeout' });
    expect(outcome.degraded).toEqual([expect.stringMatching(/^auth: timeout/)]);
    expect(server.queries.length).toBeGreaterThan(0);
  });

  it('reports temperror for servfail', async () => {
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const authenticator = createAuthenticator({ ...SHORT, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'servfail'), 'example.com'), FROM_COM);
    expect(results(outcome)).toEqual({ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror', arc: 'none' });
    expect(outcome.degraded).toEqual([expect.stringMatching(/^auth: temperror \(\d+ DNS lookups failed \(servfail\)\)$/)]);
  });

  it('reports timeout for slow answers', async () => {
    server.setBehaviour({ kind: 'delay', ms: 300 });
    const authenticator = createAuthenticator({ resolvers: [server.address], deadlineMs: 600, queryTimeoutMs: 100 });
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'slow'), 'example.com'), FROM_COM);
    expectNoFailure(outcome);
    expect(outcome.spf.result).toBe('timeout');
    expect(outcome.dkim.result).toBe('timeout');
    expect(outcome.degraded).toEqual([expect.stringMatching(/^auth: timeout/)]);
  });

  it('reports temperror for garbage', async () => {
    server.setBehaviour({ kind: 'garbage' });
    const authenticator = createAuthenticator({ ...SHORT, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'garbage'), 'example.com'), FROM_COM);
    expect(results(outcome)).toEqual({ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror', arc: 'none' });
    expect(outcome.degraded).toEqual([expect.stringContaining('malformed')]);
  });

  it('passes with truncated answers', async () => {
    server.setBehaviour({ kind: 'truncate' });
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'truncated'), 'example.com'), FROM_COM);
    expect(results(outcome)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    expect(authenticator.dnsStats()?.tcpFallbacks).toBeGreaterThan(0);
    expect(server.queries.some((query) => query.transport === 'tcp')).toBe(true);
  });

  it('fails over to the second resolver', async () => {
    const dead = await startDnsServer({ behaviour: { kind: 'silent' } });
    extraServers.push(dead);
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [dead.address, server.address] });
    const outcome = await check(authenticator, await sign(compose('alice@example.com', 'failover'), 'example.com'), FROM_COM);
    expect(results(outcome)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    expect(outcome.degraded).toEqual([]);
    expect(dead.queries.length).toBeGreaterThan(0);
  });

  it('serves stale answers in an outage', async () => {
    // TTLs clamped to 0 make every entry expire at once, as after a long outage.
    const dns = createDnsClient({ resolvers: [server.address], queryTimeoutMs: 300, deadlineMs: 3_000, minTtlSeconds: 0, maxTtlSeconds: 0, negativeMinTtlSeconds: 0, negativeMaxTtlSeconds: 0 });
    const authenticator = createAuthenticator({ deadlineMs: 3_000, dnsClient: dns });
    const raw = await sign(compose('alice@example.com', 'stale'), 'example.com');
    const first = await check(authenticator, raw, FROM_COM);
    expect(results(first)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });

    server.setBehaviour({ kind: 'silent' });
    const second = await check(authenticator, raw, FROM_COM);
    expect(results(second)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    expect(second.degraded).toEqual([expect.stringMatching(/^auth: stale \(\d+ DNS answers served from expired cache entries\)$/)]);
    expect(dns.stats().staleAnswers).toBeGreaterThan(0);
  });

  it('skips checks while the breaker is open', async () => {
    const settings: DnsClientOptions = { resolvers: [server.address], queryTimeoutMs: 300, deadlineMs: 1_000, failureCacheMs: 0, breakerFailureThreshold: 2, breakerCooldownMs: 300 };
    const dns = createDnsClient(settings);
    const authenticator = createAuthenticator({ deadlineMs: 3_000, dnsClient: dns });
    const raw = await sign(compose('alice@example.com', 'breaker'), 'example.com');

    server.setBehaviour({ kind: 'silent' });
    const first = await check(authenticator, raw, FROM_COM);
    expectNoFailure(first);
    await waitFor(() => dns.stats().breaker.state === 'open');
    expect(dns.stats().breaker.state).toBe('open');

    const sent = server.queries.length;
    const skipped = await check(authenticator, raw, FROM_COM);
    // While the breaker cools down the stage does not run mailauth at all, so ARC is skipped too.
    expect(results(skipped)).toEqual({ spf: 'skipped', dkim: 'skipped', dmarc: 'skipped', arc: 'skipped' });
    expect(skipped.degraded).toHaveLength(1);
    expect(skipped.degraded[0]).toMatch(/^auth: skipped \(DNS circuit breaker open/);
    expect(server.queries.length).toBe(sent);

    server.setBehaviour({ kind: 'answer' });
    await sleep(settings.breakerCooldownMs ?? 0);
    const recovered = await check(authenticator, raw, FROM_COM);
    expect(results(recovered)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    expect(dns.stats().breaker.state).toBe('closed');
    expect(dns.stats().breaker.closed).toBe(1);
  });
});

/** One kind of lookup: the questions it sends, and a client IP whose SPF result depends on it. */
interface LookupKind {
  label: string;
  questions: [string, string][];
  clientIp: string;
}

/**
 * Mail from example.org (DKIM-signed, DMARC p=reject) with the bounce domain
 * example.net, so SPF passes unaligned and DMARC rests on DKIM alone. Each
 * client IP is allowed only by the mechanism whose lookup fails, so a failed
 * lookup read as "no match" would end in -all and a fail.
 */
const LOOKUPS: LookupKind[] = [
  { label: 'SPF TXT', questions: [['example.net', 'TXT']], clientIp: '198.51.100.25' },
  { label: 'include TXT', questions: [['_spf.example.com', 'TXT']], clientIp: '198.51.100.25' },
  { label: 'DKIM key TXT', questions: [[`${SELECTOR}._domainkey.example.org`, 'TXT']], clientIp: '198.51.100.25' },
  { label: 'DMARC TXT', questions: [['_dmarc.example.org', 'TXT']], clientIp: '198.51.100.25' },
  { label: 'a: A', questions: [['relay.example.net', 'A']], clientIp: '203.0.113.10' },
  { label: 'mx: MX', questions: [['example.net', 'MX']], clientIp: '203.0.113.20' },
  { label: 'mx: exchange A', questions: [['mx.example.net', 'A']], clientIp: '203.0.113.20' },
];

const FAILURES: [string, Behaviour][] = [
  ['silent', { kind: 'silent' }],
  ['servfail', { kind: 'rcode', rcode: 'SERVFAIL' }],
  ['refused', { kind: 'rcode', rcode: 'REFUSED' }],
  ['garbage', { kind: 'garbage' }],
  ['slow', { kind: 'delay', ms: 500 }],
];

function envelopeFor(lookup: LookupKind): Envelope {
  return { clientIp: lookup.clientIp, helo: 'relay.example.net', mailFrom: 'bounce@example.net' };
}

describe('authenticator invariant', () => {
  it.each(LOOKUPS)('passes when $label answers', async (lookup) => {
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('news@example.org', 'baseline'), 'example.org'), envelopeFor(lookup));
    expect(results(outcome)).toEqual({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
  });

  const table = LOOKUPS.flatMap((lookup) => FAILURES.map(([name, behaviour]) => ({ lookup, name, behaviour })));
  it.each(table)('never fails on $name $lookup.label', async ({ lookup, behaviour }) => {
    server.setBehaviour((query) => {
      const matches = lookup.questions.some(([name, type]) => query.name.toLowerCase() === name && query.type === type);
      return matches ? behaviour : { kind: 'answer' };
    });
    const authenticator = createAuthenticator({ ...TABLE, resolvers: [server.address] });
    const outcome = await check(authenticator, await sign(compose('news@example.org', 'invariant'), 'example.org'), envelopeFor(lookup));

    expectNoFailure(outcome);
    expect(outcome.degraded).toEqual([expect.stringMatching(/^auth: (timeout|temperror) /)]);
    expect(server.queries.some((query) => lookup.questions.some(([name, type]) => query.name.toLowerCase() === name && query.type === type))).toBe(true);
  });
});

describe('authenticator options', () => {
  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, '500', null])('rejects deadlineMs %s', (deadlineMs) => {
    const create = () => createAuthenticator({ deadlineMs: deadlineMs as number });
    expect(create).toThrow(OptionsError);
    expect(create).toThrow(/auth\.deadlineMs/);
    expect(create).toThrow(expect.objectContaining({ input: 'auth.deadlineMs' }));
  });

  it('rejects a bad queryTimeoutMs', () => {
    expect(() => createAuthenticator({ resolvers: [server.address], queryTimeoutMs: 0 })).toThrow(/auth\.queryTimeoutMs/);
  });

  it.each([
    ['trustAuthservIds', { trustAuthservIds: 'mx.example.com' }],
    ['trustAuthservIds', { trustAuthservIds: [''] }],
    ['trustedHosts', { trustedHosts: [42] }],
  ])('rejects a bad %s', (name, options) => {
    expect(() => createAuthenticator(options as unknown as AuthOptions)).toThrow(OptionsError);
    expect(() => createAuthenticator(options as unknown as AuthOptions)).toThrow(`auth.${name}`);
  });

  it('rejects a host name as resolver', () => {
    expect(() => createAuthenticator({ resolvers: ['dns.example.com'] })).toThrow(OptionsError);
  });
});
