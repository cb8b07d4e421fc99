import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { DEFAULT_PARSE_LIMITS, parseMessage } from '../../src/parse/index.js';
import { entity, message, multipartBody, multipartMessage, nestedMessage, pseudoRandomBytes, textPart } from './build.js';

/** Generous bound for the large hostile inputs: they must finish, but speed belongs in benchmarks. */
const LARGE_INPUT_TIMEOUT = 60_000;

describe('empty and garbage input', () => {
  test.each([
    ['empty string', () => ''],
    ['empty Buffer', () => Buffer.alloc(0)],
    ['empty stream', () => Readable.from([])],
  ])('%s parses to an empty message', async (_name, input) => {
    const parsed = await parseMessage(input());
    expect(parsed.headers).toEqual([]);
    expect(parsed.text).toBe('');
    expect(parsed.size).toBe(0);
    expect(parsed.parts).toHaveLength(1);
    expect(parsed.limitsHit).toEqual([]);
  });

  test.each([1, 2, 3])('binary garbage (seed %i) parses', async (seed) => {
    const garbage = pseudoRandomBytes(64 * 1024, seed);
    const parsed = await parseMessage(garbage);
    expect(parsed.size).toBe(garbage.length);
    expect(parsed.limitsHit).toEqual([]);
  });

  test('NUL bytes and bare CRs parse', async () => {
    const parsed = await parseMessage(Buffer.from('From: alice@example.com\r\nSubject: a\0b\r\r\n\r\nbody\0\rtext\r\n', 'latin1'));
    expect(parsed.from[0]?.address).toBe('alice@example.com');
    expect(parsed.text).toContain('body');
  });
});

describe('missing parts of a message', () => {
  test('header block without body', async () => {
    const parsed = await parseMessage('From: alice@example.com\r\nSubject: No body');
    expect(parsed.subject).toBe('No body');
    expect(parsed.text).toBe('');
    expect(parsed.warnings).toEqual([]);
  });

  test('header block ending in an empty line', async () => {
    const parsed = await parseMessage('From: alice@example.com\r\nSubject: Empty body\r\n\r\n');
    expect(parsed.subject).toBe('Empty body');
    expect(parsed.text).toBe('');
  });

  test('body without headers is kept as the body', async () => {
    const parsed = await parseMessage('Dear friend\r\nI have a business proposal for you.\r\n');
    expect(parsed.headers).toEqual([]);
    expect(parsed.text).toBe('Dear friend\nI have a business proposal for you.\n');
    expect(parsed.warnings).toEqual(['message has no header fields; all of it was read as the body']);
  });

  test(
    '9 MB body line without headers',
    async () => {
      const parsed = await parseMessage('x'.repeat(9 * 1024 * 1024));
      expect(parsed.limitsHit).toEqual([]);
      expect(parsed.headers).toEqual([]);
      expect(parsed.text).toHaveLength(9 * 1024 * 1024);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test('body with an empty first line', async () => {
    const parsed = await parseMessage('\r\nOnly a body.\r\n\r\nSecond paragraph.\r\n');
    expect(parsed.headers).toEqual([]);
    expect(parsed.text).toBe('Only a body.\n\nSecond paragraph.\n');
    expect(parsed.warnings).toEqual([]);
  });
});

describe('broken multiparts', () => {
  test('no boundary parameter', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed'], multipartBody('b', [textPart('lost')])));
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed']);
    expect(parsed.warnings).toEqual(['multipart entity without a usable boundary (1)']);
  });

  test('missing closing delimiter', async () => {
    const body = '--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary=b'], body));
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'text/plain', 'text/plain']);
    expect(parsed.text).toBe('first\nsecond\n');
    expect(parsed.warnings).toEqual([]);
  });

  test('boundary never found', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary=absent'], multipartBody('other', [textPart('hidden')])));
    expect(parsed.parts).toHaveLength(1);
    expect(parsed.warnings).toEqual(['multipart entity without a usable boundary (1)']);
  });

  test('non-ASCII boundary counts as missing', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary="bé"'], multipartBody('bé', [textPart('x')])));
    expect(parsed.warnings).toEqual(['multipart entity without a usable boundary (1)']);
  });

  test('closing delimiter in the preamble is ignored', async () => {
    const body = `--b--\r\n${multipartBody('b', [textPart('after the early close')])}`;
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary=b'], body));
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'text/plain']);
    expect(parsed.text).toBe('after the early close');
  });

  test('inner multipart closed by the outer delimiter', async () => {
    const inner = entity(['Content-Type: multipart/alternative; boundary=inner'], '--inner\r\nContent-Type: text/plain\r\n\r\ninner text');
    const parsed = await parseMessage(multipartMessage('mixed', 'outer', [inner, textPart('outer text')]));
    expect(parsed.parts.map((part) => `${part.contentType}@${part.depth}`)).toEqual(['multipart/mixed@0', 'multipart/alternative@1', 'text/plain@2', 'text/plain@1']);
    expect(parsed.text).toBe('inner text\nouter text');
  });
});

describe('oversized headers', () => {
  test(
    '5 MB header line',
    async () => {
      const parsed = await parseMessage(message(['From: alice@example.com', `Subject: ${'a'.repeat(5 * 1024 * 1024)}`], 'Body after the long line.\r\n'));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADER_LENGTH']);
      expect(parsed.subject).toHaveLength(DEFAULT_PARSE_LIMITS.maxHeaderLength);
      expect(parsed.from[0]?.address).toBe('alice@example.com');
      expect(parsed.text).toBe('Body after the long line.\n');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '5 MB line without a colon',
    async () => {
      const parsed = await parseMessage(message(['From: alice@example.com', 'x'.repeat(5 * 1024 * 1024), 'Subject: After'], 'Body.\r\n'));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADER_LENGTH']);
      expect(parsed.headers.map((field) => field.name)).toEqual(['from', 'subject']);
      expect(parsed.text).toBe('Body.\n');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '9 MB of folding whitespace',
    async () => {
      const parsed = await parseMessage(message(['From: alice@example.com', `Subject: start\r\n${' '.repeat(9 * 1024 * 1024)}end`], 'Body.\r\n'));
      expect(parsed.limitsHit).toEqual([]);
      expect(parsed.subject).toBe('start end');
      expect(parsed.text).toBe('Body.\n');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '100,000 header fields',
    async () => {
      const fields = Array.from({ length: 100_000 }, (_, index) => `X-Filler-${index}: value ${index}`);
      const parsed = await parseMessage(message(['From: alice@example.com', ...fields], 'Body.\r\n'));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADERS']);
      expect(parsed.headers).toHaveLength(DEFAULT_PARSE_LIMITS.maxHeaders);
      expect(parsed.from[0]?.address).toBe('alice@example.com');
      expect(parsed.text).toBe('Body.\n');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '100,000 continuation lines',
    async () => {
      const parsed = await parseMessage(message(['From: alice@example.com', `Subject: start${'\r\n word'.repeat(100_000)}`], 'Body.\r\n'));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADER_LENGTH']);
      expect(parsed.subject).toHaveLength(DEFAULT_PARSE_LIMITS.maxHeaderLength);
      expect(parsed.text).toBe('Body.\n');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '200,000 lines folded into few fields',
    async () => {
      const fields = Array.from({ length: 400 }, (_, index) => `X-Folded-${index}: v${'\r\n a'.repeat(500)}`);
      const parsed = await parseMessage(message(['From: alice@example.com', ...fields], 'Body.\r\n'));
      expect(parsed.limitsHit).toEqual([]);
      expect(parsed.headers).toHaveLength(401);
      expect(parsed.text).toBe('Body.\n');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'parentheses in MIME fields',
    async () => {
      const part = entity([`Content-Transfer-Encoding: base64 ${'('.repeat(1_000_000)}`, `Content-Type: text/plain; charset="${'('.repeat(1_000_000)}`], 'aGk=');
      const parsed = await parseMessage(multipartMessage('mixed', 'p', [part, textPart('after')]));
      expect(parsed.parts[1]?.transferEncoding).toBe(`base64 ${'('.repeat(1_000_000)}`);
      expect(parsed.text).toContain('after');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'Return-Path of angle brackets',
    async () => {
      const parsed = await parseMessage(message(['From: alice@example.com', `Return-Path: ${'<'.repeat(16_000)}`]));
      expect(parsed.returnPath).toBe('<'.repeat(16_000));
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'part header of 300,000 lines',
    async () => {
      const hugePart = entity([...Array.from({ length: 300_000 }, () => 'X-A: a'), 'Content-Type: text/plain'], 'never read');
      const parsed = await parseMessage(multipartMessage('mixed', 'h', [textPart('before'), hugePart]));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADERS']);
      expect(parsed.text).toBe('before');
    },
    LARGE_INPUT_TIMEOUT,
  );
});

describe('oversized structure', () => {
  test(
    '1,000 nested multiparts',
    async () => {
      const parsed = await parseMessage(nestedMessage(1_000));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_DEPTH']);
      expect(parsed.warnings).toEqual([]);
      expect(parsed.parts).toHaveLength(DEFAULT_PARSE_LIMITS.maxDepth + 1);
      expect(Math.max(...parsed.parts.map((part) => part.depth))).toBe(DEFAULT_PARSE_LIMITS.maxDepth);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '1,000 nested embedded messages',
    async () => {
      let inner = message(['From: carol@example.org'], 'innermost\r\n');
      for (let level = 0; level < 1_000; level += 1) inner = entity(['Content-Type: message/rfc822', 'Content-Disposition: inline'], inner);
      const parsed = await parseMessage(message(['From: alice@example.com', 'Subject: Forwards'], '').replace('\r\n\r\n', `\r\n${inner}`));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_DEPTH']);
      expect(parsed.warnings).toEqual([]);
      expect(parsed.parts).toHaveLength(DEFAULT_PARSE_LIMITS.maxDepth + 1);
      expect(parsed.subject).toBe('Forwards');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '10,000 parts',
    async () => {
      const parts = Array.from({ length: 10_000 }, (_, index) => textPart(`part ${index}`));
      const parsed = await parseMessage(multipartMessage('mixed', 'many', parts));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_PARTS']);
      expect(parsed.warnings).toEqual([]);
      expect(parsed.parts).toHaveLength(DEFAULT_PARSE_LIMITS.maxParts);
      expect(parsed.text.split('\n')).toHaveLength(DEFAULT_PARSE_LIMITS.maxParts - 1);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '5,000 parts after a closing delimiter in the preamble',
    async () => {
      const body = `--b--\r\n${multipartBody('b', Array.from({ length: 5_000 }, () => textPart('x')))}`;
      const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary=b'], body));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_PARTS']);
      expect(parsed.warnings).toEqual([]);
      expect(parsed.parts).toHaveLength(DEFAULT_PARSE_LIMITS.maxParts);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    '10,000 sibling embedded messages',
    async () => {
      const embedded = entity(['Content-Type: message/rfc822', 'Content-Disposition: inline'], message(['From: carol@example.org'], 'x\r\n'));
      const parsed = await parseMessage(multipartMessage('mixed', 'fwd', Array.from({ length: 10_000 }, () => embedded)));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_PARTS']);
      expect(parsed.warnings).toEqual([]);
      expect(parsed.parts).toHaveLength(DEFAULT_PARSE_LIMITS.maxParts);
      expect(parsed.text).toContain('x');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'message over maxMessageBytes',
    async () => {
      const body = 'line of text\r\n'.repeat(1_000_000);
      const parsed = await parseMessage(message(['From: alice@example.com'], body));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_SIZE']);
      expect(parsed.size).toBeGreaterThan(DEFAULT_PARSE_LIMITS.maxMessageBytes);
      expect(parsed.text.length).toBeLessThanOrEqual(DEFAULT_PARSE_LIMITS.maxMessageBytes);
    },
    LARGE_INPUT_TIMEOUT,
  );
});

describe('hostile HTML', () => {
  const HTML_SIZE = 1_900_000;
  const repeatTo = (unit: string) => unit.repeat(Math.floor(HTML_SIZE / unit.length));
  const htmlMessage = (html: string) => message(['From: alice@example.com', 'Content-Type: text/html'], html);

  test(
    'unclosed anchors',
    async () => {
      const parsed = await parseMessage(htmlMessage(repeatTo('<a href="https://example.com/">')));
      expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_LINKS']);
      expect(parsed.links).toHaveLength(DEFAULT_PARSE_LIMITS.maxLinks);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'lone less-than signs',
    async () => {
      const parsed = await parseMessage(htmlMessage(repeatTo('<')));
      expect(parsed.htmlStats.visibleTextLength).toBe(HTML_SIZE);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'unclosed hidden elements',
    async () => {
      const parsed = await parseMessage(htmlMessage(repeatTo('<div style="display:none">x')));
      expect(parsed.htmlStats.hiddenElements).toBe(1);
      expect(parsed.htmlStats.hiddenTextLength).toBeGreaterThan(0);
      expect(parsed.warnings).toHaveLength(1);
      expect(parsed.warnings[0]).toContain('HTML nested deeper than');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'unclosed style elements',
    async () => {
      const parsed = await parseMessage(htmlMessage(`visible${repeatTo('<style>')}`));
      expect(parsed.htmlStats.visibleTextLength).toBe('visible'.length);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'one tag of many quoted values',
    async () => {
      const parsed = await parseMessage(htmlMessage(`<a href="https://example.com/" ${repeatTo("x='' ")}>link</a>`));
      expect(parsed.links[0]?.text).toBe('link');
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'huge style attribute',
    async () => {
      const parsed = await parseMessage(htmlMessage(`<div style="${repeatTo('height:0;')}">x</div>`));
      expect(parsed.htmlStats.hiddenElements).toBe(0);
    },
    LARGE_INPUT_TIMEOUT,
  );

  test(
    'URL followed by millions of dots',
    async () => {
      const parsed = await parseMessage(message(['From: alice@example.com'], `see http://example.com/${'.'.repeat(5_000_000)}x\r\n`));
      expect(parsed.links[0]?.host).toBe('example.com');
    },
    LARGE_INPUT_TIMEOUT,
  );
});
