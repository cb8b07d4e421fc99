import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MECHANISMS } from '../../src/auth/index.js';
import { OptionsError } from '../../src/errors.js';
import type { Envelope } from '../../src/parse/types.js';
import { createScorer, type ScorerOptions } from '../../src/pipeline/scorer.js';
import type { ScoreResult } from '../../src/pipeline/types.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

/** Generous, so a loaded machine does not turn an answer into a timeout. */
const PATIENT = { deadlineMs: 3_000, queryTimeoutMs: 1_000 };
/** Slack on top of the deadline before the stage counts as late. */
const DEADLINE_MARGIN_MS = 200;
const QUIET = { warn() {} };
const OUTSIDE_HOP = 'Received: from spam.example.net (unknown [203.0.113.66]) by mx.example.com (Postfix) with ESMTP id 4Abc; Wed, 01 Jan 2025 00:00:02 +0000';
const FORGED = 'Authentication-Results: mx.example.com; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com';
/**
 * The forged header with its results taken out. The model reads the number
 * of header fields, and the shipped model scores one more field a little
 * lower whatever it contains, so the forged header is compared with this one.
 */
const EMPTY = 'Authentication-Results: mx.example.com; none';
const SPAMMER: Envelope = { clientIp: '203.0.113.66', helo: 'spam.example.net', mailFrom: 'security@example.com' };

function spam(headers: string[]): string {
  return [
    ...headers,
    'From: "Account Security" <security@example.com>',
    'To: undisclosed-recipients:;',
    'Subject: URGENT: verify your account now',
    'Message-ID: <forged-ar@example.com>',
    'Content-Type: text/html',
    '',
    '<html><body><p>Your account will be suspended. <a href="http://192.0.2.7/login">https://www.example.com/verify</a></p>',
    '<p>Click here to verify your account, act now! Limited time!</p></body></html>',
    '',
  ].join('\r\n');
}

function authLines(result: ScoreResult): string[] {
  return result.degraded.filter((line) => line.startsWith('auth:'));
}

async function score(options: ScorerOptions, raw: string, envelope?: Envelope): Promise<ScoreResult> {
  const scorer = await createScorer({ logger: QUIET, ...options });
  try {
    return await scorer.score(raw, envelope);
  } finally {
    await scorer.close();
  }
}

let server: TestDnsServer;

beforeEach(async () => {
  server = await startDnsServer({
    zone: {
      'example.com': [{ type: 'TXT', data: 'v=spf1 ip4:192.0.2.0/24 -all' }],
      '_dmarc.example.com': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
    },
  });
});

afterEach(async () => {
  await server.close();
});

describe('scorer auth outages', () => {
  it('scores on time with a black-holed resolver', async () => {
    server.setBehaviour({ kind: 'silent' });
    const deadlineMs = 300;
    const result = await score({ auth: { resolvers: [server.address], deadlineMs, queryTimeoutMs: 100 } }, spam([OUTSIDE_HOP]), SPAMMER);

    expect(['ham', 'suspect', 'spam']).toContain(result.verdict);
    expect(result.timings.auth).toBeLessThan(deadlineMs + DEADLINE_MARGIN_MS);
    for (const mechanism of ['spf', 'dmarc'] as const) expect(result.auth[mechanism].result, mechanism).toBe('timeout');
    for (const mechanism of MECHANISMS) expect(result.auth[mechanism].result, mechanism).not.toBe('fail');
    expect(authLines(result)).toEqual([expect.stringMatching(/^auth: timeout/)]);
    expect(server.queries.length).toBeGreaterThan(0);
  });

  it('reports a missing envelope', async () => {
    const result = await score({ auth: { ...PATIENT, resolvers: [server.address] } }, spam([OUTSIDE_HOP]));
    expect(result.auth.spf.result).toBe('skipped');
    expect(authLines(result)).toEqual(['auth: SPF skipped (no client IP in the envelope)']);
  });

  it('checks nothing by default', async () => {
    const result = await score({}, spam([OUTSIDE_HOP]), SPAMMER);
    for (const mechanism of MECHANISMS) expect(result.auth[mechanism].result, mechanism).toBe('unknown');
    expect(result.auth.source).toBe('none');
    expect(authLines(result)).toEqual([]);
    expect(server.queries).toEqual([]);
  });

  it('rejects a bad deadline', async () => {
    const created = createScorer({ logger: QUIET, auth: { deadlineMs: -1 } });
    await expect(created).rejects.toThrow(OptionsError);
    await expect(created).rejects.toMatchObject({ input: 'auth.deadlineMs' });
  });
});

describe('scorer forged Authentication-Results', () => {
  const options = (): ScorerOptions => ({ auth: { ...PATIENT, resolvers: [server.address], trustAuthservIds: ['mx.example.com'] } });

  it('trusts the header above the first Received', async () => {
    // The control: the same header where the gateway's MTA writes it is used, and lowers the score.
    const empty = await score(options(), spam([EMPTY, OUTSIDE_HOP]), SPAMMER);
    const trusted = await score(options(), spam([FORGED, OUTSIDE_HOP]), SPAMMER);
    expect(trusted.auth.source).toBe('trusted-header');
    expect(trusted.auth.spf.result).toBe('pass');
    // Only the model reads auth results, so heuristics alone score both the same.
    if (trusted.modelVersion !== null) expect(trusted.score).toBeLessThan(empty.score);
  });

  it('gains nothing below the first Received', async () => {
    const plain = await score(options(), spam([OUTSIDE_HOP]), SPAMMER);
    const empty = await score(options(), spam([OUTSIDE_HOP, EMPTY]), SPAMMER);
    const forged = await score(options(), spam([OUTSIDE_HOP, FORGED]), SPAMMER);

    expect(plain.auth.source).toBe('dns');
    expect(plain.auth.spf.result).toBe('fail');
    expect(plain.auth.dmarc.result).toBe('fail');
    expect(forged.auth).toEqual(plain.auth);
    expect(forged.score).toBeGreaterThanOrEqual(empty.score);
  });

  it('gains nothing without resolvers', async () => {
    const trustOnly: ScorerOptions = { auth: { trustAuthservIds: ['mx.example.com'] } };
    const plain = await score(trustOnly, spam([OUTSIDE_HOP]), SPAMMER);
    const empty = await score(trustOnly, spam([OUTSIDE_HOP, EMPTY]), SPAMMER);
    const forged = await score(trustOnly, spam([OUTSIDE_HOP, FORGED]), SPAMMER);
    expect(forged.auth).toEqual(plain.auth);
    expect(forged.auth.source).toBe('none');
    expect(forged.score).toBeGreaterThanOrEqual(empty.score);
  });

  it('gains nothing with a forged HELO', async () => {
    const trustInner: ScorerOptions = { auth: { ...PATIENT, resolvers: [server.address], trustAuthservIds: ['mx.example.com'], trustedHosts: ['mx1.example.com'] } };
    const heloHop = 'Received: from mx1.example.com (unknown [203.0.113.66]) by mx.example.com (Postfix) with ESMTP id 4Abd';
    const plain = await score(trustInner, spam([heloHop]), SPAMMER);
    const empty = await score(trustInner, spam([heloHop, EMPTY]), SPAMMER);
    const forged = await score(trustInner, spam([heloHop, FORGED]), SPAMMER);
    expect(forged.auth).toEqual(plain.auth);
    expect(forged.auth.spf.result).toBe('fail');
    expect(forged.score).toBeGreaterThanOrEqual(empty.score);
  });
});
