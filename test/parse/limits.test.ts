import { describe, expect, test } from 'vitest';
import { OptionsError } from '../../src/errors.js';
import { DEFAULT_PARSE_LIMITS, LIMIT_SYMBOLS, parseMessage, resolveParseLimits, type ParseLimits } from '../../src/parse/index.js';
import { entity, message, multipartMessage, nestedMessage, plainMessage, textPart } from './build.js';

describe('resolveParseLimits', () => {
  test('defaults are the documented values', () => {
    expect(resolveParseLimits()).toEqual({
      maxMessageBytes: 10_485_760,
      maxParts: 256,
      maxDepth: 16,
      maxHeaders: 512,
      maxHeaderLength: 16_384,
      maxHtmlLength: 2_000_000,
      maxLinks: 1_000,
    });
    expect(Object.isFrozen(DEFAULT_PARSE_LIMITS)).toBe(true);
  });

  test('overrides merge over defaults', () => {
    const limits = resolveParseLimits({ maxParts: 3, maxLinks: undefined });
    expect(limits.maxParts).toBe(3);
    expect(limits.maxLinks).toBe(DEFAULT_PARSE_LIMITS.maxLinks);
  });

  test('every limit has a symbol', () => {
    expect(Object.keys(LIMIT_SYMBOLS).sort()).toEqual(Object.keys(DEFAULT_PARSE_LIMITS).sort());
  });

  test('unknown name is rejected', () => {
    const call = () => resolveParseLimits({ maxPartz: 3 } as Partial<ParseLimits>);
    expect(call).toThrow(OptionsError);
    expect(call).toThrow(/Unknown parse limit "maxPartz"\. Known limits: maxMessageBytes, maxParts/);
    try {
      call();
    } catch (error) {
      expect((error as OptionsError).input).toBe('maxPartz');
      expect((error as OptionsError).code).toBe('SPAMWARD_INVALID_OPTION');
    }
  });

  test('inherited property name is unknown', () => {
    expect(() => resolveParseLimits({ toString: 3 } as Partial<ParseLimits>)).toThrow(/Unknown parse limit "toString"/);
  });

  test.each([
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['10', '"10"'],
    [null, 'null'],
    [true, 'true'],
  ])('value %j is rejected', (value, shown) => {
    const call = () => resolveParseLimits({ maxLinks: value as number });
    expect(call).toThrow(OptionsError);
    expect(call).toThrow(`Parse limit maxLinks must be a positive integer, got ${shown}.`);
  });

  test.each([
    ['maxDepth', 1_000],
    ['maxMessageBytes', 256 * 1024 * 1024],
  ] as const)('%s accepts at most %d', (name, max) => {
    expect(resolveParseLimits({ [name]: max })[name]).toBe(max);
    expect(() => resolveParseLimits({ [name]: max + 1 })).toThrow(`Parse limit ${name} must be at most ${max}, got ${max + 1}.`);
  });

  test('parseMessage rejects bad limits', async () => {
    await expect(parseMessage(plainMessage(), { maxLinks: 0 })).rejects.toBeInstanceOf(OptionsError);
  });
});

describe('maxMessageBytes', () => {
  const raw = plainMessage([], 'Body line.\r\n');
  const length = Buffer.byteLength(raw);

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxMessageBytes: length });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.text).toBe('Body line.\n');
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxMessageBytes: length - 1 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_SIZE']);
    expect(parsed.size).toBe(length);
    expect(parsed.text.trimEnd()).toBe('Body line.');
  });
});

describe('maxParts', () => {
  // Four entities: the multipart and three text parts.
  const raw = multipartMessage('mixed', 'p', [textPart('one'), textPart('two'), textPart('three')]);

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxParts: 4 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.parts).toHaveLength(4);
    expect(parsed.text).toBe('one\ntwo\nthree');
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxParts: 3 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_PARTS']);
    expect(parsed.parts).toHaveLength(3);
    expect(parsed.text).toBe('one\ntwo');
  });

  test('parts limit at an embedded message', async () => {
    const embedded = entity(['Content-Type: message/rfc822', 'Content-Disposition: inline'], message(['From: carol@example.org'], 'Inner text.\r\n'));
    const parsed = await parseMessage(multipartMessage('mixed', 'fwd', [textPart('outer'), embedded]), { maxParts: 3 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_PARTS']);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'text/plain', 'message/rfc822']);
    expect(parsed.text).toContain('outer');
    expect(parsed.text).not.toContain('Inner text.');
  });
});

describe('maxDepth', () => {
  const raw = nestedMessage(3);

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxDepth: 3 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.parts.map((part) => part.depth)).toEqual([0, 1, 2, 3]);
    expect(parsed.text).toBe('deep text');
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxDepth: 2 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_DEPTH']);
    expect(parsed.parts.map((part) => part.depth)).toEqual([0, 1, 2]);
    expect(parsed.text).not.toContain('deep text');
  });

  test('embedded message counts a level', async () => {
    const embedded = entity(['Content-Type: message/rfc822', 'Content-Disposition: inline'], message(['From: carol@example.org'], 'Inner text.\r\n'));
    const raw = multipartMessage('mixed', 'fwd', [embedded]);
    expect((await parseMessage(raw, { maxDepth: 2 })).limitsHit).toEqual([]);
    const cut = await parseMessage(raw, { maxDepth: 1 });
    expect(cut.limitsHit).toEqual(['PARSE_LIMIT_DEPTH']);
    expect(cut.text).not.toContain('Inner text.');
  });
});

describe('maxHeaders', () => {
  const raw = message(['From: alice@example.com', 'To: bob@example.com', 'X-Spam-Flag: YES', 'Subject: Last field'], 'Body.\r\n');

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxHeaders: 4 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.subject).toBe('Last field');
    expect(parsed.strippedHeaders).toHaveLength(1);
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxHeaders: 3 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADERS']);
    expect(parsed.headers.map((field) => field.name)).toEqual(['from', 'to']);
    expect(parsed.strippedHeaders.map((field) => field.name)).toEqual(['x-spam-flag']);
    expect(parsed.subject).toBe('');
    expect(parsed.text).toBe('Body.\n');
  });

  test('folded lines past the count are no hit', async () => {
    const folded = message(['From: alice@example.com', 'Subject: one', ' two', ' three', ' four'], 'Body.\r\n');
    const parsed = await parseMessage(folded, { maxHeaders: 2 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.subject).toBe('one two three four');
    expect(parsed.text).toBe('Body.\n');
  });

  const partHeaders = (lines: number) => Array.from({ length: lines }, (_, index) => `X-Part-${index}: value`);
  const withPartHeaders = (lines: number) => multipartMessage('mixed', 'h', [textPart('first'), entity([...partHeaders(lines - 1), 'Content-Type: text/plain'], 'second')]);

  test('part header lines at the bound', async () => {
    const parsed = await parseMessage(withPartHeaders(8), { maxHeaders: 8 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.text).toBe('first\nsecond');
  });

  test('part header lines one above', async () => {
    const parsed = await parseMessage(withPartHeaders(9), { maxHeaders: 8 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADERS']);
    expect(parsed.warnings).toEqual(['a MIME part has more than 8 header lines (maxHeaders); the message was cut before that part']);
    expect(parsed.parts).toHaveLength(2);
    expect(parsed.text).toBe('first');
  });
});

describe('maxHeaderLength', () => {
  const subject = 's'.repeat(40);
  const raw = message(['From: alice@example.com', `Subject: ${subject}`]);

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxHeaderLength: 40 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.subject).toBe(subject);
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxHeaderLength: 39 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADER_LENGTH']);
    expect(parsed.subject).toBe(subject.slice(0, 39));
    expect(parsed.headers[1]?.raw).toHaveLength(39);
  });

  test('folded value counts unfolded', async () => {
    // "alice@example.com" and "aaaaaaaa bbbbbbbb" are 17 characters each.
    const parsed = await parseMessage(message(['From: alice@example.com', 'Subject: aaaaaaaa', '    bbbbbbbb']), { maxHeaderLength: 17 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.subject).toBe('aaaaaaaa bbbbbbbb');
  });

  test('long field name is cut too', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', `X-${'n'.repeat(60)}: short`]), { maxHeaderLength: 50 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HEADER_LENGTH']);
    expect(parsed.headers[1]?.name).toHaveLength(50);
  });
});

describe('maxHtmlLength', () => {
  const html = '<p>Hello <a href="https://example.com/">there</a></p>';
  const raw = message(['From: alice@example.com', 'Content-Type: text/html'], html);

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxHtmlLength: html.length });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.html).toBe(html);
    expect(parsed.text).toContain('Hello');
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxHtmlLength: html.length - 1 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_HTML']);
    expect(parsed.html).toBe(html.slice(0, -1));
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toContain(`longer than maxHtmlLength (${html.length - 1} characters)`);
    // mailparser refused the conversion; the built-in converter reads the kept HTML.
    expect(parsed.text).toBe('Hello there');
    expect(parsed.links.map((link) => link.url)).toEqual(['https://example.com/']);
  });
});

describe('maxLinks', () => {
  const raw = plainMessage([], 'https://a.example.com/ https://b.example.com/ https://c.example.com/\r\n');

  test('at the bound', async () => {
    const parsed = await parseMessage(raw, { maxLinks: 3 });
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.links).toHaveLength(3);
  });

  test('one above', async () => {
    const parsed = await parseMessage(raw, { maxLinks: 2 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_LINKS']);
    expect(parsed.links.map((link) => link.host)).toEqual(['a.example.com', 'b.example.com']);
  });

  test('HTML links count first', async () => {
    const html = '<a href="https://a.example.com/">a</a><a href="https://b.example.com/">b</a> see https://c.example.com/';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: text/html'], html), { maxLinks: 2 });
    expect(parsed.limitsHit).toEqual(['PARSE_LIMIT_LINKS']);
    expect(parsed.links.map((link) => link.fromHtml)).toEqual([true, true]);
  });
});
