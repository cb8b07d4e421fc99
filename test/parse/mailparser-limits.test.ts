import { afterEach, describe, expect, test, vi } from 'vitest';
import { ParseError } from '../../src/errors.js';
import { DEFAULT_PARSE_LIMITS, parseWithMailparser } from '../../src/parse/index.js';

/** The mailparser path itself; parseMessage would take the fast path for this plain message. */
function parseMessage(raw: string) {
  const bytes = Buffer.from(raw);
  return parseWithMailparser(bytes, bytes.length, DEFAULT_PARSE_LIMITS);
}
import { multipartMessage, textPart } from './build.js';

/**
 * The walk cuts messages so that mailparser's own limits are never reached.
 * These tests make mailparser fail anyway, to check what the caller sees if
 * the walk and mailparser's splitter ever disagree.
 */

const failures: Error[] = [];

vi.mock('mailparser', async (importOriginal) => {
  const original = await importOriginal<typeof import('mailparser')>();
  return {
    ...original,
    simpleParser: (...args: Parameters<typeof original.simpleParser>) => {
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : original.simpleParser(...args);
    },
  };
});

function limitError(message: string): Error {
  return Object.assign(new Error(message), { code: 'EMAXLEN' });
}

const RAW = multipartMessage('mixed', 'b', [textPart('first'), textPart('second')]);

afterEach(() => {
  failures.length = 0;
});

describe('mailparser limit errors', () => {
  test('child node limit becomes PARSE_LIMIT_PARTS', async () => {
    failures.push(limitError('Max allowed child nodes exceeded'));
    const parsed = await parseMessage(RAW);
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_PARTS']);
    expect(parsed.warnings).toEqual([
      'mailparser stopped at its maxChildNodes limit (set from maxParts: Max allowed child nodes exceeded); only the top-level headers were read',
    ]);
    expect(parsed.from[0]?.address).toBe('alice@example.com');
    expect(parsed.subject).toBe('Parts');
    expect(parsed.text).toBe('');
  });

  test('header size limit becomes PARSE_LIMIT_HEADERS', async () => {
    failures.push(limitError('Max header size for a MIME node exceeded'));
    const parsed = await parseMessage(RAW);
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADERS']);
    expect(parsed.warnings[0]).toContain('its maxHeadSize limit (set from maxHeaders');
  });

  test('other errors raise ParseError', async () => {
    failures.push(new Error('unexpected end of input'));
    const error = await parseMessage(RAW).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).message).toBe('mailparser could not parse the message: unexpected end of input');
  });

  test('failing header retry raises ParseError', async () => {
    failures.push(limitError('Max allowed child nodes exceeded'), new Error('still broken'));
    const error = await parseMessage(RAW).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).message).toBe('mailparser could not parse the message headers: still broken');
  });
});
