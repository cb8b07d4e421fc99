import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDnsClient, type DnsClientOptions } from '../../../src/auth/dns/index.js';
import { startDnsServer, type TestDnsServer, type Zone } from '../../helpers/dns-server.js';

const ZONE: Zone = {
  'mail.test': [
    { type: 'A', data: '192.0.2.10', ttl: 300 },
    { type: 'A', data: '192.0.2.11', ttl: 120 },
    { type: 'AAAA', data: '2001:db8::10', ttl: 600 },
    { type: 'MX', data: { exchange: 'mx.mail.test', priority: 10 }, ttl: 300 },
    { type: 'TXT', data: ['v=spf1 ip4:192.0.2.0/24', ' -all'], ttl: 300 },
  ],
  'alias.mail.test': [{ type: 'CNAME', data: 'mail.test', ttl: 60 }],
  '10.2.0.192.in-addr.arpa': [{ type: 'PTR', data: 'mail.test', ttl: 300 }],
};

/** Timeouts for lookups expected to get an answer: generous, so a loaded machine does not turn an answer into a timeout. */
const PATIENT: DnsClientOptions = { queryTimeoutMs: 1_000, hedgeDelayMs: 500, deadlineMs: 2_000 };
/** Timeouts for lookups expected to time out: short real timeouts keep the tests fast. */
const SHORT: DnsClientOptions = { queryTimeoutMs: 60, hedgeDelayMs: 20, deadlineMs: 300 };

let server: TestDnsServer;

beforeEach(async () => {
  server = await startDnsServer({ zone: ZONE, soa: { ttl: 600, minimum: 120 } });
});

afterEach(async () => {
  await server.close();
});

describe('DNS client answers', () => {
  it('passes A records through with TTL', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toEqual({ status: 'ok', records: ['192.0.2.10', '192.0.2.11'], ttl: 120, stale: false, cached: false, resolver: server.address });
  });

  it('returns TXT as character-string arrays', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'TXT');
    expect(outcome.status).toBe('ok');
    expect(outcome).toMatchObject({ status: 'ok', records: [['v=spf1 ip4:192.0.2.0/24', ' -all']] });
  });

  it('returns MX, AAAA and PTR records', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const mx = await client.lookup('mail.test', 'MX');
    const aaaa = await client.lookup('mail.test', 'AAAA');
    const ptr = await client.lookup('10.2.0.192.in-addr.arpa', 'PTR');
    expect(mx).toMatchObject({ status: 'ok', records: [{ exchange: 'mx.mail.test', priority: 10 }] });
    expect(aaaa).toMatchObject({ status: 'ok', records: ['2001:db8::10'] });
    expect(ptr).toMatchObject({ status: 'ok', records: ['mail.test'] });
  });

  it('follows a CNAME with the chain TTL', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('alias.mail.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', records: ['192.0.2.10', '192.0.2.11'] });
    expect(outcome).toMatchObject({ status: 'ok', ttl: 60 });
  });

  it('returns CNAME records when asked for them', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('alias.mail.test', 'CNAME');
    expect(outcome).toMatchObject({ status: 'ok', records: ['mail.test'] });
  });

  it('serves a repeat lookup from the cache', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await client.lookup('mail.test', 'A');
    const second = await client.lookup('MAIL.test.', 'A');
    expect(second).toMatchObject({ status: 'ok', cached: true });
    expect(server.queries).toHaveLength(1);
    expect(client.stats().cacheHits).toBe(1);
    expect(client.stats().queries).toBe(2);
  });
});

describe('DNS client negative answers', () => {
  it('caches NXDOMAIN with the SOA TTL', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const first = await client.lookup('missing.test', 'TXT');
    const second = await client.lookup('missing.test', 'TXT');
    expect(first).toMatchObject({ status: 'nxdomain', ttl: 120, cached: false });
    expect(second).toMatchObject({ status: 'nxdomain', cached: true });
    expect(server.queries).toHaveLength(1);
  });

  it('caches NODATA', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const first = await client.lookup('10.2.0.192.in-addr.arpa', 'TXT');
    const second = await client.lookup('10.2.0.192.in-addr.arpa', 'TXT');
    expect(first).toMatchObject({ status: 'nodata', cached: false });
    expect(second).toMatchObject({ status: 'nodata', cached: true });
    expect(server.queries).toHaveLength(1);
  });

  it('clamps the negative TTL', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], negativeMaxTtlSeconds: 60 });
    const outcome = await client.lookup('missing.test', 'A');
    expect(outcome).toMatchObject({ status: 'nxdomain', ttl: 60 });
  });

  it('uses the negative minimum without SOA', async () => {
    const bare = await startDnsServer({ zone: ZONE });
    try {
      const client = createDnsClient({ ...PATIENT, resolvers: [bare.address], negativeMinTtlSeconds: 45 });
      const outcome = await client.lookup('missing.test', 'A');
      expect(outcome).toMatchObject({ status: 'nxdomain', ttl: 45 });
    } finally {
      await bare.close();
    }
  });
});

describe('DNS client failures', () => {
  it('times out a black-holed resolver within the deadline', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [server.address], queryTimeoutMs: 5_000, deadlineMs: 150 });
    const started = performance.now();
    const outcome = await client.lookup('mail.test', 'A');
    const elapsed = performance.now() - started;
    expect(outcome.status).toBe('timeout');
    expect(outcome).toMatchObject({ reason: expect.stringContaining('deadline of 150 ms') });
    expect(elapsed).toBeLessThan(150 + 200);
  });

  it('times out at the per-query timeout', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...SHORT, resolvers: [server.address], deadlineMs: 5_000 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('timeout');
    expect(outcome).toMatchObject({ reason: expect.stringContaining('within 60 ms') });
    expect(client.stats().timeouts).toBe(1);
    expect(client.stats().failures.timeout).toBe(1);
  });

  it('times out an answer slower than the timeout', async () => {
    server.setBehaviour({ kind: 'delay', ms: 150 });
    const client = createDnsClient({ ...SHORT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('timeout');
  });

  it('accepts an answer slower than the hedge delay', async () => {
    server.setBehaviour({ kind: 'delay', ms: 50 });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], hedgeDelayMs: 10 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('ok');
  });

  it.each([
    ['SERVFAIL', 'servfail'],
    ['REFUSED', 'refused'],
    ['NOTIMP', 'servfail'],
  ] as const)('maps %s to %s', async (rcode, status) => {
    server.setBehaviour({ kind: 'rcode', rcode });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe(status);
    expect(outcome).toMatchObject({ reason: expect.stringContaining(rcode) });
    expect(client.stats().failures[status]).toBe(1);
  });

  it('reports garbage bytes as malformed', async () => {
    server.setBehaviour({ kind: 'garbage' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('malformed');
    expect(outcome).toMatchObject({ reason: expect.stringContaining(server.address) });
  });

  it('reports a header-only packet as malformed', async () => {
    server.setBehaviour({ kind: 'garbage', bytes: Buffer.alloc(5) });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    expect((await client.lookup('mail.test', 'A')).status).toBe('malformed');
  });

  it('reports a closed port as refused', async () => {
    const closed = await startDnsServer();
    const address = closed.address;
    await closed.close();
    const client = createDnsClient({ ...PATIENT, resolvers: [address] });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('refused');
    expect(outcome).toMatchObject({ reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('recovers when failures are not remembered', async () => {
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], failureCacheMs: 0 });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'answer' });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('ok');
    expect(server.queries).toHaveLength(2);
  });

  it('returns badname without asking', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    for (const name of ['', 'a..test', `${'x'.repeat(64)}.test`, 'bücher.test', 'with space.test']) {
      const outcome = await client.lookup(name, 'A');
      expect(outcome.status, name).toBe('badname');
    }
    expect(server.queries).toHaveLength(0);
    expect(client.stats().failures.badname).toBe(5);
  });

  it('returns timeout for an aborted signal', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'A', { signal: AbortSignal.abort() });
    expect(outcome.status).toBe('timeout');
    expect(server.queries).toHaveLength(0);
  });

  it('ends a lookup when the signal aborts', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [server.address], queryTimeoutMs: 5_000, deadlineMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const outcome = await client.lookup('mail.test', 'A', { signal: controller.signal });
    expect(outcome.status).toBe('timeout');
    expect(outcome).toMatchObject({ reason: expect.stringContaining("caller's signal") });
  });

  it('rejects an unsupported record type', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    await expect(client.lookup('mail.test', 'SOA' as never)).rejects.toThrow(/Unsupported DNS record type "SOA"/);
  });
});

describe('DNS client truncation', () => {
  it('retries a truncated answer over TCP', async () => {
    server.setBehaviour({ kind: 'truncate' });
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'TXT');
    expect(outcome).toMatchObject({ status: 'ok', records: [['v=spf1 ip4:192.0.2.0/24', ' -all']] });
    expect(server.queries.map((query) => query.transport)).toEqual(['udp', 'tcp']);
    expect(client.stats().tcpFallbacks).toBe(1);
    expect(client.stats().upstreamQueries).toBe(2);
  });

  it('reads a large TXT record over TCP', async () => {
    const key = 'p=' + 'A'.repeat(250);
    const chunks = Array.from({ length: 12 }, () => key);
    server.setZone({ 'big._domainkey.mail.test': [{ type: 'TXT', data: chunks }] });
    server.setBehaviour((query) => (query.transport === 'udp' ? { kind: 'truncate' } : { kind: 'answer' }));
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('big._domainkey.mail.test', 'TXT');
    expect(outcome).toMatchObject({ status: 'ok', records: [chunks] });
  });

  it('reports garbage over TCP as malformed', async () => {
    server.setBehaviour((query) => (query.transport === 'udp' ? { kind: 'truncate' } : { kind: 'garbage' }));
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'TXT');
    expect(outcome.status).toBe('malformed');
  });

  it('times out a silent TCP fallback', async () => {
    server.setBehaviour((query) => (query.transport === 'udp' ? { kind: 'truncate' } : { kind: 'silent' }));
    const client = createDnsClient({ ...SHORT, resolvers: [server.address] });
    const outcome = await client.lookup('mail.test', 'TXT');
    expect(outcome.status).toBe('timeout');
    expect(outcome).toMatchObject({ reason: expect.stringContaining('TCP') });
  });
});
