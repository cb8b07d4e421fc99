import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScorer } from '../../src/pipeline/scorer.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { run } from './capture.js';

const TEXT = [
  'Your parcel could not be delivered because the customs fee was not paid.',
  'Pay the outstanding amount today through the tracking page, otherwise the',
  'shipment returns to the sender and the storage charges continue to grow.',
  'Tracking code NUMBER, reference NUMBER. Customer service of the delivery company.',
].join('\r\n');

function parcelMessage(recipient: string, number: number): string {
  return [
    'Return-Path: <notice@example.net>',
    'From: Delivery <notice@example.net>',
    `To: <${recipient}>`,
    'Subject: Parcel on hold',
    'Date: Tue, 03 Dec 2024 10:00:00 +0000',
    '',
    TEXT.replaceAll('NUMBER', String(number)),
    '',
  ].join('\r\n');
}

let work: string;
let server: RedisServer;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'spamward-feedback-store-'));
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('spamward feedback add --store', () => {
  it('counts reports in shared Redis', async () => {
    const file = join(work, 'reported.eml');
    writeFileSync(file, parcelMessage('alice@example.org', 1111));
    const result = await run(['feedback', 'add', '--label', 'spam', '--dir', join(work, 'feedback'), '--store', server.url, file]);
    expect(result.stderr).not.toContain('behaviour-store');
    expect(result.code).toBe(0);
    const gateway = await createScorer({ store: server.url, storeTimeoutMs: 1000 });
    const scored = await gateway.score(parcelMessage('bob@example.org', 2222));
    expect(scored.symbols.map((symbol) => symbol.name)).toEqual(expect.arrayContaining(['REPORTED_SPAM_CONTENT', 'REPORTED_SPAM_SENDER']));
    await gateway.close();
  });

  it('exits 1 when the reports do not reach the store', async () => {
    const port = await freePort();
    const result = await run(['feedback', 'add', '--label', 'spam', '--dir', join(work, 'feedback'), '--store', `redis://127.0.0.1:${port}/0`, join(work, 'reported.eml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('did not reach the behaviour store');
  });

  it('refuses an in-memory store, whose reports would end with the process', async () => {
    const result = await run(['feedback', 'add', '--label', 'spam', '--dir', join(work, 'feedback'), '--store', 'memory', join(work, 'reported.eml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Redis URL');
  });
});
