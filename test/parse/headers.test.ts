import { describe, expect, test } from 'vitest';
import { parseMessage } from '../../src/parse/index.js';
import { message, plainMessage } from './build.js';

describe('header fields', () => {
  test('keep their order and lower-case names', async () => {
    const parsed = await parseMessage(
      message([
        'Received: from relay.example.net ([192.0.2.1]) by mx.example.com',
        'Received: from client.example.org ([198.51.100.7]) by relay.example.net',
        'From: alice@example.com',
        'X-Custom-Header: one',
        'Subject: Order',
        'x-custom-header: two',
      ]),
    );
    expect(parsed.headers.map((field) => field.name)).toEqual(['received', 'received', 'from', 'x-custom-header', 'subject', 'x-custom-header']);
    expect(parsed.headers[0]?.raw).toBe('from relay.example.net ([192.0.2.1]) by mx.example.com');
    expect(parsed.headers[5]?.value).toBe('two');
  });

  test('raw keeps encoded-words, value decodes them', async () => {
    const parsed = await parseMessage(plainMessage(['X-Note: =?UTF-8?B?w6ljaG8=?= and =?ISO-8859-1?Q?caf=E9_cr=E8me?=']));
    const note = parsed.headers.find((field) => field.name === 'x-note');
    expect(note?.raw).toBe('=?UTF-8?B?w6ljaG8=?= and =?ISO-8859-1?Q?caf=E9_cr=E8me?=');
    expect(note?.value).toBe('écho and café crème');
  });

  test('encoded subject is decoded', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Wien']));
    expect(parsed.subject).toBe('Grüße aus Wien');
    expect(parsed.headers.find((field) => field.name === 'subject')?.raw).toBe('=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Wien');
  });

  test('folded field is unfolded', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Subject: first part', '  second part', '\tthird part', 'To: bob@example.com']));
    expect(parsed.subject).toBe('first part second part third part');
    expect(parsed.headers.map((field) => field.name)).toEqual(['from', 'subject', 'to']);
  });

  test('LF line ends work too', async () => {
    const parsed = await parseMessage('From: alice@example.com\nSubject: bare\n line feeds\n\nBody text.\n');
    expect(parsed.subject).toBe('bare line feeds');
    expect(parsed.text).toBe('Body text.\n');
  });

  test('mbox separator line is skipped', async () => {
    const parsed = await parseMessage('From alice@example.com Tue Aug 20 09:59:00 2002\r\nFrom: alice@example.com\r\nSubject: Hi\r\n\r\nBody\r\n');
    expect(parsed.headers.map((field) => field.name)).toEqual(['from', 'subject']);
    expect(parsed.subject).toBe('Hi');
  });
});

describe('addresses', () => {
  test('display names and lower case', async () => {
    const parsed = await parseMessage(
      message([
        'From: "Example, Alice" <Alice@Example.COM>',
        'To: Bob <bob@example.com>, carol@example.org',
        'Cc: =?UTF-8?Q?Ren=C3=A9?= <rene@example.net>',
        'Reply-To: replies@example.com',
        'Sender: bulk@example.com',
      ]),
    );
    expect(parsed.from).toEqual([{ name: 'Example, Alice', address: 'alice@example.com', domain: 'example.com' }]);
    expect(parsed.to).toEqual([
      { name: 'Bob', address: 'bob@example.com', domain: 'example.com' },
      { name: '', address: 'carol@example.org', domain: 'example.org' },
    ]);
    expect(parsed.cc).toEqual([{ name: 'René', address: 'rene@example.net', domain: 'example.net' }]);
    expect(parsed.replyTo).toEqual([{ name: '', address: 'replies@example.com', domain: 'example.com' }]);
    expect(parsed.sender).toEqual([{ name: '', address: 'bulk@example.com', domain: 'example.com' }]);
  });

  test('group members are flattened', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'To: Team: bob@example.com, Carol <carol@example.com>;, dave@example.org']));
    expect(parsed.to.map((entry) => entry.address)).toEqual(['bob@example.com', 'carol@example.com', 'dave@example.org']);
    expect(parsed.to[1]?.name).toBe('Carol');
  });

  test('empty group gives no address', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'To: undisclosed-recipients:;']));
    expect(parsed.to.filter((entry) => entry.address !== '')).toEqual([]);
  });

  test('missing fields give empty lists', async () => {
    const parsed = await parseMessage(message(['Subject: nobody']));
    expect(parsed.from).toEqual([]);
    expect(parsed.to).toEqual([]);
    expect(parsed.cc).toEqual([]);
    expect(parsed.replyTo).toEqual([]);
    expect(parsed.sender).toEqual([]);
  });

  test('address without domain', async () => {
    const parsed = await parseMessage(message(['From: postmaster']));
    expect(parsed.from[0]?.domain).toBe('');
  });
});

describe('Return-Path and Message-ID', () => {
  test('Return-Path is the bare lower-case address', async () => {
    const parsed = await parseMessage(plainMessage(['Return-Path: <Bounce+Tag@Example.COM>']));
    expect(parsed.returnPath).toBe('bounce+tag@example.com');
  });

  test('null Return-Path is empty', async () => {
    const parsed = await parseMessage(plainMessage(['Return-Path: <>']));
    expect(parsed.returnPath).toBe('');
  });

  test('missing Return-Path is empty', async () => {
    expect((await parseMessage(plainMessage())).returnPath).toBe('');
  });

  test('Message-ID keeps angle brackets', async () => {
    const parsed = await parseMessage(plainMessage(['Message-ID: <20020820.1234@mail.example.com>']));
    expect(parsed.messageId).toBe('<20020820.1234@mail.example.com>');
  });

  test('missing Message-ID is empty', async () => {
    expect((await parseMessage(plainMessage())).messageId).toBe('');
  });
});

describe('Date', () => {
  test('valid date is parsed', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Date: Tue, 20 Aug 2002 09:59:00 +0200']));
    expect(parsed.date?.toISOString()).toBe('2002-08-20T07:59:00.000Z');
    expect(parsed.dateRaw).toBe('Tue, 20 Aug 2002 09:59:00 +0200');
  });

  test('invalid date is null', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Date: the day after tomorrow']));
    expect(parsed.date).toBeNull();
    expect(parsed.dateRaw).toBe('the day after tomorrow');
  });

  test('malformed zone is null', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Date: Thu, 29 Aug 2002 15:36:58 +-0500']));
    expect(parsed.date).toBeNull();
  });

  test('missing date is null', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com']));
    expect(parsed.date).toBeNull();
    expect(parsed.dateRaw).toBe('');
  });

  test('empty date is null', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Date: ']));
    expect(parsed.date).toBeNull();
  });
});

describe('upstream filter headers', () => {
  test('X-Spam-* fields are stripped', async () => {
    const parsed = await parseMessage(
      plainMessage(['X-Spam-Status: Yes, score=9.1', 'X-Spam-Flag: YES', 'X-SPAM-LEVEL: *********', 'X-Spamd-Result: default: False [9.10 / 15.00]', 'X-Mailer: Example Mailer 1.0']),
    );
    expect(parsed.headers.map((field) => field.name)).toEqual(['from', 'to', 'subject', 'date', 'x-mailer']);
    expect(parsed.strippedHeaders.map((field) => field.name)).toEqual(['x-spam-status', 'x-spam-flag', 'x-spam-level', 'x-spamd-result']);
    expect(parsed.strippedHeaders[0]?.value).toBe('Yes, score=9.1');
  });

  test('no filter headers, nothing stripped', async () => {
    expect((await parseMessage(plainMessage())).strippedHeaders).toEqual([]);
  });

  test.each([
    ['[SPAM] Cheap watches', 'Cheap watches'],
    ['[ spam ] Cheap watches', 'Cheap watches'],
    ['***SPAM*** Cheap watches', 'Cheap watches'],
    ['** SPAM ** Cheap watches', 'Cheap watches'],
    ['{Spam?} Cheap watches', 'Cheap watches'],
    ['{SPAM} Cheap watches', 'Cheap watches'],
    ['SPAM: Cheap watches', 'Cheap watches'],
  ])('subject tag %j is removed', async (subject, expected) => {
    const parsed = await parseMessage(message(['From: alice@example.com', `Subject: ${subject}`]));
    expect(parsed.subject).toBe(expected);
    expect(parsed.originalSubject).toBe(subject);
  });

  test.each([
    ['Re: [SPAM] Cheap watches'],
    ['Spamalot tickets'],
    ['[Spamward] release notes'],
    ['Meeting notes'],
  ])('subject %j is kept', async (subject) => {
    const parsed = await parseMessage(message(['From: alice@example.com', `Subject: ${subject}`]));
    expect(parsed.subject).toBe(subject);
    expect(parsed.originalSubject).toBe(subject);
  });

  test('only the first tag is removed', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Subject: [SPAM] [SPAM] twice']));
    expect(parsed.subject).toBe('[SPAM] twice');
  });

  test('missing subject is empty', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com']));
    expect(parsed.subject).toBe('');
    expect(parsed.originalSubject).toBe('');
  });
});
