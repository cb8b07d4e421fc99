import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authInputsFromTopmostHeader,
  createAuthenticator,
  parseAuthenticationResults,
  resultsByMechanism,
  trustedAuthenticationResults,
  type AuthOptions,
} from '../../src/auth/index.js';
import { parseMessage } from '../../src/parse/index.js';
import type { HeaderField } from '../../src/parse/types.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

const OURS = { authservIds: ['mx.example.com'], trustedHosts: [] };
/** Generous, so a loaded machine does not turn an answer into a timeout. */
const PATIENT: AuthOptions = { deadlineMs: 3_000, queryTimeoutMs: 1_000 };
const OUTSIDE_HOP = 'Received: from mail.example.org (mail.example.org [203.0.113.5]) by mx.example.com (Postfix) with ESMTPS id 4Xyz; Wed, 01 Jan 2025 00:00:02 +0000';
const BODY = ['From: news@example.org', 'To: rcpt@example.com', 'Subject: Weekly news', 'Message-ID: <ar@example.org>', '', 'Hello.', ''];

async function headersOf(lines: string[]): Promise<HeaderField[]> {
  return (await parseMessage([...lines, ...BODY].join('\r\n'))).headers;
}

function compose(lines: string[]): string {
  return [...lines, ...BODY].join('\r\n');
}

describe('parseAuthenticationResults', () => {
  it('reads methods and details', () => {
    const parsed = parseAuthenticationResults('mx.example.com; spf=pass smtp.mailfrom=example.org; dkim=pass header.d=example.org header.s=sel; dmarc=pass header.from=example.org; arc=none');
    expect(parsed?.authservId).toBe('mx.example.com');
    expect(parsed?.results).toEqual([
      { method: 'spf', result: 'pass', details: 'smtp.mailfrom=example.org' },
      { method: 'dkim', result: 'pass', details: 'header.d=example.org header.s=sel' },
      { method: 'dmarc', result: 'pass', details: 'header.from=example.org' },
      { method: 'arc', result: 'none', details: '' },
    ]);
  });

  it('skips comments', () => {
    const parsed = parseAuthenticationResults('MX.Example.COM (version 2) 1; (checked first) SPF = Fail (mx.example.com: 203.0.113.5 is not allowed) smtp.mailfrom=example.org');
    expect(parsed?.authservId).toBe('mx.example.com');
    expect(parsed?.results).toEqual([{ method: 'spf', result: 'fail', details: '(mx.example.com: 203.0.113.5 is not allowed) smtp.mailfrom=example.org' }]);
  });

  it('keeps several results per method', () => {
    const parsed = parseAuthenticationResults('mx.example.com; dkim=fail (bad signature) header.d=example.net; dkim=pass header.d=example.org; dkim/1=neutral header.d=example.com');
    expect(parsed?.results.map((result) => result.result)).toEqual(['fail', 'pass', 'neutral']);
    const merged = resultsByMechanism(parsed ? [parsed] : []);
    expect(merged.dkim?.result).toBe('pass');
    expect(merged.dkim?.details).toBe('header.d=example.org');
  });

  it.each([
    ['hardfail', 'spf', 'fail'],
    ['policy', 'dkim', 'fail'],
    ['error', 'spf', 'temperror'],
  ])('maps legacy %s', (name, method, expected) => {
    expect(parseAuthenticationResults(`mx.example.com; ${method}=${name}`)?.results).toEqual([{ method, result: expected, details: '' }]);
  });

  it('skips unknown methods and results', () => {
    const parsed = parseAuthenticationResults('mx.example.com; iprev=pass policy.iprev=203.0.113.5; spf=maybe; dkim-atps=pass; auth=pass; x-custom=fail');
    expect(parsed?.results).toEqual([]);
  });

  it('reads a header without results', () => {
    expect(parseAuthenticationResults('mx.example.com; none')).toEqual({ authservId: 'mx.example.com', results: [] });
  });

  it.each(['spf=pass; dkim=pass; dmarc=pass', '; spf=pass', '(only a comment); dkim=pass', ''])('rejects missing authserv-id in %j', (value) => {
    expect(parseAuthenticationResults(value)).toBeNull();
  });

  it.each(['\u0000\u00ff;;;=', '(((((', 'mx.example.com; =pass; spf=; ==;;']) ('survives garbage %j', (value) => {
    const parsed = parseAuthenticationResults(value);
    expect(parsed === null || parsed.results.length === 0).toBe(true);
  });

  it('ignores semicolons in comments', () => {
    // The sender chose the MAIL FROM address quoted inside the comment.
    const parsed = parseAuthenticationResults('mx.example.com; spf=fail (domain of "x;dkim=pass;dmarc=pass"@example.net does not designate 203.0.113.5) smtp.mailfrom=example.net; dmarc=fail header.from=example.org');
    expect(parsed?.results.map((result) => `${result.method}=${result.result}`)).toEqual(['spf=fail', 'dmarc=fail']);
  });

  it('ignores semicolons in quoted strings', () => {
    const parsed = parseAuthenticationResults('mx.example.com; spf=fail smtp.mailfrom="a\\";dmarc=pass;"@example.net; dmarc=fail');
    expect(parsed?.results.map((result) => `${result.method}=${result.result}`)).toEqual(['spf=fail', 'dmarc=fail']);
  });

  it('reads statements after an unescaped parenthesis', () => {
    // mailauth escapes ")" but not "(" in comments, so "(" must not open a nested comment.
    const parsed = parseAuthenticationResults('mx.example.com; spf=fail (domain of "((("@example.net is not allowed) smtp.mailfrom=example.net; dmarc=fail header.from=example.net');
    expect(parsed?.results.map((result) => `${result.method}=${result.result}`)).toEqual(['spf=fail', 'dmarc=fail']);
  });

  it('honours escaped parentheses', () => {
    const parsed = parseAuthenticationResults('mx.example.com; spf=fail (domain of "\\); dmarc=pass"@example.net) smtp.mailfrom=example.net; dmarc=fail');
    expect(parsed?.results.map((result) => `${result.method}=${result.result}`)).toEqual(['spf=fail', 'dmarc=fail']);
  });
});

describe('trustedAuthenticationResults', () => {
  it('trusts ours above the first Received', async () => {
    const headers = await headersOf(['Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.org; dmarc=pass', OUTSIDE_HOP]);
    const trusted = trustedAuthenticationResults(headers, OURS);
    expect(trusted).toHaveLength(1);
    expect(trusted[0]?.results.map((result) => result.method)).toEqual(['spf', 'dmarc']);
  });

  it('ignores ours below the first Received', async () => {
    const headers = await headersOf([OUTSIDE_HOP, 'Authentication-Results: mx.example.com; spf=pass; dkim=pass; dmarc=pass']);
    expect(trustedAuthenticationResults(headers, OURS)).toEqual([]);
  });

  it('ignores an untrusted authserv-id', async () => {
    const headers = await headersOf(['Authentication-Results: mx.example.net; spf=pass; dmarc=pass', OUTSIDE_HOP]);
    expect(trustedAuthenticationResults(headers, OURS)).toEqual([]);
  });

  it('trusts nothing without ids', async () => {
    const headers = await headersOf(['Authentication-Results: mx.example.com; spf=pass', OUTSIDE_HOP]);
    expect(trustedAuthenticationResults(headers, { authservIds: [], trustedHosts: [] })).toEqual([]);
  });

  it.each([
    ['rDNS name', 'Received: from mx1.example.com (mx1.example.com [198.51.100.1]) by mx2.example.com', 'mx1.example.com'],
    ['address', 'Received: from mx1 (unknown [198.51.100.1]) by mx2.example.com', '198.51.100.1'],
    ['IPv6 address', 'Received: from mx1 (mx1.example.com [IPv6:2001:db8::1]) by mx2.example.com', '2001:db8::1'],
    ['Exim address', 'Received: from [198.51.100.1] (port=25 helo=mx1) by mx2.example.com with esmtp', '198.51.100.1'],
    ['Exim rDNS form', 'Received: from mx1.example.com ([198.51.100.1]:25 helo=mx1) by mx2.example.com', '198.51.100.1'],
  ])('trusts an inner hop by %s', async (_label, innerHop, host) => {
    const headers = await headersOf([innerHop, 'Authentication-Results: mx1.example.com; spf=pass; dkim=pass', OUTSIDE_HOP]);
    const trust = { authservIds: ['mx1.example.com'], trustedHosts: [host] };
    expect(trustedAuthenticationResults(headers, trust)).toHaveLength(1);
    expect(trustedAuthenticationResults(headers, { ...trust, trustedHosts: [] })).toEqual([]);
  });

  it.each([
    ['HELO name', 'Received: from mx1.example.com (spam.example.net [203.0.113.66]) by mx.example.com'],
    ['HELO address', 'Received: from [198.51.100.1] (unknown [203.0.113.66]) by mx.example.com'],
    ['Exim helo', 'Received: from [203.0.113.66] (port=25 helo=[198.51.100.1]) by mx.example.com'],
    ['forged rDNS', 'Received: from x (mx1.example.com [203.0.113.66] (may be forged)) by mx.example.com'],
  ])('ignores a host chosen by the client: %s', async (_label, hop) => {
    const headers = await headersOf([hop, 'Authentication-Results: mx.example.com; spf=pass; dkim=pass; dmarc=pass']);
    const trust = { authservIds: ['mx.example.com'], trustedHosts: ['mx1.example.com', '198.51.100.1'] };
    expect(trustedAuthenticationResults(headers, trust)).toEqual([]);
  });

  it('reads the raw value, not decoded words', async () => {
    // Decoding the encoded-word would put "; dmarc=pass" outside any comment.
    const headers = await headersOf(['Authentication-Results: mx.example.com; spf=fail smtp.mailfrom==?us-ascii?Q?x=3B_dmarc=3Dpass?=@example.net; dmarc=fail', OUTSIDE_HOP]);
    const merged = resultsByMechanism(trustedAuthenticationResults(headers, OURS));
    expect(merged.spf?.result).toBe('fail');
    expect(merged.dmarc?.result).toBe('fail');
  });

  it('lets the topmost header win', async () => {
    const headers = await headersOf([
      'Received: from mx1.example.com (mx1.example.com [198.51.100.1]) by mx2.example.com',
      'Authentication-Results: mx.example.com; spf=fail',
      'Authentication-Results: mx.example.com; spf=pass; dmarc=pass',
      OUTSIDE_HOP,
    ]);
    const merged = resultsByMechanism(trustedAuthenticationResults(headers, { authservIds: ['mx.example.com'], trustedHosts: ['198.51.100.1'] }));
    expect(merged).toEqual({ spf: { method: 'spf', result: 'fail', details: '' } });
  });
});

describe('authInputsFromTopmostHeader', () => {
  it('reads the topmost header', async () => {
    const message = await parseMessage(compose(['Authentication-Results: archive.example.net; spf=softfail; dkim=pass', OUTSIDE_HOP, 'Authentication-Results: other.example; spf=pass']));
    expect(authInputsFromTopmostHeader(message)).toEqual({ spf: 'softfail', dkim: 'pass', dmarc: 'none', arc: 'none' });
  });

  it('returns unknown without a header', async () => {
    const message = await parseMessage(compose([OUTSIDE_HOP]));
    expect(authInputsFromTopmostHeader(message)).toEqual({ spf: 'unknown', dkim: 'unknown', dmarc: 'unknown', arc: 'unknown' });
  });
});

describe('authenticator with trusted headers', () => {
  let server: TestDnsServer;

  beforeEach(async () => {
    server = await startDnsServer({ zone: { 'example.org': [{ type: 'TXT', data: 'v=spf1 -all' }] } });
  });

  afterEach(async () => {
    await server.close();
  });

  async function authenticate(options: AuthOptions, lines: string[]) {
    const raw = compose(lines);
    const authenticator = createAuthenticator({ ...PATIENT, resolvers: [server.address], ...options });
    return authenticator.authenticate(Buffer.from(raw), await parseMessage(raw), { clientIp: '203.0.113.5', mailFrom: 'news@example.org' });
  }

  it('uses a trusted header without DNS', async () => {
    const outcome = await authenticate({ trustAuthservIds: ['MX.example.com'] }, [
      'Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.org; dkim=fail (bad signature) header.d=example.org; dmarc=pass',
      OUTSIDE_HOP,
    ]);
    expect(outcome.source).toBe('trusted-header');
    expect(outcome.spf).toEqual({ result: 'pass', reason: 'smtp.mailfrom=example.org' });
    expect(outcome.dkim).toEqual({ result: 'fail', reason: '(bad signature) header.d=example.org' });
    expect(outcome.dmarc.result).toBe('pass');
    expect(outcome.arc).toEqual({ result: 'none', reason: 'not in the trusted Authentication-Results' });
    expect(outcome.degraded).toEqual([]);
    expect(server.queries).toEqual([]);
  });

  it('checks DNS below the first Received', async () => {
    const outcome = await authenticate({ trustAuthservIds: ['mx.example.com'] }, [OUTSIDE_HOP, 'Authentication-Results: mx.example.com; spf=pass; dkim=pass; dmarc=pass']);
    expect(outcome.source).toBe('dns');
    expect(outcome.spf.result).toBe('fail');
    expect(server.queries.length).toBeGreaterThan(0);
  });

  it('checks DNS for an untrusted id', async () => {
    const outcome = await authenticate({ trustAuthservIds: ['mx.example.com'] }, ['Authentication-Results: mx.example.net; spf=pass; dmarc=pass', OUTSIDE_HOP]);
    expect(outcome.source).toBe('dns');
    expect(outcome.spf.result).toBe('fail');
  });

  it('uses an inner hop with trustedHosts', async () => {
    const lines = ['Received: from mx1.example.com (mx1.example.com [198.51.100.1]) by mx2.example.com', 'Authentication-Results: mx1.example.com; spf=pass', OUTSIDE_HOP];
    const trusted = await authenticate({ trustAuthservIds: ['mx1.example.com'], trustedHosts: ['mx1.example.com'] }, lines);
    expect(trusted.source).toBe('trusted-header');
    expect(trusted.spf.result).toBe('pass');
    const untrusted = await authenticate({ trustAuthservIds: ['mx1.example.com'] }, lines);
    expect(untrusted.source).toBe('dns');
  });

  it('trusts the topmost header for archives', async () => {
    const outcome = await authenticate({ trustTopmostHeader: true }, [OUTSIDE_HOP, 'Authentication-Results: archive.example.net; spf=softfail; dmarc=fail']);
    expect(outcome.source).toBe('trusted-header');
    expect(outcome.spf.result).toBe('softfail');
    expect(outcome.dmarc.result).toBe('fail');
    expect(server.queries).toEqual([]);
  });

  it('reports unknown when the trusted header is missing', async () => {
    const raw = compose([OUTSIDE_HOP]);
    const authenticator = createAuthenticator({ trustAuthservIds: ['mx.example.com'] });
    const outcome = await authenticator.authenticate(Buffer.from(raw), await parseMessage(raw));
    expect(outcome.source).toBe('none');
    expect(outcome.spf.result).toBe('unknown');
    expect(outcome.spf.reason).toContain('no trusted Authentication-Results');
    expect(outcome.degraded).toEqual([]);
  });
});
