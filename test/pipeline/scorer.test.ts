import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { createScorer, type MessageInput } from '../../src/pipeline/scorer.js';
import { copyShippedModel, editManifest } from '../helpers/model.js';

const HAM = [
  'From: Alice Example <alice@example.com>',
  'To: Bob <bob@example.org>',
  'Subject: Re: notes from the meeting',
  'Date: Tue, 03 Dec 2024 10:00:00 +0000',
  'Message-ID: <20241203100000.1234@mail.example.com>',
  'In-Reply-To: <abc@example.org>',
  '',
  'Hi Bob, here are the notes from the meeting. The build is fixed and the',
  'release goes out on Thursday after the review.',
  '',
].join('\r\n');

const SPAM = [
  'From: "PayPal Security" <security@example.net>',
  'To: undisclosed-recipients:;',
  'Subject: URGENT!!! Verify your account now $$$',
  'Content-Type: text/html',
  '',
  '<html><body><p>Your account will be suspended. <a href="http://192.0.2.7/login">https://www.paypal.com/verify</a></p>',
  '<p>Click here to verify your account, act now! 100% free, limited time, winner!</p></body></html>',
  '',
].join('\r\n');

const examples = join(import.meta.dirname, '..', '..', 'examples', 'quarantine');

describe('createScorer', () => {
  it('scores ham below spam', async () => {
    const scorer = await createScorer();
    const ham = await scorer.score(HAM);
    const spam = await scorer.score(SPAM);
    expect(ham.verdict).toBe('ham');
    expect(ham.action).toBe('accept');
    expect(spam.score).toBeGreaterThan(ham.score);
    expect(spam.verdict).not.toBe('ham');
  });

  it('symbols add up to the score', async () => {
    const scorer = await createScorer();
    const result = await scorer.score(SPAM);
    const sum = result.symbols.reduce((total, symbol) => total + symbol.score, 0);
    expect(sum).toBeCloseTo(result.score, 1);
    expect(result.symbols.some((symbol) => symbol.source === 'model')).toBe(true);
    expect(result.symbols.some((symbol) => symbol.source === 'rule')).toBe(true);
    expect(result.probability).toBeGreaterThan(0);
    expect(result.probability).toBeLessThan(1);
    expect(result.degraded).toEqual([]);
  });

  it('falls back to heuristics when the model is broken', async () => {
    const dir = copyShippedModel();
    editManifest(dir, (manifest) => {
      (manifest.checksums as Record<string, string>)['weights.bin'] = '0'.repeat(64);
    });
    const warnings: string[] = [];
    const scorer = await createScorer({ modelDir: dir, logger: { warn: (message) => warnings.push(message) } });
    const first = await scorer.score(SPAM);
    await scorer.score(HAM);
    expect(scorer.modelVersion).toBeNull();
    expect(first.modelProbability).toBeNull();
    expect(first.degraded.join(' ')).toMatch(/model: unavailable, heuristics only .*Checksum mismatch/);
    expect(warnings).toHaveLength(1);
    expect(first.symbols.every((symbol) => symbol.source !== 'model')).toBe(true);
  });

  it('throws for a broken model with requireModel', async () => {
    await expect(createScorer({ modelDir: '/nonexistent/model', requireModel: true })).rejects.toThrow(/nonexistent\/model/);
  });

  it('scores with heuristics only when modelDir is null', async () => {
    const scorer = await createScorer({ modelDir: null });
    const result = await scorer.score(SPAM);
    expect(result.modelVersion).toBeNull();
    expect(result.degraded).toEqual([]);
    expect(result.score).toBeGreaterThan(0);
  });

  it('rejects thresholds out of order', async () => {
    await expect(createScorer({ thresholds: { suspect: 9, spam: 3 } })).rejects.toThrow(OptionsError);
    await expect(createScorer({ thresholds: { spam: Number.NaN } })).rejects.toThrow(/finite number/);
  });

  it('applies custom thresholds', async () => {
    const scorer = await createScorer({ thresholds: { suspect: -100, spam: -99, reject: -98 } });
    const result = await scorer.score(HAM);
    expect(result.verdict).toBe('spam');
    expect(result.action).toBe('reject');
  });

  it('reports truncation in degraded', async () => {
    const scorer = await createScorer({ parseLimits: { maxMessageBytes: 100 } });
    const result = await scorer.score(HAM);
    expect(result.degraded.join(' ')).toMatch(/PARSE_LIMIT_SIZE/);
  });
});

describe('scoreMany', () => {
  it('scores the sample quarantine folder', async () => {
    const scorer = await createScorer();
    const items = [];
    for await (const item of scorer.scoreMany(examples)) items.push(item);
    const files = readdirSync(examples).filter((file) => file.endsWith('.eml'));
    expect(items).toHaveLength(files.length);
    expect(items.every((item) => item.result !== undefined)).toBe(true);
    const spamCaught = items.filter((item) => item.source.includes('/spam-') && item.result?.verdict !== 'ham').length;
    const hamFlagged = items.filter((item) => item.source.includes('-ham-') && item.result?.verdict === 'spam').length;
    expect(spamCaught).toBeGreaterThanOrEqual(10);
    expect(hamFlagged).toBe(0);
  });

  it('goes on past a failing input', async () => {
    const scorer = await createScorer();
    async function* inputs(): AsyncGenerator<MessageInput> {
      yield { source: 'first', raw: HAM };
      yield {
        source: 'broken stream',
        raw: (async function* () {
          yield Buffer.from('Subject: x\r\n');
          throw new Error('disk read failed');
        })(),
      };
      yield { source: 'last', raw: readFileSync(join(examples, readdirSync(examples).find((file) => file.endsWith('.eml')) as string)) };
    }
    const items = [];
    for await (const item of scorer.scoreMany(inputs())) items.push(item);
    expect(items.map((item) => item.source)).toEqual(['first', 'broken stream', 'last']);
    expect(items[1]?.error?.message).toMatch(/disk read failed/);
    expect(items[2]?.result).toBeDefined();
  });

  it('rejects a source of the wrong type', async () => {
    const scorer = await createScorer({ modelDir: null });
    // @ts-expect-error: a number is not a source
    await expect(scorer.scoreMany(42).next()).rejects.toThrow(OptionsError);
  });
});
