import { generateKeyPairSync } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { authenticate, dkimSign, dkimVerify, sealMessage, spf, type DNSResolver } from 'mailauth';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDnsClient, DnsLookupError, toMailauthResolver, type DnsClientOptions } from '../../../src/auth/dns/index.js';
import { startDnsServer, type Behaviour, type TestDnsServer, type Zone } from '../../helpers/dns-server.js';

/** Timeouts for lookups expected to get an answer: generous, so a loaded machine does not turn an answer into a timeout. */
const PATIENT: DnsClientOptions = { queryTimeoutMs: 1_000, hedgeDelayMs: 500, deadlineMs: 2_000 };
/** Timeouts for lookups expected to fail. */
const SHORT: DnsClientOptions = { queryTimeoutMs: 60, hedgeDelayMs: 20, deadlineMs: 300 };
/**
 * Timeouts for mailauth runs where some names are silent and others answer:
 * a silent name costs one query timeout, which still leaves the others
 * room on a loaded machine.
 */
const MIXED: DnsClientOptions = { queryTimeoutMs: 400, hedgeDelayMs: 200, deadlineMs: 2_000 };
const SELECTOR = 'sel';
const DOMAIN = 'signer.test';
const KEY_NAME = `${SELECTOR}._domainkey.${DOMAIN}`;
const CLIENT_IP = '192.0.2.25';

let privateKey: string;
let keyRecord: string[];

function splitTxt(text: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 255) chunks.push(text.slice(i, i + 255));
  return chunks;
}

function baseZone(): Zone {
  return {
    'mail.test': [
      { type: 'A', data: '192.0.2.10' },
      { type: 'MX', data: { exchange: 'mx.mail.test', priority: 10 } },
      { type: 'TXT', data: ['v=spf1 ', 'ip4:192.0.2.0/24 -all'] },
    ],
    [DOMAIN]: [{ type: 'TXT', data: `v=spf1 ip4:${CLIENT_IP} -all` }],
    [KEY_NAME]: [{ type: 'TXT', data: keyRecord }],
    [`_dmarc.${DOMAIN}`]: [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    'include.test': [{ type: 'TXT', data: 'v=spf1 include:broken.test -all' }],
    'broken.test': [{ type: 'TXT', data: 'v=spf1 +all' }],
  };
}

const MESSAGE = [
  `From: sender@${DOMAIN}`,
  'To: rcpt@mail.test',
  'Subject: DNS adapter test',
  'Date: Wed, 01 Jan 2025 00:00:00 +0000',
  'Message-ID: <adapter-test@signer.test>',
  '',
  'Hello.',
  '',
].join('\r\n');

async function signedMessage(): Promise<string> {
  // mailauth 4.13.3 signs with the entries of signatureData; its type definitions also require the top-level fields.
  const key = { signingDomain: DOMAIN, selector: SELECTOR, privateKey };
  const signed = await dkimSign(MESSAGE, { ...key, signatureData: [key] });
  return signed.signatures + MESSAGE;
}

/** Answers normally except for the names given, which get the behaviour. */
function failing(names: string[], behaviour: Behaviour): (query: { name: string }) => Behaviour {
  return (query) => (names.includes(query.name.toLowerCase()) ? behaviour : { kind: 'answer' });
}

let server: TestDnsServer;

beforeAll(() => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
  privateKey = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicKey = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  keyRecord = splitTxt(`v=DKIM1; k=rsa; p=${publicKey}`);
});

beforeEach(async () => {
  server = await startDnsServer({ zone: baseZone(), soa: { ttl: 300, minimum: 300 } });
});

afterEach(async () => {
  await server.close();
});

describe('toMailauthResolver records', () => {
  it('matches Node resolve shapes', async () => {
    const node = new dns.Resolver({ timeout: 1_000, tries: 1 });
    node.setServers([server.address]);
    const resolve = toMailauthResolver(createDnsClient({ ...PATIENT, resolvers: [server.address] }));

    expect(await resolve('mail.test', 'TXT')).toEqual(await node.resolve('mail.test', 'TXT'));
    expect(await resolve('mail.test', 'MX')).toEqual(await node.resolve('mail.test', 'MX'));
    expect(await resolve('mail.test', 'A')).toEqual(await node.resolve('mail.test', 'A'));
    expect(await resolve('mail.test')).toEqual(['192.0.2.10']);
  });

  it.each([
    ['missing.test', 'ENOTFOUND'],
    ['mail.test', 'ENODATA'],
  ])('matches Node error code for %s', async (name, code) => {
    const node = new dns.Resolver({ timeout: 1_000, tries: 1 });
    node.setServers([server.address]);
    const resolve = toMailauthResolver(createDnsClient({ ...PATIENT, resolvers: [server.address] }));
    await expect(node.resolve(name, 'AAAA')).rejects.toMatchObject({ code });
    await expect(resolve(name, 'AAAA')).rejects.toMatchObject({ code, hostname: name, syscall: 'queryAaaa' });
  });

  it('leaves spfResult off negative answers', async () => {
    const resolve = toMailauthResolver(createDnsClient({ ...PATIENT, resolvers: [server.address] }));
    const error = await resolve('missing.test', 'TXT').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DnsLookupError);
    expect((error as DnsLookupError).spfResult).toBeUndefined();
    expect(resolve.failures).toHaveLength(0);
  });
});

describe('toMailauthResolver failures', () => {
  it.each([
    [{ kind: 'silent' }, 'ETIMEOUT'],
    [{ kind: 'rcode', rcode: 'SERVFAIL' }, 'ESERVFAIL'],
    [{ kind: 'rcode', rcode: 'REFUSED' }, 'EREFUSED'],
    [{ kind: 'garbage' }, 'EBADRESP'],
  ] as const)('maps %j to %s', async (behaviour, code) => {
    server.setBehaviour(behaviour);
    const resolve = toMailauthResolver(createDnsClient({ ...SHORT, resolvers: [server.address] }));
    const error = await resolve('mail.test', 'TXT').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DnsLookupError);
    expect(error).toMatchObject({ code, hostname: 'mail.test', syscall: 'queryTxt' });
    expect((error as DnsLookupError).spfResult?.error).toBe('temperror');
    expect(resolve.failures).toEqual([expect.objectContaining({ name: 'mail.test', type: 'TXT' })]);
    expect(resolve.failureCount).toBe(1);
  });

  it('maps an open breaker to ECANCELLED', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ ...SHORT, resolvers: [server.address], breakerFailureThreshold: 1 });
    const resolve = toMailauthResolver(client);
    await expect(resolve('mail.test', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    const started = performance.now();
    while (client.stats().breaker.state !== 'open' && performance.now() - started < 3_000) await sleep(10);
    await expect(resolve('other.test', 'TXT')).rejects.toMatchObject({ code: 'ECANCELLED', spfResult: { error: 'temperror' } });
  });

  it('maps a bad name to EBADNAME', async () => {
    const resolve = toMailauthResolver(createDnsClient({ ...PATIENT, resolvers: [server.address] }));
    await expect(resolve('bad..name', 'TXT')).rejects.toMatchObject({ code: 'EBADNAME', spfResult: { error: 'permerror' } });
  });

  it('shares one deadline across lookups', async () => {
    server.setBehaviour({ kind: 'silent' });
    const client = createDnsClient({ resolvers: [server.address], queryTimeoutMs: 5_000, deadlineMs: 5_000 });
    const resolve = toMailauthResolver(client, { deadlineMs: 100 });
    const started = performance.now();
    await expect(resolve('mail.test', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    await expect(resolve('mail.test', 'A')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(performance.now() - started).toBeLessThan(100 + 200);
  });

  it('counts stale answers', async () => {
    const client = createDnsClient({ ...PATIENT, resolvers: [server.address], minTtlSeconds: 0, maxTtlSeconds: 0 });
    await client.lookup('mail.test', 'A');
    server.setBehaviour({ kind: 'rcode', rcode: 'SERVFAIL' });
    const resolve = toMailauthResolver(client);
    expect(await resolve('mail.test', 'A')).toEqual(['192.0.2.10']);
    expect(resolve.staleAnswers).toBe(1);
    expect(resolve.failures).toHaveLength(0);
  });
});

describe('mailauth over the adapter', () => {
  function resolverFor(behaviour?: (query: { name: string }) => Behaviour, deadlineMs = 5_000) {
    if (behaviour) server.setBehaviour(behaviour);
    const client = createDnsClient({ ...MIXED, resolvers: [server.address] });
    const resolve = toMailauthResolver(client, { deadlineMs });
    return { resolve, resolver: resolve as unknown as DNSResolver };
  }

  it('passes SPF', async () => {
    const { resolver } = resolverFor();
    const result = await spf({ sender: `a@${DOMAIN}`, ip: CLIENT_IP, helo: 'client.test', mta: 'mx.test', resolver });
    expect(result.status.result).toBe('pass');
  });

  it('turns an SPF timeout into temperror', async () => {
    const { resolve, resolver } = resolverFor(failing([DOMAIN], { kind: 'silent' }));
    const result = await spf({ sender: `a@${DOMAIN}`, ip: CLIENT_IP, helo: 'client.test', mta: 'mx.test', resolver });
    expect(result.status.result).toBe('temperror');
    expect(resolve.failures).toHaveLength(1);
  });

  it('keeps a failed include from becoming fail', async () => {
    const { resolver } = resolverFor(failing(['broken.test'], { kind: 'rcode', rcode: 'SERVFAIL' }));
    const result = await spf({ sender: 'a@include.test', ip: CLIENT_IP, helo: 'client.test', mta: 'mx.test', resolver });
    expect(result.status.result).toBe('temperror');
  });

  it('shows mailauth ignores include errors without spfResult', async () => {
    // Documents why DnsLookupError carries spfResult: a bare ESERVFAIL inside include: ends in -all.
    const bare: DNSResolver = async (name, type) => {
      if (name === 'broken.test') throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
      const node = new dns.Resolver({ timeout: 1_000, tries: 1 });
      node.setServers([server.address]);
      return (await node.resolve(name, type)) as string[][];
    };
    const result = await spf({ sender: 'a@include.test', ip: CLIENT_IP, helo: 'client.test', mta: 'mx.test', resolver: bare });
    expect(result.status.result).toBe('fail');
  });

  it('passes DKIM', async () => {
    const { resolver } = resolverFor();
    const result = await dkimVerify(await signedMessage(), { resolver });
    expect(result.results[0]?.status.result).toBe('pass');
  });

  it('turns a DKIM key timeout into temperror', async () => {
    const { resolve, resolver } = resolverFor(failing([KEY_NAME], { kind: 'silent' }));
    const result = await dkimVerify(await signedMessage(), { resolver });
    expect(result.results[0]?.status.result).toBe('temperror');
    expect(resolve.failures.map((failure) => failure.status)).toEqual(['timeout']);
  });

  it('shows DMARC fail after a DKIM timeout', async () => {
    // Documents why the adapter lists failures: mailauth 4.13.3 reports
    // DMARC fail when DKIM could not be checked, so the stage must downgrade it.
    const { resolve, resolver } = resolverFor(failing([KEY_NAME, DOMAIN], { kind: 'silent' }));
    const result = await authenticate(await signedMessage(), { ip: CLIENT_IP, helo: 'client.test', sender: `a@${DOMAIN}`, mta: 'mx.test', resolver, disableBimi: true });
    expect(result.dkim.results[0]?.status.result).toBe('temperror');
    expect(result.spf).toMatchObject({ status: { result: 'temperror' } });
    expect(result.dmarc).toMatchObject({ status: { result: 'fail' } });
    expect(resolve.failureCount).toBeGreaterThan(0);
  });

  it('shows ARC fail after a key timeout', async () => {
    // Documents the other case for the failures list: mailauth 4.13.3 reports every ARC error as fail.
    const sealed = await sealMessage(await signedMessage(), {
      signingDomain: DOMAIN,
      selector: SELECTOR,
      privateKey,
      authResults: 'mx.test; spf=pass',
      cv: 'none',
    } as Parameters<typeof sealMessage>[1]);
    const message = sealed.toString() + (await signedMessage());

    const healthy = resolverFor();
    const passing = await authenticate(message, { ip: CLIENT_IP, helo: 'client.test', sender: `a@${DOMAIN}`, mta: 'mx.test', resolver: healthy.resolver, disableBimi: true });
    expect(passing.arc).toMatchObject({ status: { result: 'pass' } });

    const broken = resolverFor(failing([KEY_NAME], { kind: 'silent' }));
    const timedOut = await authenticate(message, { ip: CLIENT_IP, helo: 'client.test', sender: `a@${DOMAIN}`, mta: 'mx.test', resolver: broken.resolver, disableBimi: true });
    expect(timedOut.arc).toMatchObject({ status: { result: 'fail' } });
    expect(broken.resolve.failureCount).toBeGreaterThan(0);
  });

  it('ends authentication within the message deadline', async () => {
    const { resolver } = resolverFor(() => ({ kind: 'silent' }), 200);
    const started = performance.now();
    const result = await authenticate(await signedMessage(), { ip: CLIENT_IP, helo: 'client.test', sender: `a@${DOMAIN}`, mta: 'mx.test', resolver, disableBimi: true });
    expect(performance.now() - started).toBeLessThan(200 + 200);
    expect(result.spf).toMatchObject({ status: { result: 'temperror' } });
    expect(result.dkim.results[0]?.status.result).toBe('temperror');
  });
});
