import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { SourceError } from '../../src/errors.js';
import { parseMessage, readRaw, type RawMessage } from '../../src/parse/index.js';
import { message } from './build.js';

const RAW = message(['From: alice@example.com', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=', 'Content-Type: text/plain; charset=utf-8'], 'Grüße, Bob.\r\n');
const BYTES = Buffer.from(RAW, 'utf8');

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.slice(offset, offset + size);
}

describe('input kinds', () => {
  const inputs: Array<[string, () => RawMessage]> = [
    ['Buffer', () => BYTES],
    ['Uint8Array', () => new Uint8Array(BYTES)],
    [
      'Uint8Array view with offset',
      () => {
        const padded = new Uint8Array(BYTES.length + 10);
        padded.set(BYTES, 5);
        return padded.subarray(5, 5 + BYTES.length);
      },
    ],
    ['string', () => RAW],
    ['Readable of Buffers', () => Readable.from([BYTES.subarray(0, 17), BYTES.subarray(17)])],
    ['Readable of strings', () => Readable.from([RAW.slice(0, 40), RAW.slice(40)], { objectMode: true })],
    ['async iterable', () => chunksOf(BYTES, 7)],
  ];

  test.each(inputs)('%s gives the same message', async (_name, input) => {
    const parsed = await parseMessage(input());
    expect(parsed.subject).toBe('Grüße');
    expect(parsed.text).toBe('Grüße, Bob.\n');
    expect(parsed.size).toBe(BYTES.length);
    expect(parsed.limitsHit).toEqual([]);
  });
});

describe('readRaw', () => {
  test('Buffer is cut at the limit', async () => {
    const { bytes, size } = await readRaw(BYTES, 10);
    expect(bytes.equals(BYTES.subarray(0, 10))).toBe(true);
    expect(size).toBe(BYTES.length);
  });

  test('stream is cut but fully counted', async () => {
    const { bytes, size } = await readRaw(chunksOf(BYTES, 3), 10);
    expect(bytes.equals(BYTES.subarray(0, 10))).toBe(true);
    expect(size).toBe(BYTES.length);
  });

  test('string size counts UTF-8 bytes', async () => {
    const { bytes, size } = await readRaw('ü', 100);
    expect(size).toBe(2);
    expect(bytes.equals(Buffer.from('ü'))).toBe(true);
  });

  test('chunk buffers reused by the source are copied', async () => {
    const shared = new Uint8Array(4);
    async function* reusing(): AsyncGenerator<Uint8Array> {
      for (const text of ['abcd', 'efgh']) {
        shared.set(Buffer.from(text));
        yield shared;
      }
    }
    const { bytes } = await readRaw(reusing(), 100);
    expect(bytes.toString()).toBe('abcdefgh');
  });

  test('empty stream is empty', async () => {
    const { bytes, size } = await readRaw(Readable.from([]), 100);
    expect(bytes.length).toBe(0);
    expect(size).toBe(0);
  });

  test('failing stream raises SourceError', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    const error = await readRaw(failing, 100).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toContain('connection reset');
  });

  test('wrong input type raises SourceError', async () => {
    const error = await readRaw(42 as unknown as RawMessage, 100).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toContain('got number');
  });

  test('wrong chunk type raises SourceError', async () => {
    async function* objects(): AsyncGenerator<unknown> {
      yield { not: 'bytes' };
    }
    const error = await readRaw(objects() as AsyncIterable<Uint8Array>, 100).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SourceError);
    expect((error as SourceError).message).toContain('chunk of type Object');
  });
});
