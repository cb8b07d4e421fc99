import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamHealth } from '../../../src/auth/dns/failover.js';
import { createDnsClient, parseResolver, type Upstream } from '../../../src/auth/dns/index.js';
import { startDnsServer, type TestDnsServer, type Zone } from '../../helpers/dns-server.js';

const ZONE: Zone = {
  'mail.test': [{ type: 'A', data: '192.0.2.10' }],
  'other.test': [{ type: 'A', data: '192.0.2.20' }],
};
const HEDGE_DELAY_MS = 40;
/** Server-side arrival times are measured after the network hop, so allow a little slack below the delay. */
const CLOCK_SLACK_MS = 5;

let first: TestDnsServer;
let second: TestDnsServer;
let third: TestDnsServer;

beforeEach(async () => {
  first = await startDnsServer({ zone: ZONE });
  second = await startDnsServer({ zone: ZONE });
  third = await startDnsServer({ zone: ZONE });
});

afterEach(async () => {
  await Promise.all([first.close(), second.close(), third.close()]);
});

describe('DNS failover', () => {
  it('hedges to the second after the delay', async () => {
    first.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 2_000, hedgeDelayMs: HEDGE_DELAY_MS, deadlineMs: 3_000 });
    // Measured from the client's start: a busy test server may record the first query late, never the second early.
    const started = performance.now();
    const outcome = await client.lookup('mail.test', 'A');

    expect(outcome).toMatchObject({ status: 'ok', resolver: second.address });
    expect(first.queries).toHaveLength(1);
    expect(second.queries).toHaveLength(1);
    const delay = (second.queries[0]?.at ?? 0) - started;
    expect(delay).toBeGreaterThanOrEqual(HEDGE_DELAY_MS - CLOCK_SLACK_MS);
    expect(client.stats().hedgedQueries).toBe(1);
  });

  it('does not hedge when the first answers', async () => {
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 2_000, hedgeDelayMs: 1_000, deadlineMs: 3_000 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', resolver: first.address });
    expect(second.queries).toHaveLength(0);
  });

  it('takes the first good answer', async () => {
    first.setBehaviour({ kind: 'delay', ms: 1_000 });
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 2_000, hedgeDelayMs: 20, deadlineMs: 3_000 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', resolver: second.address });
  });

  it.each([
    ['SERVFAIL', { kind: 'rcode', rcode: 'SERVFAIL' }],
    ['REFUSED', { kind: 'rcode', rcode: 'REFUSED' }],
    ['garbage', { kind: 'garbage' }],
  ] as const)('moves on at once after %s', async (_label, behaviour) => {
    first.setBehaviour(behaviour);
    // A hedge delay longer than the test timeout: only the error answer can explain the second query.
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 60_000, hedgeDelayMs: 60_000, deadlineMs: 60_000 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', resolver: second.address });
    expect(client.stats().hedgedQueries).toBe(0);
  });

  it('treats NXDOMAIN as an answer', async () => {
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 2_000, hedgeDelayMs: 1_000, deadlineMs: 3_000 });
    const outcome = await client.lookup('missing.test', 'A');
    expect(outcome).toMatchObject({ status: 'nxdomain', resolver: first.address });
    expect(second.queries).toHaveLength(0);
  });

  it('hedges through three resolvers', async () => {
    first.setBehaviour({ kind: 'silent' });
    second.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [first.address, second.address, third.address], queryTimeoutMs: 2_000, hedgeDelayMs: 20, deadlineMs: 3_000 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', resolver: third.address });
    expect(client.stats().hedgedQueries).toBe(2);
  });

  it('reports the first failure when all fail', async () => {
    first.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    second.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 50, hedgeDelayMs: 20, deadlineMs: 1000 });
    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome.status).toBe('servfail');
    expect(outcome).toMatchObject({ reason: expect.stringContaining(first.address) });
    expect(outcome).toMatchObject({ reason: expect.stringContaining(second.address) });
  });

  it('asks a healthy resolver first next time', async () => {
    first.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [first.address, second.address], queryTimeoutMs: 2_000, hedgeDelayMs: HEDGE_DELAY_MS, deadlineMs: 3_000 });
    await client.lookup('mail.test', 'A');
    const outcome = await client.lookup('other.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', resolver: second.address });

    // The second lookup asks the second resolver first; the first is asked only if a loaded machine delays the answer past the hedge.
    const secondAskedAt = second.queries[1]?.at ?? Number.POSITIVE_INFINITY;
    const firstAskedAt = first.queries[1]?.at ?? Number.POSITIVE_INFINITY;
    expect(secondAskedAt).toBeLessThan(firstAskedAt);
  });

});

describe('UpstreamHealth', () => {
  const [a, b, c] = ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'].map(parseResolver) as [Upstream, Upstream, Upstream];

  it('keeps the configured order when healthy', () => {
    expect(new UpstreamHealth().order([a, b, c])).toEqual([a, b, c]);
  });

  it('orders by fewest failures', () => {
    const health = new UpstreamHealth();
    health.failed(a);
    health.failed(a);
    health.failed(b);
    expect(health.order([a, b, c])).toEqual([c, b, a]);
  });

  it('clears failures on success', () => {
    const health = new UpstreamHealth();
    health.failed(a);
    health.failed(a);
    health.failed(b);
    health.succeeded(a);
    expect(health.order([a, b, c])).toEqual([a, c, b]);
  });
});
