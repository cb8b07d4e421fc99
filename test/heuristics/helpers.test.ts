import { describe, expect, test } from 'vitest';
import { RuleContext } from '../../src/heuristics/context.js';
import { isRfc5322Date, parseMailDate } from '../../src/heuristics/dates.js';
import { domainOf, isIpHost, organisationalDomain, sameOrganisation } from '../../src/domains.js';
import { countWordSplits, decodeEncodedWords } from '../../src/heuristics/text.js';
import { parseMessage } from '../../src/parse/index.js';
import { mail } from './messages.js';

describe('parseMailDate', () => {
  test.each([
    ['Tue, 20 Aug 2002 10:00:00 +0000', '2002-08-20T10:00:00.000Z'],
    ['20 Aug 2002 03:00:00 -0700 (PDT)', '2002-08-20T10:00:00.000Z'],
    ['Tue, 20 Aug 02 03:00 PDT', '2002-08-20T10:00:00.000Z'],
    ['by mx.example.com; 20 August 2002 10:00:00', '2002-08-20T10:00:00.000Z'],
    ['1 Jan 99 00:00:00 GMT', '1999-01-01T00:00:00.000Z'],
  ])('%s', (text, expected) => {
    expect(new Date(parseMailDate(text) ?? Number.NaN).toISOString()).toBe(expected);
  });

  test.each(['', 'yesterday', '2002-08-20 10:00:00', '32 Aug 2002 10:00:00', '20 Foo 2002 10:00:00', '20 Aug 2002 25:00:00'])('rejects %j', (text) => {
    expect(parseMailDate(text)).toBeNull();
  });
});

describe('isRfc5322Date', () => {
  test.each(['Tue, 20 Aug 2002 10:00:00 +0000', '20 Aug 2002 10:00 -0700', 'Tue, 20 Aug 02 10:00:00 EDT (Eastern)', 'Tue,20 Aug 2002 10:00:00 Z'])('accepts %j', (value) => {
    expect(isRfc5322Date(value)).toBe(true);
  });

  test.each(['2002-08-20T10:00:00Z', 'Tue Aug 20 10:00:00 2002', 'Tue, 20 Aug 2002 10:00:00', 'Tue, 20 Aug 2002 10:00:00 +0000 trailing'])('rejects %j', (value) => {
    expect(isRfc5322Date(value)).toBe(false);
  });
});

describe('domains', () => {
  test.each([
    ['mail.example.com', 'example.com'],
    ['a.b.example.co.uk', 'example.co.uk'],
    ['example.com.', 'example.com'],
    ['Example.ORG', 'example.org'],
    ['localhost', 'localhost'],
    ['192.0.2.1', '192.0.2.1'],
    ['[2001:db8::1]', '2001:db8::1'],
  ])('organisationalDomain(%s)', (host, expected) => {
    expect(organisationalDomain(host)).toBe(expected);
  });

  test.each(['192.0.2.1', '[2001:db8::1]', '2001:db8::1', '0xc0000201', '3221225985', '0300.0.2.1', '[IPv6:2001:db8::1]'])('isIpHost(%s)', (host) => {
    expect(isIpHost(host)).toBe(true);
  });

  test.each(['', 'example.com', '1.example.com', 'xn--exmple-cua.com'])('not isIpHost(%j)', (host) => {
    expect(isIpHost(host)).toBe(false);
  });

  test('sameOrganisation', () => {
    expect(sameOrganisation('news.example.com', 'example.com')).toBe(true);
    expect(sameOrganisation('example.com', 'example.net')).toBe(false);
    expect(sameOrganisation('', '')).toBe(false);
  });

  test('domainOf', () => {
    expect(domainOf('Alice@Mail.Example.ORG')).toBe('mail.example.org');
    expect(domainOf('no-at-sign')).toBe('');
  });
});

describe('text helpers', () => {
  test('decodeEncodedWords', () => {
    expect(decodeEncodedWords('=?utf-8?Q?Caf=C3=A9?= and =?iso-8859-1?B?SGk=?=')).toBe('Café Hi');
    expect(decodeEncodedWords('plain')).toBe('');
  });

  test.each([
    ['V\u200bi\u200bagra', 2],
    ['\u0412\u200b\u0438\u200b\u0430', 2],
    ['word \u200c\u00a0 word', 0],
    ['\ufeffHello', 0],
    ['\u{1f468}\u200d\u{1f469}', 0],
    ['\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645', 0],
  ])('countWordSplits(%j)', (text, expected) => {
    expect(countWordSplits(text)).toBe(expected);
  });
});

describe('RuleContext', () => {
  test('receivedTime uses the topmost dated Received', async () => {
    const message = await parseMessage(
      mail({
        Received: [
          'from relay.example.net by mx.example.com (no date here)',
          'from a.example.net by relay.example.net; Tue, 20 Aug 2002 12:00:00 +0200',
          'from b.example.net by a.example.net; Mon, 19 Aug 2002 08:00:00 +0000',
        ],
      }),
    );
    expect(new RuleContext(message).receivedTime).toBe(Date.UTC(2002, 7, 20, 10, 0, 0));
  });

  test('receivedTime is null without dates', async () => {
    const message = await parseMessage(mail({ Received: null }));
    expect(new RuleContext(message).receivedTime).toBeNull();
  });

  test('headers are looked up by lower-case name', async () => {
    const message = await parseMessage(mail({ 'X-Custom': ['one', 'two'] }));
    const context = new RuleContext(message);
    expect(context.headers('x-custom').map((field) => field.value)).toEqual(['one', 'two']);
    expect(context.header('x-custom')).toBe('one');
    expect(context.hasHeader('x-missing')).toBe(false);
    expect(context.header('x-missing')).toBe('');
  });

  test('memo computes once', async () => {
    const context = new RuleContext(await parseMessage(mail()));
    let calls = 0;
    const compute = () => {
      calls += 1;
      return calls;
    };
    expect(context.memo('test.key', compute)).toBe(1);
    expect(context.memo('test.key', compute)).toBe(1);
    expect(calls).toBe(1);
  });

  test('text is cut at MAX_SCANNED_CHARS', async () => {
    const context = new RuleContext(await parseMessage(mail({}, 'x'.repeat(150_000))));
    expect(context.text.length).toBe(100_000);
  });
});
