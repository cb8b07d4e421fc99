import type { Readable } from 'node:stream';
import { describeError, SourceError } from '../errors.js';

/** Anything a message can be read from. */
export type RawMessage = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function describeInput(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

/**
 * Reads a raw message into bytes, keeping the first `maxBytes`. Returns the
 * bytes kept and the full size seen, so a truncated stream still reports its
 * size. A stream is read to its end even past `maxBytes`, so the sender is
 * never left blocked; bytes past the limit are counted and dropped. Throws a
 * SourceError when the input is of another type or the stream fails.
 */
export async function readRaw(raw: RawMessage, maxBytes: number): Promise<{ bytes: Buffer; size: number }> {
  if (typeof raw === 'string') {
    const bytes = Buffer.from(raw, 'utf8');
    return { bytes: bytes.subarray(0, maxBytes), size: bytes.length };
  }
  if (raw instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    return { bytes: bytes.subarray(0, maxBytes), size: bytes.length };
  }
  if (!isAsyncIterable(raw)) {
    throw new SourceError(`A message must be a Buffer, Uint8Array, string, Readable stream or async iterable of bytes, got ${describeInput(raw)}.`);
  }

  const chunks: Buffer[] = [];
  let kept = 0;
  let size = 0;
  try {
    for await (const chunk of raw as AsyncIterable<unknown>) {
      if (typeof chunk === 'string') {
        const length = Buffer.byteLength(chunk, 'utf8');
        if (kept < maxBytes) chunks.push(Buffer.from(chunk, 'utf8').subarray(0, maxBytes - kept));
        size += length;
      } else if (chunk instanceof Uint8Array) {
        // Copied, because an iterable may reuse its buffer for the next chunk.
        if (kept < maxBytes) chunks.push(Buffer.from(chunk.subarray(0, maxBytes - kept)));
        size += chunk.byteLength;
      } else {
        throw new SourceError(`A message stream must yield bytes or strings, got a chunk of type ${describeInput(chunk)}.`);
      }
      kept = Math.min(size, maxBytes);
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError(`Reading the message stream failed: ${describeError(error)}`, { cause: error });
  }
  return { bytes: Buffer.concat(chunks, kept), size };
}
