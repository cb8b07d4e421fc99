import { getServers } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../../src/errors.js';
import { createDnsClient, DNS_CLIENT_DEFAULTS, parseResolver } from '../../../src/auth/dns/index.js';

describe('parseResolver', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1:53', 4],
    ['127.0.0.1:5353', '127.0.0.1:5353', 4],
    [' 10.0.0.1:53 ', '10.0.0.1:53', 4],
    ['[::1]', '[::1]:53', 6],
    ['[::1]:5353', '[::1]:5353', 6],
    ['::1', '[::1]:53', 6],
    ['2001:db8::1', '[2001:db8::1]:53', 6],
  ])('accepts %j', (entry, label, family) => {
    const upstream = parseResolver(entry);
    expect(upstream.label).toBe(label);
    expect(upstream.family).toBe(family);
  });

  it.each([
    ['', 'empty'],
    ['resolver.example', 'not an IPv4 address'],
    ['localhost:53', 'not an IPv4 address'],
    ['127.0.0.1:', 'is not a number'],
    ['127.0.0.1:0', 'outside 1-65535'],
    ['127.0.0.1:65536', 'outside 1-65535'],
    ['127.0.0.1:53x', 'is not a number'],
    ['256.1.1.1', 'not an IPv4 address'],
    ['[127.0.0.1]:53', 'not an IPv6 address'],
    ['[::1', 'not an IPv4 address'],
    ['[::1]:', 'is not a number'],
    ['0.0.0.0', 'unspecified address'],
    ['[::]:53', 'unspecified address'],
  ])('rejects %j', (entry, problem) => {
    const attempt = (): unknown => parseResolver(entry);
    expect(attempt).toThrow(OptionsError);
    expect(attempt).toThrow(problem);
    expect(attempt).toThrow(JSON.stringify(entry));
  });

  it('rejects a non-string entry', () => {
    expect(() => parseResolver(53)).toThrow(OptionsError);
  });
});

describe('createDnsClient options', () => {
  it('names the bad resolver entry', () => {
    let caught: unknown;
    try {
      createDnsClient({ resolvers: ['127.0.0.1:53', 'dns.example:53'] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OptionsError);
    expect((caught as OptionsError).input).toBe('dns.example:53');
    expect((caught as OptionsError).message).toContain('"dns.example:53"');
  });

  it('rejects an empty resolver list', () => {
    expect(() => createDnsClient({ resolvers: [] })).toThrow(/resolvers is empty/);
  });

  it('rejects resolvers that are not an array', () => {
    expect(() => createDnsClient({ resolvers: '127.0.0.1' as unknown as string[] })).toThrow(OptionsError);
  });

  it('uses the system servers by default', () => {
    const client = createDnsClient();
    const expected = getServers().map((server) => parseResolver(server).label);
    expect(client.resolvers).toEqual(expected);
  });

  it('normalises resolver labels', () => {
    const client = createDnsClient({ resolvers: ['127.0.0.1', '[::1]:5353'] });
    expect(client.resolvers).toEqual(['127.0.0.1:53', '[::1]:5353']);
  });

  it.each([
    ['queryTimeoutMs', 0],
    ['queryTimeoutMs', -5],
    ['deadlineMs', Number.NaN],
    ['cacheMaxEntries', 0],
    ['hedgeDelayMs', -1],
    ['serveStaleMs', Number.POSITIVE_INFINITY],
    ['breakerFailureThreshold', '3'],
  ])('rejects %s = %j', (key, value) => {
    const attempt = (): unknown => createDnsClient({ resolvers: ['127.0.0.1'], [key]: value });
    expect(attempt).toThrow(OptionsError);
    expect(attempt).toThrow(key);
  });

  it('rejects a min TTL above the max TTL', () => {
    expect(() => createDnsClient({ resolvers: ['127.0.0.1'], minTtlSeconds: 100, maxTtlSeconds: 10 })).toThrow(/minTtlSeconds/);
    expect(() => createDnsClient({ resolvers: ['127.0.0.1'], negativeMinTtlSeconds: 100, negativeMaxTtlSeconds: 10 })).toThrow(/negativeMinTtlSeconds/);
  });

  it('rejects a logger without warn', () => {
    expect(() => createDnsClient({ resolvers: ['127.0.0.1'], logger: {} as never })).toThrow(/logger/);
  });

  it('allows zero for hedge delay and serve-stale', () => {
    expect(() => createDnsClient({ resolvers: ['127.0.0.1'], hedgeDelayMs: 0, serveStaleMs: 0 })).not.toThrow();
  });

  it('documents defaults within the stage budget', () => {
    expect(DNS_CLIENT_DEFAULTS.deadlineMs).toBeLessThanOrEqual(1000);
    expect(DNS_CLIENT_DEFAULTS.queryTimeoutMs).toBeLessThan(DNS_CLIENT_DEFAULTS.deadlineMs);
    expect(DNS_CLIENT_DEFAULTS.hedgeDelayMs).toBeLessThan(DNS_CLIENT_DEFAULTS.queryTimeoutMs);
  });
});
