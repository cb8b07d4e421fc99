import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUTH_DEADLINE_MS } from '../../src/auth/index.js';
import type { DnsStats } from '../../src/auth/dns/types.js';
import type { Envelope } from '../../src/parse/types.js';
import type { Scorer, ScorerOptions } from '../../src/pipeline/scorer.js';
import type { ScoreResult } from '../../src/pipeline/types.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { jsonLines, parseCsv, run } from './capture.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/cli/', import.meta.url));
const HAM = path.join(FIXTURES, 'ham.eml');
const SPAM = path.join(FIXTURES, 'spam.eml');
const MESSAGE = 'From: Sender <sender@example.com>\nTo: bob@example.org\nSubject: hello\nMessage-ID: <auth-1@example.com>\n\nHello.\n';
/** Deadline for the checks against the local DNS server: generous, so a loaded machine does not turn a pass into a timeout. */
const LOCAL_DNS_DEADLINE_MS = 3000;
/** Upper bound for one test that talks to the local DNS server. */
const LOCAL_DNS_TEST_TIMEOUT_MS = 15_000;

const KNOWN_AUTH: ScoreResult['auth'] = {
  spf: { result: 'pass', reason: 'sender IP is listed' },
  dkim: { result: 'none', reason: 'no DKIM signature' },
  dmarc: { result: 'unknown', reason: 'not checked' },
  arc: { result: 'unknown', reason: 'not checked' },
  source: 'dns',
};

const STATS: DnsStats = {
  queries: 12,
  cacheHits: 4,
  staleAnswers: 0,
  cachedFailures: 0,
  upstreamQueries: 8,
  hedgedQueries: 1,
  tcpFallbacks: 0,
  timeouts: 2,
  failures: { timeout: 2, servfail: 0, refused: 0, malformed: 0, skipped: 0, badname: 0 },
  cacheEntries: 9,
  breaker: { state: 'closed', opened: 0, halfOpened: 0, closed: 0, healthChecks: 0 },
};

interface Recording {
  options: ScorerOptions[];
  envelopes: (Envelope | undefined)[];
}

/** Returns a scorer stand-in whose results carry `auth`, recording the options and envelopes it is given. */
function recordingScorer(recording: Recording, auth: ScoreResult['auth'] = KNOWN_AUTH, stats?: DnsStats): (options: ScorerOptions) => Promise<Scorer> {
  const result: ScoreResult = {
    messageId: 'fake@example.com',
    score: 1,
    probability: 0.5,
    verdict: 'ham',
    action: 'accept',
    symbols: [{ name: 'FAKE_RULE', score: 1, description: 'test', source: 'rule' }],
    degraded: [],
    modelProbability: null,
    modelVersion: null,
    auth,
    timings: { parse: 0, auth: 0, features: 0, model: 0, heuristics: 0, total: 0 },
  };
  return async (options) => {
    recording.options.push(options);
    const scorer: Scorer = {
      async score(_raw, envelope) {
        recording.envelopes.push(envelope);
        return result;
      },
      async *scoreMany() {},
      modelVersion: null,
      modelError: null,
      async report() {
        throw new Error('not used by these tests');
      },
      async reload() {
        return { version: null, changed: false };
      },
      dnsStats: () => null,
      async close() {},
    };
    return stats === undefined ? scorer : Object.assign(scorer, { dnsStats: () => stats });
  };
}

function newRecording(): Recording {
  return { options: [], envelopes: [] };
}

let root: string;
let server: TestDnsServer | null = null;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-cli-auth-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(async () => {
  await server?.close();
  server = null;
});

describe('scan auth options', () => {
  it('lists the options in help', async () => {
    const result = await run(['help', 'scan']);
    for (const flag of ['--resolver', '--auth-deadline', '--dns-query-timeout', '--trust-authserv-id', '--trusted-host', '--client-ip', '--helo', '--mail-from']) {
      expect(result.stdout).toContain(flag);
    }
    expect(result.stdout).toContain(`(default: ${DEFAULT_AUTH_DEADLINE_MS})`);
    expect(result.stdout).toContain('without --resolver no DNS query is made');
    expect(result.stdout).toMatch(/every result is\s+"unknown"/);
  });

  const invalidValues: [string[], string][] = [
    [['--resolver', 'dns.example.com'], 'host names are not accepted'],
    [['--resolver', '127.0.0.1:99999'], 'outside 1-65535'],
    [['--resolver', '0.0.0.0'], 'unspecified address'],
    [['--resolver', '127.0.0.1:53', '--resolver', '127.0.0.1'], 'Resolver 127.0.0.1:53 was given more than once'],
    [['--auth-deadline', 'soon'], "'soon'"],
    [['--auth-deadline', '0'], 'milliseconds from 1'],
    [['--auth-deadline', '1.5'], "'1.5'"],
    [['--auth-deadline', '2147483648'], 'to 2147483647'],
    [['--auth-deadline', '500', '--auth-deadline', '600'], 'more than once'],
    [['--dns-query-timeout', '-1'], "'-1'"],
    [['--trust-authserv-id', ''], 'authserv-id'],
    [['--trust-authserv-id', 'mx.example.org', '--trust-authserv-id', 'MX.example.org'], 'more than once'],
    [['--trusted-host', 'two hosts'], "'two hosts'"],
    [['--client-ip', '192.0.2.300'], "'192.0.2.300'"],
    [['--client-ip', 'localhost'], 'IPv4 or IPv6'],
    [['--client-ip', '192.0.2.1', '--client-ip', '192.0.2.2'], 'more than once'],
    [['--helo', 'mail example'], "'mail example'"],
    [['--mail-from', 'sender'], "'sender'"],
    [['--mail-from', 'sender@'], 'null sender'],
  ];
  it.each(invalidValues)('rejects %j', async (flags, expected) => {
    const result = await run(['scan', ...flags, HAM]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(flags[0]);
    expect(result.stderr).toContain(expected);
    expect(result.stdout).toBe('');
  });

  it('passes auth options to the scorer', async () => {
    const recording = newRecording();
    const flags = ['--resolver', '127.0.0.1:5353', '--resolver', '[::1]', '--auth-deadline', '1500', '--dns-query-timeout', '200'];
    flags.push('--trust-authserv-id', 'mx.example.org', '--trusted-host', 'relay.example.org', '--trusted-host', '192.0.2.25');
    const result = await run(['scan', ...flags, HAM], { createScorer: recordingScorer(recording) });
    expect(result.code).toBe(0);
    expect(recording.options[0]?.auth).toEqual({
      resolvers: ['127.0.0.1:5353', '[::1]:53'],
      deadlineMs: 1500,
      queryTimeoutMs: 200,
      trustAuthservIds: ['mx.example.org'],
      trustedHosts: ['relay.example.org', '192.0.2.25'],
    });
  });

  it('leaves auth unset by default', async () => {
    const recording = newRecording();
    await run(['scan', HAM, SPAM], { createScorer: recordingScorer(recording) });
    expect(recording.options[0]).not.toHaveProperty('auth');
    expect(recording.envelopes).toEqual([undefined, undefined]);
  });
});

describe('scan store option', () => {
  it.each([
    ['default', [], null],
    ['none', ['--store', 'none'], null],
    ['memory', ['--store', 'memory'], 'memory'],
    ['redis', ['--store', 'redis://127.0.0.1:6390/0'], 'redis://127.0.0.1:6390/0'],
  ] as const)('passes %s to the scorer', async (_label, flags, expected) => {
    const recording = newRecording();
    const result = await run(['scan', ...flags, HAM], { createScorer: recordingScorer(recording) });
    expect(result.code).toBe(0);
    expect(recording.options[0]?.store).toBe(expected);
  });

  it('rejects an unknown store', async () => {
    const result = await run(['scan', '--store', 'disk', HAM], { createScorer: recordingScorer(newRecording()) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Expected "none", "memory" or a Redis URL/);
  });
});

describe('scan envelope', () => {
  it('passes the envelope to the scorer', async () => {
    const recording = newRecording();
    const result = await run(['scan', '--client-ip', '2001:db8::1', '--helo', 'mail.example.com', '--mail-from', '<Sender@example.com>', HAM], {
      createScorer: recordingScorer(recording),
    });
    expect(result.code).toBe(0);
    expect(recording.envelopes).toEqual([{ clientIp: '2001:db8::1', helo: 'mail.example.com', mailFrom: 'Sender@example.com' }]);
  });

  it('accepts an empty MAIL FROM', async () => {
    for (const value of ['', '<>']) {
      const recording = newRecording();
      const result = await run(['scan', '--mail-from', value, HAM], { createScorer: recordingScorer(recording) });
      expect(result.code).toBe(0);
      expect(recording.envelopes).toEqual([{ mailFrom: '' }]);
    }
  });

  it('applies to one message on stdin', async () => {
    const recording = newRecording();
    const result = await run(['scan', '--client-ip', '192.0.2.1', '-'], { stdinText: MESSAGE, createScorer: recordingScorer(recording) });
    expect(result.code).toBe(0);
    expect(recording.envelopes).toEqual([{ clientIp: '192.0.2.1' }]);
  });

  it('applies to an mbox of one message', async () => {
    const file = path.join(root, 'one.mbox');
    await writeFile(file, `From sender@example.com Mon Jan  6 10:00:00 2025\n${MESSAGE}\n`);
    const recording = newRecording();
    const result = await run(['scan', '--client-ip', '192.0.2.1', file], { createScorer: recordingScorer(recording) });
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout).map((record) => record.source)).toEqual([`${file}:0`]);
    expect(recording.envelopes).toEqual([{ clientIp: '192.0.2.1' }]);
  });

  it('rejects a folder', async () => {
    const recording = newRecording();
    const result = await run(['scan', '--client-ip', '192.0.2.1', FIXTURES], { createScorer: recordingScorer(recording) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--client-ip applies to one message only');
    expect(result.stderr).toContain(`${FIXTURES} is a folder`);
    expect(result.stdout).toBe('');
    expect(recording.options).toHaveLength(0);
  });

  it('rejects several paths', async () => {
    const result = await run(['scan', '--helo', 'mail.example.com', '--mail-from', '', HAM, SPAM], { createScorer: recordingScorer(newRecording()) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--helo and --mail-from apply to one message only, but 2 paths were given');
    expect(result.stdout).toBe('');
  });

  it('rejects an mbox of several messages', async () => {
    const file = path.join(root, 'two.mbox');
    const first = `From a@example.com Mon Jan  6 10:00:00 2025\n${MESSAGE}\n`;
    await writeFile(file, `${first}From b@example.com Mon Jan  6 10:05:00 2025\n${MESSAGE}\n`);
    const recording = newRecording();
    const result = await run(['scan', '--format', 'csv', '--client-ip', '192.0.2.1', file], { createScorer: recordingScorer(recording) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${file} contains more than one`);
    expect(result.stdout).toBe('');
    expect(recording.envelopes).toHaveLength(0);
  });

  it('rejects several messages on stdin', async () => {
    const mbox = `From a@example.com Mon Jan  6 10:00:00 2025\n${MESSAGE}\nFrom b@example.com Mon Jan  6 10:05:00 2025\n${MESSAGE}\n`;
    const result = await run(['scan', '--client-ip', '192.0.2.1', '-'], { stdinText: mbox, createScorer: recordingScorer(newRecording()) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('standard input contains more than one');
  });

  it('reports a missing file as a failed input', async () => {
    const missing = path.join(root, 'missing.eml');
    const result = await run(['scan', '--client-ip', '192.0.2.1', missing], { createScorer: recordingScorer(newRecording()) });
    expect(result.code).toBe(1);
    expect(jsonLines(result.stdout)[0]?.error).toMatchObject({ code: 'SPAMWARD_SOURCE_FAILED' });
  });
});

describe('scan auth output', () => {
  it('writes auth in JSON Lines', async () => {
    const result = await run(['scan', '--format', 'jsonl', HAM], { createScorer: recordingScorer(newRecording()) });
    const [record] = jsonLines(result.stdout);
    expect(record?.auth).toEqual(KNOWN_AUTH);
  });

  it('writes auth results in CSV', async () => {
    const result = await run(['scan', '--format', 'csv', HAM], { createScorer: recordingScorer(newRecording()) });
    const [header, row] = parseCsv(result.stdout);
    const cell = (column: string): string | undefined => row?.[header?.indexOf(column) ?? -1];
    expect(cell('spf')).toBe('pass');
    expect(cell('dkim')).toBe('none');
    expect(cell('dmarc')).toBe('unknown');
    expect(cell('arc')).toBe('unknown');
  });

  it('writes known auth results in the table', async () => {
    const result = await run(['scan', '--format', 'table', HAM], { createScorer: recordingScorer(newRecording()) });
    const [header, row] = result.stdout.split('\n');
    expect(header).toMatch(/^VERDICT\s+SCORE\s+ACTION\s+SOURCE\s+AUTH\s+SYMBOLS$/);
    expect(row).toContain('spf=pass dkim=none  FAKE_RULE(+1)');
    expect(row).not.toContain('dmarc=');
  });

  it('prints DNS counters with --verbose', async () => {
    const result = await run(['scan', '--verbose', HAM], { createScorer: recordingScorer(newRecording(), KNOWN_AUTH, STATS) });
    expect(result.stderr).toContain('spamward: DNS: 12 lookups (4 cache hits, 0 stale), 8 queries sent (1 hedged, 0 over TCP), 2 query timeouts, 2 failed lookups (timeout 2), breaker closed.');
  });

  it('prints no DNS counters without --verbose', async () => {
    const result = await run(['scan', HAM], { createScorer: recordingScorer(newRecording(), KNOWN_AUTH, STATS) });
    expect(result.stderr).not.toContain('DNS:');
  });
});

describe('scan auth with the real scorer', () => {
  it('reports unknown without resolvers', async () => {
    const jsonl = await run(['scan', '--no-model', '--format', 'jsonl', HAM, SPAM]);
    expect(jsonl.code).toBe(0);
    for (const record of jsonLines(jsonl.stdout)) {
      const auth = record.auth as ScoreResult['auth'];
      expect(auth.source).toBe('none');
      for (const mechanism of [auth.spf, auth.dkim, auth.dmarc, auth.arc]) expect(mechanism.result).toBe('unknown');
    }

    const csv = parseCsv((await run(['scan', '--no-model', '--format', 'csv', HAM])).stdout);
    expect(csv[0]?.slice(8, 12)).toEqual(['spf', 'dkim', 'dmarc', 'arc']);
    expect(csv[1]?.slice(8, 12)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);

    const table = (await run(['scan', '--no-model', '--format', 'table', HAM])).stdout.split('\n');
    const authColumn = table[0]!.indexOf('AUTH');
    expect(table[1]?.slice(authColumn).split(/\s+/)[0]).toBe('-');
  });

  it('reads a trusted Authentication-Results header', async () => {
    const file = path.join(root, 'trusted.eml');
    await writeFile(file, `Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=alice@example.com; dkim=fail header.d=example.com\n${await readFile(HAM, 'utf8')}`);
    const result = await run(['scan', '--no-model', '--trust-authserv-id', 'mx.example.org', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const auth = jsonLines(result.stdout)[0]?.auth as ScoreResult['auth'];
    expect(auth.source).toBe('trusted-header');
    expect(auth.spf.result).toBe('pass');
    expect(auth.dkim.result).toBe('fail');
  });

  it(
    'checks SPF against a local DNS server',
    async () => {
      server = await startDnsServer({
        zone: {
          'example.com': [{ type: 'TXT', data: 'v=spf1 ip4:192.0.2.1 -all' }],
          '_dmarc.example.com': [{ type: 'TXT', data: 'v=DMARC1; p=reject' }],
        },
      });
      const file = path.join(root, 'dns', 'message.eml');
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, MESSAGE);
      const flags = ['--no-model', '--auth-deadline', String(LOCAL_DNS_DEADLINE_MS), '--resolver', server.address, '--mail-from', 'sender@example.com'];

      const pass = await run(['scan', ...flags, '--client-ip', '192.0.2.1', file]);
      expect(pass.code).toBe(0);
      const passAuth = jsonLines(pass.stdout)[0]?.auth as ScoreResult['auth'];
      expect(passAuth.source).toBe('dns');
      expect(passAuth.spf.result).toBe('pass');
      expect(passAuth.dmarc.result).toBe('pass');
      expect(server.queries.some((query) => query.name === 'example.com' && query.type === 'TXT')).toBe(true);

      const fail = await run(['scan', ...flags, '--client-ip', '192.0.2.99', '--format', 'table', file]);
      expect(fail.stdout).toContain('spf=fail');
    },
    LOCAL_DNS_TEST_TIMEOUT_MS,
  );
});
