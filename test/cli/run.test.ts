import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.js';
import type { Scorer } from '../../src/pipeline/scorer.js';
import type { ScoreResult } from '../../src/pipeline/types.js';
import { CapturedStream, jsonLines, parseCsv, run } from './capture.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/cli/', import.meta.url));
const HAM = path.join(FIXTURES, 'ham.eml');
const SPAM = path.join(FIXTURES, 'spam.eml');
const SHORT_MESSAGE = 'From: carol@example.com\nTo: bob@example.org\nSubject: short\n\nHello.\n';
const RECORD_KEYS = ['source', 'messageId', 'score', 'probability', 'verdict', 'action', 'symbols', 'degraded', 'auth', 'error'];

let root: string;

/** Writes `count` small messages into a new folder and returns its path. */
async function messageFolder(name: string, count: number): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < count; i += 1) {
    await writeFile(path.join(folder, `${String(i).padStart(3, '0')}.eml`), SHORT_MESSAGE.replace('short', `short ${i}`));
  }
  return folder;
}

/** Returns a scorer stand-in that fails on messages containing BROKEN and calls `onScore` for each message. */
function fakeScorer(onScore: (count: number) => void = () => {}): () => Promise<Scorer> {
  let count = 0;
  const result: ScoreResult = {
    messageId: 'fake@example.com',
    score: 1.23456,
    probability: 0.5,
    verdict: 'ham',
    action: 'accept',
    symbols: [{ name: 'FAKE_RULE', score: 1.23456, description: 'test', source: 'rule' }],
    degraded: [],
    modelProbability: null,
    modelVersion: null,
    auth: {
      spf: { result: 'unknown', reason: 'not checked' },
      dkim: { result: 'unknown', reason: 'not checked' },
      dmarc: { result: 'unknown', reason: 'not checked' },
      arc: { result: 'unknown', reason: 'not checked' },
      source: 'none',
    },
    timings: { parse: 0, auth: 0, features: 0, model: 0, heuristics: 0, total: 0 },
  };
  const scorer: Scorer = {
    async score(raw) {
      count += 1;
      onScore(count);
      if (String(raw).includes('BROKEN')) throw new ParseError('mailparser could not parse the message: test failure');
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
  return async () => scorer;
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-cli-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('runCli usage', () => {
  it('prints the version', async () => {
    const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await run(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(manifest.version);
  });

  it('prints help with the commands', async () => {
    const result = await run(['help']);
    expect(result.code).toBe(0);
    for (const command of ['scan', 'rescan', 'feedback', 'train', 'model']) expect(result.stdout).toContain(command);
    expect(result.stdout).toContain('spamward COMMAND --help');
  });

  it('prints scan help with the options', async () => {
    const result = await run(['help', 'scan']);
    expect(result.code).toBe(0);
    for (const flag of ['--format', '--no-model', '--threshold-spam', '--rule-score', '--max-message-bytes']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('exits 2 without a command', async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage:');
  });

  it('exits 2 for an unknown command', async () => {
    const result = await run(['scna', HAM]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'scna'");
  });

  it('exits 2 without paths', async () => {
    expect((await run(['scan'])).code).toBe(2);
  });

  const invalidValues: [string[], string][] = [
    [['--threshold-spam', 'abc'], "'abc'"],
    [['--threshold-suspect', '1x'], "'1x'"],
    [['--threshold-reject', 'Infinity'], "'Infinity'"],
    [['--threshold-spam', '5', '--threshold-spam', '6'], 'more than once'],
    [['--max-message-bytes', '0'], "'0'"],
    [['--max-message-bytes', '1.5'], "'1.5'"],
    [['--max-message-bytes', '-4'], "'-4'"],
    [['--rule-score', 'NO_RECEIVED'], "'NO_RECEIVED'"],
    [['--rule-score', 'no_received=1'], 'UPPER_SNAKE'],
    [['--rule-score', 'NO_RECEIVED=high'], "'NO_RECEIVED=high'"],
    [['--rule-score', 'NO_RECEIVED=1', '--rule-score', 'NO_RECEIVED=2'], 'more than once'],
    [['--disable-rule', 'bad-name'], "'bad-name'"],
    [['--format', 'xml'], 'table, jsonl, csv'],
    [['--model', 'a', '--model', 'b'], 'more than once'],
  ];
  it.each(invalidValues)('rejects %j', async (flags, expected) => {
    const result = await run(['scan', ...flags, HAM]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(flags[0]);
    expect(result.stderr).toContain(expected);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for thresholds out of order', async () => {
    const result = await run(['scan', '--no-model', '--threshold-suspect', '9', '--threshold-spam', '3', HAM]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('suspect <= spam <= reject');
  });

  it('exits 2 for an unknown rule symbol', async () => {
    const result = await run(['scan', '--no-model', '--disable-rule', 'NO_SUCH_RULE', HAM]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('NO_SUCH_RULE');
  });

  it('exits 1 when --model cannot be loaded', async () => {
    const missing = path.join(root, 'no-model-here');
    const result = await run(['scan', '--model', missing, HAM]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    expect(result.stdout).toBe('');
  });
});

describe('runCli scan formats', () => {
  it('writes JSON Lines', async () => {
    const result = await run(['scan', '--no-model', '--format', 'jsonl', HAM, SPAM]);
    expect(result.code).toBe(0);
    const records = jsonLines(result.stdout);
    expect(records).toHaveLength(2);
    for (const record of records) expect(Object.keys(record)).toEqual(RECORD_KEYS);
    const [ham, spam] = records;
    expect(ham?.source).toBe(HAM);
    expect(ham?.messageId).toBe('20250106100000.1234@example.com');
    expect(ham?.error).toBeNull();
    expect(spam?.verdict).toBe('spam');
    expect(spam?.symbols).toContainEqual(expect.objectContaining({ name: 'ATTACHMENT_RISKY_EXT', score: 2.5 }));
  });

  it('rounds numbers to 3 decimals', async () => {
    const result = await run(['scan', '--format', 'jsonl', HAM], { createScorer: fakeScorer() });
    const [record] = jsonLines(result.stdout);
    expect(record?.score).toBe(1.235);
    expect(record?.symbols).toEqual([{ name: 'FAKE_RULE', score: 1.235, description: 'test' }]);
  });

  it('writes quoted CSV', async () => {
    const awkward = path.join(root, 'csv', 'a "quoted", name.eml');
    await mkdir(path.dirname(awkward), { recursive: true });
    await writeFile(awkward, await readFile(SPAM));
    const result = await run(['scan', '--no-model', '--format', 'csv', awkward, path.join(root, 'csv', 'missing.eml')]);
    expect(result.code).toBe(1);
    expect(result.stdout.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(result.stdout);
    expect(rows[0]).toEqual(['source', 'messageId', 'score', 'probability', 'verdict', 'action', 'symbols', 'degraded', 'spf', 'dkim', 'dmarc', 'arc', 'errorCode', 'errorMessage']);
    expect(rows).toHaveLength(3);
    expect(rows[1]?.[0]).toBe(awkward);
    expect(rows[1]?.[4]).toBe('spam');
    expect(rows[1]?.[6]).toMatch(/^([A-Z0-9_]+=-?[\d.]+;)*[A-Z0-9_]+=-?[\d.]+$/);
    expect(rows[1]?.[6]).toContain('ATTACHMENT_RISKY_EXT=2.5');
    expect(rows[2]?.slice(8, 12)).toEqual(['', '', '', '']);
    expect(rows[2]?.[12]).toBe('SPAMWARD_SOURCE_FAILED');
    expect(rows[2]?.[13]).toContain('does not exist');
  });

  it('writes an aligned table with a summary', async () => {
    const result = await run(['scan', '--no-model', '--format', 'table', HAM, SPAM, path.join(root, 'missing.eml')]);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERDICT\s+SCORE\s+ACTION\s+SOURCE\s+AUTH\s+SYMBOLS$/);
    expect(lines).toHaveLength(5);
    const sourceColumn = lines[0]!.indexOf('SOURCE');
    expect(lines[1]!.indexOf(HAM)).toBe(sourceColumn);
    expect(lines[2]!.indexOf(SPAM)).toBe(sourceColumn);
    expect(lines[2]).toMatch(/^spam\s/);
    expect(lines[3]).toMatch(/^error\s/);
    expect(lines[3]).toContain('SPAMWARD_SOURCE_FAILED');
    expect(lines[4]).toBe('Scanned 3 messages: 1 ham, 0 suspect, 1 spam, 1 error.');
  });

  it('defaults to a table on a terminal', async () => {
    expect((await run(['scan', '--no-model', HAM], { isTTY: { stdout: true } })).stdout).toMatch(/^VERDICT/);
    expect(jsonLines((await run(['scan', '--no-model', HAM])).stdout)).toHaveLength(1);
  });

  it('escapes control characters in the table', async () => {
    const odd = path.join(root, 'odd\u001b[31mname.eml');
    await writeFile(odd, SHORT_MESSAGE);
    const result = await run(['scan', '--no-model', '--format', 'table', odd]);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain('odd\\x1b[31mname.eml');
  });
});

describe('runCli scan inputs', () => {
  it('reports a missing path and scans the rest', async () => {
    const missing = path.join(root, 'nowhere', 'gone.eml');
    const result = await run(['scan', '--no-model', missing, HAM]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    const records = jsonLines(result.stdout);
    expect(records.map((record) => record.source)).toEqual([missing, HAM]);
    expect(records[0]?.error).toMatchObject({ code: 'SPAMWARD_SOURCE_FAILED' });
    expect(records[1]?.error).toBeNull();
  });

  it('reports a failed message in its row', async () => {
    const folder = path.join(root, 'broken');
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'a.eml'), SHORT_MESSAGE);
    await writeFile(path.join(folder, 'b.eml'), `${SHORT_MESSAGE}BROKEN\n`);
    await writeFile(path.join(folder, 'c.eml'), SHORT_MESSAGE);
    const result = await run(['scan', '--format', 'jsonl', folder], { createScorer: fakeScorer() });
    expect(result.code).toBe(1);
    const records = jsonLines(result.stdout);
    expect(records).toHaveLength(3);
    expect(records[1]?.error).toEqual({ code: 'SPAMWARD_PARSE_FAILED', message: 'mailparser could not parse the message: test failure' });
    expect(records[1]?.verdict).toBeNull();
    expect(records[2]?.error).toBeNull();
  });

  it('names mbox messages by offset', async () => {
    const first = `From a@example.com Mon Jan  6 10:00:00 2025\n${SHORT_MESSAGE}\n`;
    const file = path.join(root, 'inbox.mbox');
    await writeFile(file, `${first}From b@example.com Mon Jan  6 10:05:00 2025\n${SHORT_MESSAGE}\n`);
    const result = await run(['scan', '--no-model', file]);
    expect(jsonLines(result.stdout).map((record) => record.source)).toEqual([`${file}:0`, `${file}:${first.length}`]);
  });

  it('reads stdin', async () => {
    const result = await run(['scan', '--no-model', '-'], { stdinText: await readFile(HAM) });
    expect(result.code).toBe(0);
    const [record] = jsonLines(result.stdout);
    expect(record?.source).toBe('-');
    expect(record?.messageId).toBe('20250106100000.1234@example.com');
  });

  it('notes a truncated message', async () => {
    const result = await run(['scan', '--no-model', '--max-message-bytes', '100', SPAM]);
    expect(result.code).toBe(0);
    const [record] = jsonLines(result.stdout);
    const degraded = record?.degraded as string[];
    expect(degraded.some((entry) => entry.startsWith('source: message truncated to the first 100 of'))).toBe(true);
  });

  it('applies rule scores and disabled rules', async () => {
    const baseline = jsonLines((await run(['scan', '--no-model', SPAM])).stdout)[0];
    const baselineNames = (baseline?.symbols as { name: string }[]).map((symbol) => symbol.name);
    expect(baselineNames).toContain('BULK_MAILER');
    expect(baselineNames).toContain('ATTACHMENT_RISKY_EXT');

    const result = await run(['scan', '--no-model', '--disable-rule', 'BULK_MAILER', '--rule-score', 'ATTACHMENT_RISKY_EXT=-7', SPAM]);
    const [record] = jsonLines(result.stdout);
    const symbols = record?.symbols as { name: string; score: number }[];
    expect(symbols.map((symbol) => symbol.name)).not.toContain('BULK_MAILER');
    expect(symbols).toContainEqual(expect.objectContaining({ name: 'ATTACHMENT_RISKY_EXT', score: -7 }));
  });

  it('applies thresholds', async () => {
    const result = await run(['scan', '--no-model', '--threshold-suspect', '-100', '--threshold-spam', '-99', '--threshold-reject', '-98', HAM]);
    expect(jsonLines(result.stdout)[0]).toMatchObject({ verdict: 'spam', action: 'reject' });
  });

  it('prints diagnostics with --verbose', async () => {
    const result = await run(['scan', '--no-model', '--verbose', HAM]);
    expect(result.stderr).toContain('scoring with heuristics only');
    expect(result.stderr).toContain('Scanned 1 message: ');
  });
});

describe('runCli scan streams', () => {
  it('stops quietly on EPIPE', async () => {
    const folder = await messageFolder('epipe', 20);
    let writes = 0;
    const stdout = new Writable({
      write(_chunk, _encoding, callback) {
        writes += 1;
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    let scored = 0;
    const result = await run(['scan', folder], { stdout, createScorer: fakeScorer((count) => (scored = count)) });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(writes).toBe(1);
    expect(scored).toBeLessThan(20);
  });

  it('exits 130 when interrupted', async () => {
    const folder = await messageFolder('interrupt', 10);
    const controller = new AbortController();
    const result = await run(['scan', folder], {
      signal: controller.signal,
      createScorer: fakeScorer((count) => {
        if (count === 3) controller.abort();
      }),
    });
    expect(result.code).toBe(130);
    expect(jsonLines(result.stdout)).toHaveLength(3);
  });

  it('shows progress on a terminal stderr', async () => {
    const folder = await messageFolder('progress', 12);
    const missing = path.join(root, 'progress-missing.eml');
    const stderr = new CapturedStream(true);
    const result = await run(['scan', folder, missing], { stderr, isTTY: { stderr: true }, createScorer: fakeScorer() });
    expect(result.code).toBe(1);
    expect(stderr.text).toMatch(/Scanning: \d+ messages \| \d+\/s \| ham \d+/);
    expect(stderr.text).toContain(`spamward: Input path does not exist: ${missing}.`);
    expect(stderr.text).toContain('Scanned 13 messages: 12 ham, 0 suspect, 0 spam, 1 error.');
  });

  it('hides progress for a few messages', async () => {
    const folder = await messageFolder('few', 3);
    const stderr = new CapturedStream(true);
    await run(['scan', folder], { stderr, isTTY: { stderr: true }, createScorer: fakeScorer() });
    expect(stderr.text).not.toContain('Scanning:');
  });
});
