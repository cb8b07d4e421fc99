import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { openFeedbackStore } from '../../src/feedback/index.js';
import { createScorer } from '../../src/pipeline/scorer.js';
import { DEFAULT_REPORT_POINTS } from '../../src/pipeline/reports.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';

const BODY = [
  'Dear customer RECIPIENT,',
  'Your mailbox storage is almost full and incoming messages will be rejected',
  'from today. Verify your account within the next hours to keep receiving',
  'mail. Visit https://example.com/verify?id=NUMBER and confirm your password',
  'on the secure page. Reference number NUMBER. Thank you for your cooperation,',
  'the helpdesk team of your organisation.',
].join('\r\n');

/** Builds one copy of a made-up campaign, whose sender, recipient and numbers vary per copy. */
function campaignMessage(sender: string, recipient: string, number: number): string {
  return [
    `Return-Path: <${sender}>`,
    `From: Helpdesk <${sender}>`,
    `To: <${recipient}>`,
    'Subject: Mailbox storage warning',
    'Date: Tue, 03 Dec 2024 10:00:00 +0000',
    `Message-ID: <${number}@example.net>`,
    '',
    BODY.replaceAll('RECIPIENT', recipient).replaceAll('NUMBER', String(number)),
    '',
  ].join('\r\n');
}

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'spamward-report-'));
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('scorer.report', () => {
  it('raises near-duplicates of a message reported as spam at once', async () => {
    const scorer = await createScorer({ store: 'memory' });
    const before = await scorer.score(campaignMessage('desk@example.net', 'carol@example.org', 2));
    const outcome = await scorer.report(campaignMessage('desk@example.net', 'alice@example.org', 1), 'spam');
    expect(outcome.keys.some((key) => key.startsWith('content:'))).toBe(true);
    expect(outcome.keys).toContain('sender:desk@example.net');
    expect(outcome.degraded).toEqual([]);
    const after = await scorer.score(campaignMessage('other@example.com', 'bob@example.org', 3));
    expect(after.symbols.find((symbol) => symbol.name === 'REPORTED_SPAM_CONTENT')?.score).toBe(DEFAULT_REPORT_POINTS.content);
    expect(after.symbols.some((symbol) => symbol.name === 'REPORTED_SPAM_SENDER')).toBe(false);
    expect(after.score).toBeGreaterThan(before.score + DEFAULT_REPORT_POINTS.content / 2);
    const sameSender = await scorer.score(campaignMessage('desk@example.net', 'dave@example.org', 4));
    expect(sameSender.symbols.map((symbol) => symbol.name)).toContain('REPORTED_SPAM_SENDER');
    await scorer.close();
  });

  it('lowers a message reported as not spam, and a relabel cancels the report', async () => {
    const scorer = await createScorer({ store: 'memory' });
    const message = campaignMessage('desk@example.net', 'alice@example.org', 1);
    await scorer.report(message, 'ham');
    const lowered = await scorer.score(message);
    expect(lowered.symbols.find((symbol) => symbol.name === 'REPORTED_HAM_CONTENT')?.score).toBe(-DEFAULT_REPORT_POINTS.content);
    await scorer.report(message, 'spam');
    const tied = await scorer.score(message);
    expect(tied.symbols.filter((symbol) => symbol.name.startsWith('REPORTED_'))).toEqual([]);
    await scorer.close();
  });

  it('stores in folder without store', async () => {
    const feedbackDir = join(work, 'feedback');
    const scorer = await createScorer({ store: null, feedbackDir });
    const outcome = await scorer.report(campaignMessage('desk@example.net', 'alice@example.org', 1), 'spam', { reporter: 'admin', reason: 'phishing' });
    expect(outcome.feedback?.outcome).toBe('new');
    expect(outcome.keys).toEqual([]);
    expect(outcome.degraded.join(' ')).toContain('behaviour-store: off');
    const entries = await (await openFeedbackStore(feedbackDir)).list();
    expect(entries.map((entry) => [entry.sha256, entry.label])).toEqual([[outcome.sha256, 'spam']]);
    await scorer.close();
  });

  it('refuses an oversized message for the feedback folder but counts the report', async () => {
    const scorer = await createScorer({ store: 'memory', feedbackDir: join(work, 'small'), parseLimits: { maxMessageBytes: 300 } });
    const outcome = await scorer.report(campaignMessage('desk@example.net', 'alice@example.org', 1), 'spam');
    expect(outcome.feedback).toBeNull();
    expect(outcome.degraded.join(' ')).toContain('feedback: not stored');
    await scorer.close();
  });

  it('rejects a label other than spam or ham', async () => {
    const scorer = await createScorer({ store: null });
    await expect(scorer.report('Subject: x\r\n\r\nx', 'junk' as 'spam')).rejects.toThrow(OptionsError);
    await expect(createScorer({ reportPoints: { content: -2 } })).rejects.toThrow(/reportPoints.content/);
    await scorer.close();
  });
});

describe('scorer.report across gateways', () => {
  let server: RedisServer;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('reaches a second scorer through a shared Redis', async () => {
    const gatewayA = await createScorer({ store: server.url, storeTimeoutMs: 1000 });
    const gatewayB = await createScorer({ store: server.url, storeTimeoutMs: 1000 });
    await gatewayA.report(campaignMessage('desk@example.net', 'alice@example.org', 1), 'spam');
    const result = await gatewayB.score(campaignMessage('desk@example.net', 'bob@example.org', 2));
    expect(result.degraded).toEqual([]);
    expect(result.symbols.map((symbol) => symbol.name)).toEqual(expect.arrayContaining(['REPORTED_SPAM_CONTENT', 'REPORTED_SPAM_SENDER']));
    await gatewayA.close();
    await gatewayB.close();
  });
});
