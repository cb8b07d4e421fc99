import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DnsCache } from '../../../src/auth/dns/cache.js';
import { createDnsClient, type DnsClientOptions } from '../../../src/auth/dns/index.js';
import { startDnsServer, type TestDnsServer, type Zone } from '../../helpers/dns-server.js';

const ZONE: Zone = {
  'short.test': [{ type: 'TXT', data: 'v=spf1 -all', ttl: 5 }],
  'long.test': [{ type: 'TXT', data: 'v=spf1 -all', ttl: 2_000_000 }],
  'mail.test': [{ type: 'A', data: '192.0.2.10', ttl: 60 }],
};
/** Generous timeouts, so a loaded machine does not turn an answer into a timeout. */
const PATIENT: DnsClientOptions = { queryTimeoutMs: 1_000, hedgeDelayMs: 500, deadlineMs: 2_000 };
const START = new Date('2025-01-01T00:00:00Z');

const LIMITS = {
  maxEntries: 100,
  maxBytes: 1_000_000,
  serveStaleMs: 60_000,
  minTtlSeconds: 30,
  maxTtlSeconds: 3_600,
  negativeMinTtlSeconds: 10,
  negativeMaxTtlSeconds: 600,
  failureCacheMs: 5_000,
};

let server: TestDnsServer;

beforeEach(async () => {
  server = await startDnsServer({ zone: ZONE, soa: { ttl: 300, minimum: 300 } });
  // Only Date is faked: the cache reads Date.now(), while sockets and deadlines keep real timers.
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});

afterEach(async () => {
  vi.useRealTimers();
  await server.close();
});

function advance(ms: number): void {
  vi.setSystemTime(Date.now() + ms);
}

describe('DnsCache', () => {
  it('clamps positive TTLs', () => {
    const cache = new DnsCache(LIMITS);
    expect(cache.ttlFor({ kind: 'records', records: [], ttl: 0 })).toBe(30);
    expect(cache.ttlFor({ kind: 'records', records: [], ttl: 300 })).toBe(300);
    expect(cache.ttlFor({ kind: 'records', records: [], ttl: 99_999 })).toBe(3_600);
  });

  it('clamps negative TTLs', () => {
    const cache = new DnsCache(LIMITS);
    expect(cache.ttlFor({ kind: 'nxdomain', ttl: null })).toBe(10);
    expect(cache.ttlFor({ kind: 'nodata', ttl: 1 })).toBe(10);
    expect(cache.ttlFor({ kind: 'nodata', ttl: 120 })).toBe(120);
    expect(cache.ttlFor({ kind: 'nxdomain', ttl: 86_400 })).toBe(600);
  });

  it('reads fresh, then stale, then nothing', () => {
    const cache = new DnsCache(LIMITS);
    const answer = { status: 'ok' as const, records: ['192.0.2.1'], resolver: '127.0.0.1:53' };
    cache.set('A a.test', answer, 30, 0);
    expect(cache.get('A a.test', 10_000)).toEqual({ fresh: true, answer, ttl: 20 });
    expect(cache.get('A a.test', 30_000)).toEqual({ fresh: false, answer });
    expect(cache.get('A a.test', 89_999)).toEqual({ fresh: false, answer });
    expect(cache.get('A a.test', 90_000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('bounds the entry count', () => {
    const cache = new DnsCache({ ...LIMITS, maxEntries: 3 });
    for (let i = 0; i < 10; i += 1) cache.set(`A n${i}.test`, { status: 'nodata', resolver: 'r' }, 60, 0);
    expect(cache.size).toBe(3);
    expect(cache.get('A n0.test', 0)).toBeUndefined();
    expect(cache.get('A n9.test', 0)).toBeDefined();
  });

  it('bounds the estimated bytes', () => {
    const cache = new DnsCache({ ...LIMITS, maxBytes: 2_000 });
    const records = [['x'.repeat(400)]];
    for (let i = 0; i < 10; i += 1) cache.set(`TXT n${i}.test`, { status: 'ok', records, resolver: 'r' }, 60, 0);
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(5);
  });

  it('remembers a failure briefly', () => {
    const cache = new DnsCache(LIMITS);
    cache.setFailure('A a.test', { status: 'servfail', reason: 'SERVFAIL' }, 0);
    expect(cache.getFailure('A a.test', 4_999)).toMatchObject({ status: 'servfail', reason: expect.stringContaining('SERVFAIL') });
    expect(cache.getFailure('A a.test', 5_000)).toBeUndefined();
  });

  it('drops a failure when an answer arrives', () => {
    const cache = new DnsCache(LIMITS);
    cache.setFailure('A a.test', { status: 'timeout', reason: 'silent' }, 0);
    cache.set('A a.test', { status: 'nodata', resolver: 'r' }, 60, 1);
    expect(cache.getFailure('A a.test', 2)).toBeUndefined();
  });

  it('remembers no failure when turned off', () => {
    const cache = new DnsCache({ ...LIMITS, failureCacheMs: 0 });
    cache.setFailure('A a.test', { status: 'timeout', reason: 'silent' }, 0);
    expect(cache.getFailure('A a.test', 0)).toBeUndefined();
  });

  it('skips an entry larger than the byte bound', () => {
    const cache = new DnsCache({ ...LIMITS, maxBytes: 500 });
    cache.set('TXT big.test', { status: 'ok', records: [['x'.repeat(1_000)]], resolver: 'r' }, 60, 0);
    expect(cache.size).toBe(0);
  });
});

describe('DNS client cache', () => {
  it('raises a short TTL to the minimum', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('short.test', 'TXT');
    expect(outcome).toMatchObject({ status: 'ok', ttl: 30 });
    advance(20_000);
    expect(await client.lookup('short.test', 'TXT')).toMatchObject({ cached: true, ttl: 10 });
    expect(server.queries).toHaveLength(1);
  });

  it('lowers a long TTL to the maximum', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], maxTtlSeconds: 600 });
    expect(await client.lookup('long.test', 'TXT')).toMatchObject({ status: 'ok', ttl: 600 });
    advance(601_000);
    expect(await client.lookup('long.test', 'TXT')).toMatchObject({ status: 'ok', cached: false });
    expect(server.queries).toHaveLength(2);
  });

  it('expires negative entries', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('missing.test', 'A');
    advance(299_000);
    expect(await client.lookup('missing.test', 'A')).toMatchObject({ status: 'nxdomain', cached: true });
    advance(2_000);
    expect(await client.lookup('missing.test', 'A')).toMatchObject({ status: 'nxdomain', cached: false });
  });

  it('bounds the cache size', async () => {
    const zone: Zone = {};
    for (let i = 0; i < 6; i += 1) zone[`n${i}.test`] = [{ type: 'A', data: `192.0.2.${i}` }];
    server.setZone(zone);
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], cacheMaxEntries: 4 });
    for (let i = 0; i < 6; i += 1) await client.lookup(`n${i}.test`, 'A');
    expect(client.stats().cacheEntries).toBe(4);

    await client.lookup('n0.test', 'A');
    expect(server.queries).toHaveLength(7);
    await client.lookup('n5.test', 'A');
    expect(server.queries).toHaveLength(7);
  });

  it('clears on request', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A');
    client.clearCache();
    expect(client.stats().cacheEntries).toBe(0);
  });
});

describe('DNS client failure memory', () => {
  it('fails a repeat lookup at once', async () => {
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A');
    const repeat = await client.lookup('mail.test', 'A');
    expect(repeat.status).toBe('servfail');
    expect(repeat).toMatchObject({ reason: expect.stringContaining('an earlier lookup failed') });
    expect(server.queries).toHaveLength(1);
    expect(client.stats().cachedFailures).toBe(1);
    expect(client.stats().failures.servfail).toBe(2);
  });

  it('asks again after the failure memory', async () => {
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], failureCacheMs: 2_000 });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'answer' });
    advance(2_000);
    expect(await client.lookup('mail.test', 'A')).toMatchObject({ status: 'ok', cached: false });
    expect(server.queries).toHaveLength(2);
  });

  it('asks again when turned off', async () => {
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], failureCacheMs: 0 });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'answer' });
    expect((await client.lookup('mail.test', 'A')).status).toBe('ok');
    expect(server.queries).toHaveLength(2);
  });

  it('does not remember a deadline abort', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A', { deadlineMs: 50 });
    server.setBehaviour({ kind: 'answer' });
    expect((await client.lookup('mail.test', 'A')).status).toBe('ok');
  });

  it('prefers a stale answer to a remembered failure', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    advance(61_000);
    await client.lookup('mail.test', 'A');
    expect(await client.lookup('mail.test', 'A')).toMatchObject({ status: 'ok', stale: true });
    expect(server.queries).toHaveLength(2);
  });
});

describe('DNS client serve-stale', () => {
  it('serves an expired entry during an outage', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    expect(await client.lookup('mail.test', 'A')).toMatchObject({ status: 'ok', stale: false });

    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    advance(61_000);
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toEqual({ status: 'ok', records: ['192.0.2.10'], ttl: 30, stale: true, cached: true, resolver: server.address });
    expect(server.queries).toHaveLength(2);
    expect(client.stats().staleAnswers).toBe(1);
    expect(client.stats().failures.servfail).toBe(0);
  });

  it('serves stale when the resolver is silent', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'silent' });
    advance(61_000);
    expect(await client.lookup('mail.test', 'A', { deadlineMs: 50 })).toMatchObject({ status: 'ok', stale: true });
  });

  it('serves a stale negative answer', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('missing.test', 'TXT');
    server.setBehaviour({ kind: 'rcode', rcode: 'REFUSED' });
    advance(301_000);
    expect(await client.lookup('missing.test', 'TXT')).toMatchObject({ status: 'nxdomain', stale: true, ttl: 30 });
  });

  it('refreshes an expired entry when the resolver answers', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A');
    advance(61_000);
    expect(await client.lookup('mail.test', 'A')).toMatchObject({ status: 'ok', stale: false, cached: false });
    expect(server.queries).toHaveLength(2);
  });

  it('stops serving stale after the window', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], serveStaleMs: 3_600_000 });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    advance(60_000 + 3_600_000 + 1_000);
    expect((await client.lookup('mail.test', 'A')).status).toBe('servfail');
  });

  it('serves nothing stale when turned off', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], serveStaleMs: 0 });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    advance(61_000);
    expect((await client.lookup('mail.test', 'A')).status).toBe('servfail');
  });
});
