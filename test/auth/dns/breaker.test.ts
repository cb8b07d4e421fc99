import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from '../../../src/auth/dns/breaker.js';
import { createDnsClient, type BreakerState, type DnsClient, type DnsClientOptions, type DnsLogger } from '../../../src/auth/dns/index.js';
import { startDnsServer, type TestDnsServer, type Zone } from '../../helpers/dns-server.js';

const ZONE: Zone = {
  'mail.test': [{ type: 'A', data: '192.0.2.10', ttl: 60 }],
  'other.test': [{ type: 'A', data: '192.0.2.20', ttl: 60 }],
};
/**
 * Short timeouts: the failing lookups and health checks below time out on a
 * silent server. Lookups that must get an answer run against a server that
 * answers at once.
 */
const BREAKER: DnsClientOptions = {
  queryTimeoutMs: 100,
  hedgeDelayMs: 50,
  deadlineMs: 1_000,
  breakerFailureThreshold: 3,
  breakerWindowMs: 10_000,
  breakerCooldownMs: 5_000,
};
/** Bound on waiting for the background health check that follows the third failure. */
const CHECK_WAIT_MS = 3_000;

function breakerWith(transitions: string[]): CircuitBreaker {
  return new CircuitBreaker({
    failureThreshold: 3,
    windowMs: 1_000,
    cooldownMs: 500,
    onTransition: (to: BreakerState, from: BreakerState) => transitions.push(`${from}->${to}`),
  });
}

describe('CircuitBreaker', () => {
  it('asks for a check at the threshold', () => {
    const breaker = breakerWith([]);
    expect(breaker.failed(0)).toBe(false);
    expect(breaker.failed(1)).toBe(false);
    expect(breaker.failed(2)).toBe(true);
    expect(breaker.state).toBe('closed');
    expect(breaker.failed(3)).toBe(false);
  });

  it('opens when the check fails', () => {
    const transitions: string[] = [];
    const breaker = breakerWith(transitions);
    for (let i = 0; i < 3; i += 1) breaker.failed(i);
    breaker.checked(false, 3);
    expect(breaker.state).toBe('open');
    expect(breaker.acquire(10)).toBe('denied');
    expect(transitions).toEqual(['closed->open']);
  });

  it('stays closed when the check passes', () => {
    const transitions: string[] = [];
    const breaker = breakerWith(transitions);
    for (let i = 0; i < 3; i += 1) breaker.failed(i);
    breaker.checked(true, 3);
    expect(breaker.state).toBe('closed');
    expect(breaker.failed(4)).toBe(false);
    expect(transitions).toEqual([]);
  });

  it('forgets failures outside the window', () => {
    const breaker = breakerWith([]);
    breaker.failed(0);
    breaker.failed(10);
    expect(breaker.failed(1_500)).toBe(false);
  });

  it('resets the run on success', () => {
    const breaker = breakerWith([]);
    breaker.failed(0);
    breaker.failed(1);
    breaker.succeeded();
    expect(breaker.failed(3)).toBe(false);
  });

  it('checks once after the cool-down', () => {
    const transitions: string[] = [];
    const breaker = breakerWith(transitions);
    for (let i = 0; i < 3; i += 1) breaker.failed(0);
    breaker.checked(false, 0);
    expect(breaker.acquire(499)).toBe('denied');
    expect(breaker.acquire(500)).toBe('check');
    expect(breaker.acquire(501)).toBe('denied');
    breaker.checked(true, 502);
    expect(breaker.acquire(503)).toBe('allowed');
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('reopens when the half-open check fails', () => {
    const breaker = breakerWith([]);
    for (let i = 0; i < 3; i += 1) breaker.failed(0);
    breaker.checked(false, 0);
    expect(breaker.acquire(500)).toBe('check');
    breaker.checked(false, 600);
    expect(breaker.state).toBe('open');
    expect(breaker.acquire(1_099)).toBe('denied');
    expect(breaker.acquire(1_100)).toBe('check');
  });
});

describe('DNS client breaker', () => {
  let server: TestDnsServer;
  let warnings: Array<{ message: string; meta: Record<string, unknown> | undefined }>;
  let logger: DnsLogger;

  beforeEach(async () => {
    server = await startDnsServer({ zone: ZONE });
    warnings = [];
    logger = { warn: (message, meta) => warnings.push({ message, meta }) };
    // Only Date is faked, to step over the cool-down; sockets and timeouts keep real timers.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
  });

  afterEach(async () => {
    vi.useRealTimers();
    await server.close();
  });

  function advance(ms: number): void {
    vi.setSystemTime(Date.now() + ms);
  }

  async function waitForState(client: DnsClient, state: BreakerState): Promise<void> {
    const started = performance.now();
    while (client.stats().breaker.state !== state && performance.now() - started < CHECK_WAIT_MS) await sleep(10);
    expect(client.stats().breaker.state).toBe(state);
  }

  /** Fails three lookups of distinct names (a failed name is remembered, so repeats would not reach the server). */
  async function failThree(client: DnsClient): Promise<void> {
    for (let i = 0; i < 3; i += 1) await client.lookup(`n${i}.test`, 'A');
  }

  it('opens when the resolver is silent', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await failThree(client);
    await waitForState(client, 'open');

    const queriesBefore = server.queries.length;
    const skipped = await client.lookup('mail.test', 'A');
    expect(skipped.status).toBe('skipped');
    expect(skipped).toMatchObject({ reason: expect.stringContaining('circuit breaker is open') });
    expect(server.queries).toHaveLength(queriesBefore);
    expect(server.queries.at(-1)).toMatchObject({ name: '.', type: 'NS' });
    expect(client.stats().breaker).toEqual({ state: 'open', opened: 1, halfOpened: 0, closed: 0, healthChecks: 1 });
    expect(client.stats().failures.skipped).toBe(1);
    expect(warnings.map((warning) => warning.message)).toEqual([expect.stringContaining('opened')]);
    expect(warnings[0]?.meta).toMatchObject({ from: 'closed', to: 'open', resolvers: [server.address] });
  });

  it('stays closed when only sender names fail', async () => {
    server.setBehaviour((query) => (query.name.endsWith('.test') ? { kind: 'silent' } : { kind: 'answer' }));
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await failThree(client);
    const started = performance.now();
    while (client.stats().breaker.healthChecks === 0 && performance.now() - started < CHECK_WAIT_MS) await sleep(10);
    await sleep(50);

    expect(client.stats().breaker).toEqual({ state: 'closed', opened: 0, halfOpened: 0, closed: 0, healthChecks: 1 });
    expect(warnings).toHaveLength(0);
  });

  it('stays closed on fast SERVFAIL', async () => {
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await failThree(client);
    await sleep(50);
    expect(client.stats().breaker.state).toBe('closed');
    expect(client.stats().breaker.healthChecks).toBe(1);
  });

  it('serves the cache while open', async () => {
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'silent' });
    advance(61_000);
    await failThree(client);
    await waitForState(client, 'open');

    const outcome = await client.lookup('mail.test', 'A');
    expect(outcome).toMatchObject({ status: 'ok', stale: true });
  });

  it('closes after a passing check', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await failThree(client);
    await waitForState(client, 'open');

    server.setBehaviour({ kind: 'answer' });
    advance(4_000);
    expect((await client.lookup('mail.test', 'A')).status).toBe('skipped');
    advance(1_000);
    expect((await client.lookup('mail.test', 'A')).status).toBe('ok');
    expect((await client.lookup('other.test', 'A')).status).toBe('ok');

    expect(client.stats().breaker).toEqual({ state: 'closed', opened: 1, halfOpened: 1, closed: 1, healthChecks: 2 });
    expect(warnings.map((warning) => warning.meta?.['to'])).toEqual(['open', 'half-open', 'closed']);
  });

  it('reopens after a failed check', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await failThree(client);
    await waitForState(client, 'open');
    advance(5_000);

    expect((await client.lookup('mail.test', 'A')).status).toBe('skipped');
    expect(client.stats().breaker).toEqual({ state: 'open', opened: 2, halfOpened: 1, closed: 0, healthChecks: 2 });
  });

  it('lets one lookup check at a time', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger });
    await failThree(client);
    await waitForState(client, 'open');

    server.setBehaviour({ kind: 'delay', ms: 30 });
    advance(5_000);
    const [checking, other] = await Promise.all([client.lookup('mail.test', 'A'), client.lookup('other.test', 'A')]);
    expect(checking.status).toBe('ok');
    expect(other.status).toBe('skipped');
  });

  it('survives a throwing logger', async () => {
    server.setBehaviour({ kind: 'silent' });
    const throwing: DnsLogger = {
      warn: () => {
        throw new Error('logger failed');
      },
    };
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address], logger: throwing });
    await failThree(client);
    await waitForState(client, 'open');
  });

  it('logs nothing without a logger', async () => {
    const spies = (['log', 'info', 'warn', 'error'] as const).map((method) => vi.spyOn(console, method));
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...BREAKER, resolvers: [server.address] });
    await failThree(client);
    await waitForState(client, 'open');
    for (const spy of spies) {
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    }
  });
});
