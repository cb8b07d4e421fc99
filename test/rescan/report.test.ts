import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint, openReport, rowKey, type RescanRow } from '../../src/rescan/report.js';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-report-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function row(source: string, overrides: Partial<RescanRow> = {}): RescanRow {
  return {
    source,
    messageId: 'id@example.com',
    sha256: 'a'.repeat(64),
    verdict: 'ham',
    score: 1.25,
    symbols: Array.from({ length: 50 }, (_, i) => ({ name: `SYMBOL_${i}`, score: i })),
    degraded: ['x'.repeat(1000)],
    error: null,
    previousScore: null,
    previousFlagged: null,
    modelVersion: 'test',
    ...overrides,
  };
}

describe('checkpoint', () => {
  it('keeps fixed-size keys and numbers', () => {
    const checkpoint = new Checkpoint();
    for (let i = 0; i < 100; i += 1) checkpoint.add(row(`${'/very/long/path/'.repeat(200)}${i}.eml`));

    expect(checkpoint.size).toBe(100);
    for (const [key, value] of checkpoint.entries) {
      expect(key).toHaveLength(22);
      expect(typeof value).toBe('number');
      expect(Number.isSafeInteger(value)).toBe(true);
    }
  });

  it('decodes verdict and score', () => {
    const checkpoint = new Checkpoint();
    const cases: [RescanRow['verdict'], number][] = [
      ['ham', -3.125],
      ['suspect', 0],
      ['spam', 17.5],
      ['ham', 0.001],
      ['spam', -0.002],
    ];
    cases.forEach(([verdict, score], i) => checkpoint.add(row(`m${i}`, { verdict, score })));

    cases.forEach(([verdict, score], i) => {
      expect(checkpoint.get('a'.repeat(64), `m${i}`)).toEqual({ verdict, score });
    });
  });

  it('marks failed rows', () => {
    const checkpoint = new Checkpoint();
    checkpoint.add(row('bad', { sha256: null, verdict: null, score: null, error: { code: 'X', message: 'y' } }));

    expect(checkpoint.get(null, 'bad')).toEqual({ verdict: null, score: null });
    expect(checkpoint.has('a'.repeat(64), 'bad')).toBe(false);
  });

  it('separates sha256 and source', () => {
    expect(rowKey('ab', 'c')).not.toBe(rowKey('a', 'bc'));
    expect(rowKey(null, 'x')).not.toBe(rowKey('', 'x\u0000'));
  });
});

describe('report file', () => {
  it('reads rows of an earlier version', async () => {
    const file = path.join(root, 'old.jsonl');
    const old = { source: 'old.eml', messageId: 'm', sha256: 'b'.repeat(64), verdict: 'spam', score: 9, symbols: [], degraded: [], error: null };
    await writeFile(file, `${JSON.stringify(old)}\n`);
    const report = await openReport(file);
    await report.close();

    expect(report.checkpoint.get('b'.repeat(64), 'old.eml')).toEqual({ verdict: 'spam', score: 9 });
  });

  it('keeps CRLF lines whole', async () => {
    const file = path.join(root, 'crlf.jsonl');
    const content = `${JSON.stringify(row('one'))}\r\n${JSON.stringify(row('two'))}\r\n`;
    await writeFile(file, content);
    const report = await openReport(file);
    await report.close();

    expect(report.truncatedBytes).toBe(0);
    expect(report.checkpoint.size).toBe(2);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('cuts a partial last line', async () => {
    const file = path.join(root, 'partial.jsonl');
    const whole = `${JSON.stringify(row('one'))}\n`;
    await writeFile(file, `${whole}{"source":"tw`);
    const report = await openReport(file);
    await report.append([row('three')]);
    await report.close();

    expect(report.truncatedBytes).toBe(13);
    expect(await readFile(file, 'utf8')).toBe(`${whole}${JSON.stringify(row('three'))}\n`);
  });
});
