import { decode as decodeWithLibmime } from 'libmime/lib/charset.js';
import { describe, expect, test } from 'vitest';
import { parseFast } from '../../src/parse/fast.js';
import { decodeBase64, decodeCharset, decodeQuotedPrintable } from '../../src/parse/fast-decode.js';
import { convertHtmlToText } from '../../src/parse/fast-html-text.js';
import { DEFAULT_PARSE_LIMITS, parseWithMailparser as parseBytes, resolveParseLimits, type ParseLimits, type ParsedMessage } from '../../src/parse/index.js';

/** Fields that parseFast must return exactly as parseBytes does when no HTML is converted to text. */
const EXACT_FIELDS = [
  'headers',
  'strippedHeaders',
  'from',
  'replyTo',
  'sender',
  'to',
  'cc',
  'returnPath',
  'subject',
  'originalSubject',
  'messageId',
  'date',
  'dateRaw',
  'text',
  'html',
  'htmlStats',
  'links',
  'attachments',
  'parts',
  'size',
  'limitsHit',
  'warnings',
] as const satisfies ReadonlyArray<keyof ParsedMessage>;

function bytesOf(raw: string | Buffer): Buffer {
  return typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
}

/** Parses with both paths; the fast one must not return null. */
async function parseBoth(raw: string | Buffer, limits: Readonly<ParseLimits> = DEFAULT_PARSE_LIMITS): Promise<{ fast: ParsedMessage; reference: ParsedMessage }> {
  const bytes = bytesOf(raw);
  const read = bytes.subarray(0, limits.maxMessageBytes);
  const reference = await parseBytes(read, bytes.length, limits);
  const fast = parseFast(read, bytes.length, limits);
  if (fast === null) throw new Error('parseFast returned null');
  return { fast, reference };
}

/** Asserts that every field in EXACT_FIELDS is equal, naming the field that differs. */
async function expectSameAsReference(raw: string | Buffer, limits: Readonly<ParseLimits> = DEFAULT_PARSE_LIMITS): Promise<ParsedMessage> {
  const { fast, reference } = await parseBoth(raw, limits);
  for (const field of EXACT_FIELDS) expect({ field, value: fast[field] }).toEqual({ field, value: reference[field] });
  return fast;
}

/** Like expectSameAsReference, but leaves out `text` and `links` when the message has HTML that may have been converted. */
function expectSameFields(fast: ParsedMessage, reference: ParsedMessage): void {
  const fields = reference.html === '' ? EXACT_FIELDS : EXACT_FIELDS.filter((field) => field !== 'text' && field !== 'links');
  for (const field of fields) expect({ field, value: fast[field] }).toEqual({ field, value: reference[field] });
}

/** A linear congruential generator, so that generated cases are the same on every run. */
class SeededRandom {
  constructor(private state: number) {}

  below(limit: number): number {
    this.state = (this.state * 1103515245 + 12345) % 2 ** 31;
    return Math.floor((this.state / 2 ** 31) * limit);
  }

  pick<T>(choices: readonly T[]): T {
    return choices[this.below(choices.length)] as T;
  }
}

function mail(headers: string, body: string): string {
  return `From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: test\r\nDate: Tue, 2 Jul 2024 10:00:00 +0000\r\nMessage-ID: <1@example.com>\r\n${headers}\r\n${body}`;
}

function multipart(parts: string[], type = 'mixed', boundary = 'b1'): string {
  return mail(`MIME-Version: 1.0\r\nContent-Type: multipart/${type}; boundary="${boundary}"\r\n`, `preamble\r\n${parts.map((part) => `--${boundary}\r\n${part}\r\n`).join('')}--${boundary}--\r\n`);
}

describe('decodeQuotedPrintable', () => {
  test('joins soft line breaks', () => {
    expect(decodeQuotedPrintable('abc=\r\ndef=\nghi=').toString('latin1')).toBe('abcdefghi');
  });

  test('decodes escapes in either case', () => {
    expect([...decodeQuotedPrintable('=C3=a9=3D')]).toEqual([0xc3, 0xa9, 0x3d]);
  });

  test('drops blanks before a line break', () => {
    expect(decodeQuotedPrintable('a \t\r\nb  \nc ').toString('latin1')).toBe('a\r\nb\nc');
  });

  test('keeps invalid escapes and 8-bit bytes', () => {
    expect(decodeQuotedPrintable('=ZZ=4\xe9').toString('latin1')).toBe('=ZZ=4\xe9');
  });

  test('escape split by a soft break', () => {
    expect([...decodeQuotedPrintable('==\nA=\nB')]).toEqual([0xab]);
  });
});

describe('decodeBase64', () => {
  test('ignores whitespace and line breaks', () => {
    expect(decodeBase64(['SGVs\r\nbG8g\n  d29y bGQ=\r\n']).toString()).toBe('Hello world');
  });

  test('ignores characters outside the alphabet', () => {
    expect(decodeBase64(['SGVs*bG8-_!']).toString()).toBe('Hello');
  });

  test('decodes a body without padding', () => {
    expect(decodeBase64(['SGVsbG8']).toString()).toBe('Hello');
  });

  test('decodes padded segments one by one', () => {
    expect(decodeBase64(['QUJDRA==RUY=']).toString()).toBe('ABCDEF');
  });

  test('carries a partial group to the next chunk', () => {
    expect(decodeBase64(['SGVsb', 'G8gd29ybGQ=']).toString()).toBe('Hello world');
  });
});

describe('decodeCharset', () => {
  const cases: Array<[string, number[], string]> = [
    ['iso-8859-1', [0x63, 0x61, 0x66, 0xe9], 'caf\u00e9'],
    ['ISO-8859-1', [0x80], '\u20ac'],
    ['windows-1252', [0x93, 0x94], '\u201c\u201d'],
    ['iso-8859-2', [0xb1], '\u0105'],
    ['koi8-r', [0xf0, 0xd2, 0xc9], '\u041f\u0440\u0438'],
    ['windows-1251', [0xcf], '\u041f'],
    ['gb2312', [0xc4, 0xe3], '\u4f60'],
    ['big5', [0xa4, 0xa4], '\u4e2d'],
    ['shift_jis', [0x82, 0xa0], '\u3042'],
    ['euc-kr', [0xb0, 0xa1], '\uac00'],
    ['ks_c_5601-1987', [0xb0, 0xa1], '\uac00'],
    ['iso-2022-jp', [0x1b, 0x24, 0x42, 0x24, 0x22, 0x1b, 0x28, 0x42], '\u3042'],
    ['utf-8', [0xe2, 0x82, 0xac], '\u20ac'],
    ['us-ascii', [0x41], 'A'],
    ['x-unknown-charset', [0xe2, 0x82, 0xac], '\u20ac'],
    ['', [0xff], '\ufffd'],
  ];
  test.each(cases)('%s', (charset, bytes, expected) => {
    expect(decodeCharset(Buffer.from(bytes), charset)).toBe(expected);
  });

  const asciiCases: Array<[string, string]> = [
    ['hz-gb-2312', 'a~{<:~}b'],
    ['utf-16le', 'AB'],
    ['iso-2022-jp', '\x1b$B$"\x1b(B'],
    ['utf-7', '+AGE-'],
    ['iso-8859-15', 'plain'],
  ];
  test.each(asciiCases)('ASCII bytes in %s', (charset, text) => {
    const bytes = Buffer.from(text, 'latin1');
    expect(decodeCharset(bytes, charset)).toBe(decodeWithLibmime(bytes, charset));
  });
});

describe('convertHtmlToText', () => {
  test('link targets after anchor text', () => {
    expect(convertHtmlToText('<body><a href="http://x.example/a">click</a> <a href="mailto:a@b.example">mail</a></body>')).toBe('click [http://x.example/a] mail [a@b.example]');
  });

  test('images as alt and source', () => {
    expect(convertHtmlToText('<img src="http://i.example/x.gif" alt="Logo"><img src="y.gif">')).toBe('Logo [http://i.example/x.gif][y.gif]');
  });

  test('joins inline elements and breaks blocks', () => {
    expect(convertHtmlToText('<p>V<b>i</b>agra</p><div>next</div><td>a</td><td>b</td>')).toBe('Viagra\nnext\nab');
  });

  test('reads only the body when there is one', () => {
    expect(convertHtmlToText('<head><title>T</title><style>p{}</style></head><body>in<script>x()</script></body>out')).toBe('in');
  });

  test('stray end tag closes the body', () => {
    expect(convertHtmlToText('<font><body>a</font>b</body>c')).toBe('a');
  });

  test('decodes character references', () => {
    expect(convertHtmlToText('caf&eacute; &amp; &#8364;&#x41;&#147; &unknown;')).toBe('caf\u00e9 & \u20acA\u201c &unknown;');
  });

  test('list items only inside lists', () => {
    expect(convertHtmlToText('<ul><li>one<li>two</ul><li><font>three<li>four</font>')).toBe('one\ntwo\nthreefour');
  });

  test('upper-cases headings', () => {
    expect(convertHtmlToText('<h1>Big news</h1>small')).toBe('BIG NEWS\nsmall');
  });
});

describe('parseFast against parseBytes', () => {
  test('plain message', async () => {
    const fast = await expectSameAsReference(mail('', 'Hello, see http://example.com/a.\r\n'));
    expect(fast.text).toBe('Hello, see http://example.com/a.\n');
  });

  test('addresses, groups and encoded names', async () => {
    const raw = mail(
      'Cc: undisclosed-recipients:;\r\nCc: Team: =?utf-8?B?SsO2cmc=?= <Joerg@Example.DE>, "Q, R" <q@r.example>;\r\nReply-To: =?iso-8859-1?q?Andr=E9?= <andre@example.net>\r\nSender: <sender@example.com>\r\nTo: a@x.example, B <b@y.example>\r\n',
      'body\r\n',
    );
    const fast = await expectSameAsReference(raw);
    expect(fast.cc.map((address) => address.name)).toContain('J\u00f6rg');
  });

  test('punycode address domain', async () => {
    await expectSameAsReference(mail('Reply-To: user@xn--bcher-kva.example\r\n', 'body\r\n'));
  });

  test('quoted-printable with soft breaks', async () => {
    const fast = await expectSameAsReference(mail('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n', 'caf=E9 au lait, long line=\r\n continued  \r\nend=\r\n'));
    expect(fast.text).toBe('caf\u00e9 au lait, long line continued\nend');
  });

  test('base64 text with whitespace', async () => {
    const body = Buffer.from('B\u00e4ume und Str\u00e4ucher\n', 'utf8').toString('base64').replace(/(.{8})/g, '$1\r\n ');
    await expectSameAsReference(mail('Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n', `${body}\r\n`));
  });

  test('format=flowed text', async () => {
    await expectSameAsReference(mail('Content-Type: text/plain; format=flowed; delsp=yes\r\n', 'one two \r\nthree\r\n> quoted \r\n> more\r\n'));
  });

  const charsetCases: Array<[string, number[]]> = [
    ['iso-8859-1', [0x63, 0x61, 0x66, 0xe9, 0x80]],
    ['windows-1252', [0x80, 0x93, 0x94]],
    ['koi8-r', [0xf0, 0xd2, 0xc9]],
    ['shift_jis', [0x82, 0xa0, 0x82, 0xa2]],
    ['iso-2022-jp', [0x1b, 0x24, 0x42, 0x24, 0x22, 0x1b, 0x28, 0x42]],
    ['gb2312', [0xc4, 0xe3, 0xba, 0xc3]],
    ['big5', [0xa4, 0xa4, 0xa4, 0xe5]],
    ['euc-kr', [0xb0, 0xa1]],
    ['utf-16le', [0x41, 0x00, 0x42, 0x00]],
    ['unknown-8bit', [0xe9, 0x41]],
  ];
  test.each(charsetCases)('text in %s', async (charset, bytes) => {
    const raw = Buffer.concat([Buffer.from(mail(`Content-Type: text/plain; charset="${charset}"\r\nContent-Transfer-Encoding: 8bit\r\n`, ''), 'latin1'), Buffer.from(bytes), Buffer.from('\r\n')]);
    await expectSameAsReference(raw);
  });

  test('alternative text and HTML', async () => {
    const fast = await expectSameAsReference(
      multipart(['Content-Type: text/plain\r\n\r\nplain words', 'Content-Type: text/html\r\n\r\n<p>html <a href="http://h.example/">words</a></p>'], 'alternative'),
    );
    expect(fast.html).toBe('<p>html <a href="http://h.example/">words</a></p>');
  });

  test('attachments with RFC 2231 file names', async () => {
    const pdf = Buffer.from('%PDF-1.4 test').toString('base64');
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]).toString('base64');
    const fast = await expectSameAsReference(
      multipart([
        'Content-Type: text/plain\r\n\r\nsee attached',
        `Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC%20invoice.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${pdf}`,
        `Content-Type: application/octet-stream; name="=?utf-8?Q?r=C3=A9sum=C3=A9.zip?="\r\nContent-Transfer-Encoding: base64\r\n\r\n${zip}`,
        `Content-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*0*=utf-8''long%20;\r\n filename*1="name.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAA==`,
      ]),
    );
    expect(fast.attachments.map((attachment) => attachment.filename)).toEqual(['\u20ac invoice.pdf', 'r\u00e9sum\u00e9.zip', 'long name.exe']);
    expect(fast.attachments.map((attachment) => attachment.sniffedType)).toEqual(['application/pdf', 'application/zip', 'application/x-msdownload']);
  });

  test('nested multiparts, headerless part', async () => {
    await expectSameAsReference(
      multipart([
        'Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--inner\r\nContent-Type: text/html\r\n\r\n<b>inner</b>\r\n--inner--',
        '\r\nno headers here',
        'Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example',
      ]),
    );
  });

  test('HTML body with text footer', async () => {
    const { fast, reference } = await parseBoth(multipart(['Content-Type: text/html\r\n\r\n<p>Buy <b>now</b></p>', 'Content-Type: text/plain\r\n\r\nlist footer']));
    expect(fast.text).toBe('Buy now\nlist footer');
    expect(reference.text).toContain('list footer');
    expect(fast.html).toBe(reference.html);
  });

  test('HTML-only message', async () => {
    const { fast, reference } = await parseBoth(mail('Content-Type: text/html\r\n', '<html><body><p>Cheap <a href="http://spam.example/">pills</a></p></body></html>\r\n'));
    expect(fast.text).toBe('Cheap pills [http://spam.example/]');
    expect(fast.links).toEqual(reference.links);
    expect(fast.html).toBe(reference.html);
  });

  test('limits on parts, depth and headers', async () => {
    const deep = multipart(['Content-Type: multipart/mixed; boundary=c2\r\n\r\n--c2\r\nContent-Type: multipart/mixed; boundary=c3\r\n\r\n--c3\r\n\r\ndeep\r\n--c3--\r\n--c2--']);
    await expectSameAsReference(deep, resolveParseLimits({ maxDepth: 1 }));
    const many = multipart(Array.from({ length: 20 }, (_, index) => `Content-Type: text/plain\r\n\r\npart ${index}`));
    await expectSameAsReference(many, resolveParseLimits({ maxParts: 5 }));
    await expectSameAsReference(mail(`X-Long: ${'x'.repeat(300)}\r\n`, 'body\r\n'), resolveParseLimits({ maxHeaderLength: 100, maxHeaders: 4 }));
    const longPartHeader = multipart(['Content-Type: text/plain\r\n\r\nfirst', `${'X-Part: 1\r\n'.repeat(40)}Content-Type: text/plain\r\n\r\nsecond`]);
    await expectSameAsReference(longPartHeader, resolveParseLimits({ maxHeaders: 20 }));
  });

  test('HTML and link limits', async () => {
    const html = `<p>${Array.from({ length: 30 }, (_, index) => `<a href="http://l${index}.example/">l${index}</a>`).join(' ')}</p>`;
    await expectSameAsReference(multipart(['Content-Type: text/plain\r\n\r\ntext', `Content-Type: text/html\r\n\r\n${html}`], 'alternative'), resolveParseLimits({ maxLinks: 10, maxHtmlLength: 200 }));
    const { fast, reference } = await parseBoth(mail('Content-Type: text/html\r\n', html), resolveParseLimits({ maxHtmlLength: 100 }));
    expect(fast.limitsHit).toEqual(reference.limitsHit);
    expect(fast.warnings).toEqual(reference.warnings);
    expect(fast.text).toBe(reference.text);
  });

  test('truncated message', async () => {
    const raw = Buffer.from(mail('', 'x'.repeat(500)), 'latin1');
    const limits = resolveParseLimits({ maxMessageBytes: 300 });
    await expectSameAsReference(raw, limits);
  });

  test('upstream spam headers and subject tag', async () => {
    const fast = await expectSameAsReference(
      'X-Spam-Status: Yes, score=9\r\nFrom: a@b.example\r\nSubject: [SPAM] offer\r\nDate: 1 Jan 2024 00:00 GMT\r\n\r\nbody\r\n',
    );
    expect(fast.subject).toBe('offer');
    expect(fast.strippedHeaders.map((field) => field.name)).toEqual(['x-spam-status']);
  });

  test('obsolete and invalid dates', async () => {
    await expectSameAsReference(mail('', 'b\r\n').replace('Tue, 2 Jul 2024 10:00:00 +0000', 'Tue, 2 Jul 24 10:00:00 EDT'));
    const fast = await expectSameAsReference(mail('', 'b\r\n').replace('Tue, 2 Jul 2024 10:00:00 +0000', 'not a date'));
    expect(fast.date).toBeNull();
  });

  test('inline message/rfc822 defers', () => {
    const raw = multipart(['Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\nFrom: x@y.example\r\nSubject: inner\r\n\r\ninner body']);
    expect(parseFast(bytesOf(raw), raw.length, DEFAULT_PARSE_LIMITS)).toBeNull();
  });
});

describe('parseFast on bad input', () => {
  /** Runs parseFast and, when it does not defer, checks it against parseBytes. */
  async function expectSafe(raw: string | Buffer): Promise<void> {
    const bytes = bytesOf(raw);
    const fast = parseFast(bytes, bytes.length, DEFAULT_PARSE_LIMITS);
    if (fast === null) return;
    const reference = await parseBytes(bytes, bytes.length, DEFAULT_PARSE_LIMITS);
    expectSameFields(fast, reference);
  }

  test('empty input', async () => {
    await expectSafe('');
    expect(parseFast(Buffer.alloc(0), 0, DEFAULT_PARSE_LIMITS)?.parts).toHaveLength(1);
  });

  test('random bytes', async () => {
    const random = new SeededRandom(7);
    await expectSafe(Buffer.from(Array.from({ length: 4096 }, () => random.below(256))));
  });

  test('headers without a body', async () => {
    await expectSafe('From: a@b.example\r\nSubject: no body');
    await expectSafe('From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n');
  });

  test('broken boundaries', async () => {
    await expectSafe(mail('Content-Type: multipart/mixed; boundary="never"\r\n', '--other\r\nContent-Type: text/plain\r\n\r\nlost\r\n'));
    await expectSafe(mail('Content-Type: multipart/mixed\r\n', '--x\r\n\r\nno boundary parameter\r\n'));
    await expectSafe(mail('Content-Type: multipart/mixed; boundary=a\r\n', '--a\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nunclosed inner\r\n--a\r\n\r\nafter\r\n'));
    await expectSafe(mail('Content-Type: multipart/mixed; boundary=a\r\n', '--a--\r\n--a\r\nContent-Type: text/plain\r\n--a\r\n\r\nx\r\n--a\r\n\r\r\n--a--'));
  });

  test('huge header', async () => {
    await expectSafe(mail(`X-Huge: ${'a'.repeat(2_000_000)}\r\n`, 'body\r\n'));
    await expectSafe(mail('X-Many: 1\r\n'.repeat(20_000), 'body\r\n'));
  });

  test('deep nesting and many parts', async () => {
    let nested = 'Content-Type: text/plain\r\n\r\ncore';
    for (let level = 0; level < 60; level += 1) nested = `Content-Type: multipart/mixed; boundary=n${level}\r\n\r\n--n${level}\r\n${nested}\r\n--n${level}--`;
    await expectSafe(mail('MIME-Version: 1.0\r\n', '').replace('MIME-Version: 1.0\r\n\r\n', `MIME-Version: 1.0\r\n${nested}`));
    await expectSafe(multipart(Array.from({ length: 1500 }, () => '\r\np')));
  });

  test('deeply nested HTML', async () => {
    await expectSafe(mail('Content-Type: text/html\r\n', '<div>'.repeat(5000)));
  });
});

describe('parseFast on generated MIME structures', () => {
  const LINE_BREAKS = ['\r\n', '\r\n', '\n', '\r\r\n', '\n\r'];
  const BODY_LINES = ['hello world', '', '  ', 'caf\xe9 =C3=A9 soft=', 'SGVsbG8gd29y', 'bGQ=', 'QQ==QQ', '--b1', '--b2--', '--b1 ', '=', 'x=\t', 'http://link.example/path', '\xff\xfe'];

  function body(random: SeededRandom): string {
    return Array.from({ length: random.below(5) }, () => random.pick(BODY_LINES)).join(random.pick(LINE_BREAKS));
  }

  /** Builds one entity with random headers, nesting, delimiters and line breaks; message/rfc822 is left out. */
  function entity(random: SeededRandom, depth: number): string {
    const eol = random.pick(LINE_BREAKS);
    if (depth < 3 && random.below(10) < 3) {
      const boundary = random.pick(['b1', 'b2', 'b3', `b${depth}`, 'x y']);
      const typeLine = random.pick([
        `Content-Type: multipart/${random.pick(['mixed', 'alternative', 'related'])}; boundary="${boundary}"`,
        `content-type: MULTIPART/mixed;${eol}\tboundary=${boundary.replace(' ', '_')} (comment)`,
        `Content-Type: multipart/mixed; boundary*0="${boundary.slice(0, 1)}"; boundary*1="${boundary.slice(1)}"`,
        `Content-Type: multipart/mixed; boundary="${boundary}  "`,
      ]);
      let text = `${typeLine}${eol}${random.pick(['', `X-Other: 1${eol}`])}${eol}${random.below(3) === 0 ? `preamble${eol}` : ''}`;
      const children = random.below(4);
      for (let index = 0; index < children; index += 1) {
        text += `--${boundary}${random.pick(['', ' ', '\t'])}${random.pick(LINE_BREAKS)}${entity(random, depth + 1)}${random.pick(LINE_BREAKS)}`;
      }
      if (random.below(10) < 8) text += `--${boundary}--${random.pick(['', ' '])}${random.below(2) === 0 ? random.pick(LINE_BREAKS) : ''}`;
      if (random.below(10) < 3) text += `epilogue${eol}--${boundary}${eol}`;
      return text;
    }
    const type = random.pick(['text/plain', 'text/html', 'application/octet-stream', 'image/gif', 'message/delivery-status', '', 'text/plain; format=flowed', 'TEXT/PLAIN; name="=?utf-8?q?a=C3=A9.txt?="']);
    const encoding = random.pick(['', '7bit', 'base64', 'quoted-printable', '8bit', 'x-uuencode', '"base64"']);
    const disposition = random.pick(['', '', 'inline', 'attachment; filename="a.txt"', 'garbage', "attachment; filename*=utf-8''%E2%82%AC.pdf"]);
    const charset = random.pick(['', 'iso-8859-1', 'utf-8', 'windows-1252', 'koi8-r']);
    let headers = '';
    if (type !== '' || random.below(2) === 0) headers += `Content-Type: ${type}${charset === '' ? '' : `; charset=${charset}`}${eol}`;
    if (encoding !== '') headers += `Content-Transfer-Encoding: ${encoding}${eol}`;
    if (disposition !== '') headers += `Content-Disposition: ${disposition}${eol}`;
    // Now and then a header block without the empty line that ends it.
    return random.below(10) === 0 ? headers + body(random) : headers + eol + body(random);
  }

  test('same fields as parseBytes', async () => {
    const random = new SeededRandom(11);
    let compared = 0;
    for (let index = 0; index < 400; index += 1) {
      const eol = random.pick(LINE_BREAKS);
      const raw = `From: a@b.example${eol}Subject: case ${index}${eol}MIME-Version: 1.0${eol}${entity(random, 0)}`;
      const bytes = Buffer.from(raw, 'latin1');
      const fast = parseFast(bytes, bytes.length, DEFAULT_PARSE_LIMITS);
      if (fast === null) continue;
      compared += 1;
      expectSameFields(fast, await parseBytes(bytes, bytes.length, DEFAULT_PARSE_LIMITS));
    }
    expect(compared).toBeGreaterThan(380);
  });
});
