import { describe, expect, test } from 'vitest';
import { parseMessage } from '../../src/parse/index.js';
import { attachmentPart, entity, htmlPart, message, multipart, multipartMessage, plainMessage, textPart } from './build.js';

const PE_HEADER = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62, 0x90), Buffer.from('This program cannot be run in DOS mode.')]);

describe('text bodies', () => {
  test('text/plain body is the text', async () => {
    const parsed = await parseMessage(plainMessage([], 'Hello Bob,\r\nsee you at noon.\r\n'));
    expect(parsed.text).toBe('Hello Bob,\nsee you at noon.\n');
    expect(parsed.html).toBe('');
    expect(parsed.parts).toEqual([{ contentType: 'text/plain', depth: 0, size: 'Hello Bob,\r\nsee you at noon.\r\n'.length, charset: '', transferEncoding: '', disposition: '', filename: '' }]);
  });

  test('quoted-printable and charset are decoded', async () => {
    const parsed = await parseMessage(
      message(['From: alice@example.com', 'Content-Type: text/plain; charset=ISO-8859-1', 'Content-Transfer-Encoding: quoted-printable'], 'Caf=E9 au lait=\r\n, s=\r\nvp.\r\n'),
    );
    expect(parsed.text).toBe('Café au lait, svp.\n');
    expect(parsed.parts[0]?.charset).toBe('iso-8859-1');
    expect(parsed.parts[0]?.transferEncoding).toBe('quoted-printable');
  });

  test('HTML-only body is converted to text', async () => {
    const html = '<html><head><title>Offer</title><style>p { color: red; }</style></head><body><p>Hello <b>Bob</b>,</p><p>Your invoice is ready.</p></body></html>';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: text/html; charset=utf-8'], html));
    expect(parsed.html).toBe(html);
    expect(parsed.text).toContain('Hello Bob');
    expect(parsed.text).toContain('Your invoice is ready.');
    expect(parsed.text).not.toContain('color: red');
  });

  test('multipart/alternative keeps both', async () => {
    const parsed = await parseMessage(multipartMessage('alternative', 'alt-1', [textPart('Plain version.'), htmlPart('<p>HTML version.</p>')]));
    expect(parsed.text).toBe('Plain version.');
    expect(parsed.html).toBe('<p>HTML version.</p>');
    expect(parsed.parts.map((part) => [part.contentType, part.depth])).toEqual([
      ['multipart/alternative', 0],
      ['text/plain', 1],
      ['text/html', 1],
    ]);
  });

  test('nested multiparts list their depths', async () => {
    const alternative = multipart('alternative', 'inner-alt', [textPart('Plain.'), htmlPart('<p>Rich.</p>')]);
    const related = multipart('related', 'inner-rel', [alternative, attachmentPart('logo.png', 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]))]);
    const parsed = await parseMessage(multipartMessage('mixed', 'outer', [related, attachmentPart('notes.txt', 'text/plain', Buffer.from('notes'))]));
    expect(parsed.parts.map((part) => `${part.contentType}@${part.depth}`)).toEqual([
      'multipart/mixed@0',
      'multipart/related@1',
      'multipart/alternative@2',
      'text/plain@3',
      'text/html@3',
      'image/png@2',
      'text/plain@1',
    ]);
    expect(parsed.parts.filter((part) => part.contentType.startsWith('multipart/')).every((part) => part.size === 0)).toBe(true);
    expect(parsed.parts[5]?.filename).toBe('logo.png');
    expect(parsed.parts[6]?.disposition).toBe('attachment');
    expect(parsed.limitsHit).toEqual([]);
    expect(parsed.warnings).toEqual([]);
  });

  test('inline message/rfc822 is walked into', async () => {
    const embedded = entity(['Content-Type: message/rfc822', 'Content-Disposition: inline'], message(['From: carol@example.org', 'Subject: Inner'], 'Forwarded text.\r\n'));
    const parsed = await parseMessage(multipartMessage('mixed', 'fwd', [textPart('See below.'), embedded]));
    expect(parsed.parts.map((part) => `${part.contentType}@${part.depth}`)).toEqual(['multipart/mixed@0', 'text/plain@1', 'message/rfc822@1', 'text/plain@2']);
    expect(parsed.text).toContain('Forwarded text.');
  });

  test('part without headers is text/plain', async () => {
    const body = '--b\r\n\r\nFirst part.\r\n\r\nStill first.\r\n--b\r\nContent-Type: text/plain\r\n\r\nSecond.\r\n--b--\r\n';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary=b'], body));
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'text/plain', 'text/plain']);
    expect(parsed.parts[1]?.size).toBe('First part.\r\n\r\nStill first.'.length);
    expect(parsed.text).toContain('Still first.');
  });

  test('boundary must match the whole line', async () => {
    const body = '--abc\r\nContent-Type: text/plain\r\n\r\nOne.\r\n--abcd\r\nnot a delimiter\r\n--abc--\r\n';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary=abc'], body));
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'text/plain']);
    expect(parsed.warnings).toEqual([]);
  });

  test('boundary in RFC 2231 pieces', async () => {
    const body = '--abcd\r\nContent-Type: text/plain\r\n\r\nOne.\r\n--abcd--\r\n';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: multipart/mixed; boundary*0=ab; boundary*1=cd'], body));
    expect(parsed.parts.map((part) => part.contentType)).toEqual(['multipart/mixed', 'text/plain']);
    expect(parsed.text).toBe('One.');
  });
});

describe('attachments', () => {
  test('declared PDF with an MZ header sniffs as executable', async () => {
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('Invoice attached.'), attachmentPart('invoice.pdf', 'application/pdf', PE_HEADER)]));
    expect(parsed.attachments).toEqual([{ filename: 'invoice.pdf', declaredType: 'application/pdf', sniffedType: 'application/x-msdownload', size: PE_HEADER.length }]);
  });

  test('honest PDF sniffs as PDF', async () => {
    const pdf = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n', 'latin1');
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('Report.'), attachmentPart('report.pdf', 'application/pdf', pdf)]));
    expect(parsed.attachments[0]?.sniffedType).toBe('application/pdf');
    expect(parsed.attachments[0]?.size).toBe(pdf.length);
  });

  test('unknown content sniffs as empty', async () => {
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('Data.'), attachmentPart('data.bin', 'application/octet-stream', Buffer.from('plain words'))]));
    expect(parsed.attachments[0]?.sniffedType).toBe('');
    expect(parsed.attachments[0]?.declaredType).toBe('application/octet-stream');
  });

  test('declared type is lower case', async () => {
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('Zip.'), attachmentPart('a.zip', 'Application/ZIP', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0]))]));
    expect(parsed.attachments[0]?.declaredType).toBe('application/zip');
    expect(parsed.attachments[0]?.sniffedType).toBe('application/zip');
  });

  test('RFC 2231 file name is decoded', async () => {
    const part = entity(
      ['Content-Type: application/pdf', "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20final.pdf", 'Content-Transfer-Encoding: base64'],
      Buffer.from('%PDF-1.4').toString('base64'),
    );
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('CV.'), part]));
    expect(parsed.attachments[0]?.filename).toBe('résumé final.pdf');
    expect(parsed.parts[2]?.filename).toBe('résumé final.pdf');
  });

  test('RFC 2231 continuations are joined', async () => {
    const part = entity(
      ['Content-Type: application/octet-stream', 'Content-Disposition: attachment;', " filename*0*=UTF-8''quarterly%20;", ' filename*1="report ";', ' filename*2*=%C3%BCbersicht.xlsx', 'Content-Transfer-Encoding: base64'],
      Buffer.from('data').toString('base64'),
    );
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('Report.'), part]));
    expect(parsed.attachments[0]?.filename).toBe('quarterly report übersicht.xlsx');
    expect(parsed.parts[2]?.filename).toBe('quarterly report übersicht.xlsx');
  });

  test('encoded-word file name is decoded', async () => {
    const part = entity(
      ['Content-Type: application/octet-stream; name="=?UTF-8?B?w7xiZXIuZXhl?="', 'Content-Transfer-Encoding: base64'],
      PE_HEADER.toString('base64'),
    );
    const parsed = await parseMessage(multipartMessage('mixed', 'att', [textPart('Tool.'), part]));
    expect(parsed.attachments[0]?.filename).toBe('über.exe');
    expect(parsed.parts[2]?.filename).toBe('über.exe');
  });

  test('no attachments, empty list', async () => {
    expect((await parseMessage(plainMessage())).attachments).toEqual([]);
  });
});

describe('links', () => {
  test('HTML links carry anchor text and host', async () => {
    const html = '<p><a href="https://www.Example.com/login?id=1&amp;x=2">Sign <b>in</b> here</a> or <A HREF=\'http://example.net/\'>there</A></p>';
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: text/html'], html));
    expect(parsed.links.filter((link) => link.fromHtml)).toEqual([
      { url: 'https://www.Example.com/login?id=1&x=2', host: 'www.example.com', text: 'Sign in here', fromHtml: true },
      { url: 'http://example.net/', host: 'example.net', text: 'there', fromHtml: true },
    ]);
  });

  test('HTML link URLs are not repeated from the converted text', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: text/html'], '<a href="https://example.com/a">Open</a>'));
    expect(parsed.links.map((link) => link.url)).toEqual(['https://example.com/a']);
  });

  test('plain-text URLs drop trailing punctuation', async () => {
    const parsed = await parseMessage(plainMessage([], 'Visit https://example.org/path?q=1. Or www.example.net/start, or (http://192.0.2.4/x)!\r\n'));
    expect(parsed.links).toEqual([
      { url: 'https://example.org/path?q=1', host: 'example.org', text: '', fromHtml: false },
      { url: 'www.example.net/start', host: 'www.example.net', text: '', fromHtml: false },
      { url: 'http://192.0.2.4/x', host: '192.0.2.4', text: '', fromHtml: false },
    ]);
  });

  test('links from both parts of an alternative', async () => {
    const parsed = await parseMessage(
      multipartMessage('alternative', 'alt', [textPart('Go to https://example.org/text'), htmlPart('<a href="https://example.com/html">Go</a>')]),
    );
    expect(parsed.links.map((link) => [link.url, link.fromHtml])).toEqual([
      ['https://example.com/html', true],
      ['https://example.org/text', false],
    ]);
  });

  test('anchor without href is no link', async () => {
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: text/html'], '<a name="top">Top</a>'));
    expect(parsed.links).toEqual([]);
  });
});

describe('HTML statistics', () => {
  test('hidden and same-colour text is counted', async () => {
    const html = [
      '<html><body><p>Visible offer text.</p>',
      '<div style="display:none">hidden words here</div>',
      '<span style="font-size:0px">tiny</span>',
      '<p style="color:#fff; background-color:#ffffff">white on white</p>',
      '<img src="cid:logo"><img src="https://example.com/pixel.gif">',
      '<form action="https://example.com/post"><input name="password"></form>',
      '<script>var hidden = "not text";</script>',
      '</body></html>',
    ].join('');
    const parsed = await parseMessage(message(['From: alice@example.com', 'Content-Type: text/html'], html));
    expect(parsed.htmlStats).toEqual({
      length: html.length,
      visibleTextLength: 'Visible offer text. hidden words here tiny white on white'.length,
      hiddenElements: 2,
      hiddenTextLength: 'hidden words here'.length + 'tiny'.length + 'white on white'.length,
      images: 2,
      forms: 1,
      scripts: 1,
      invisibleColourText: 1,
    });
  });

  test('plain message has zero stats', async () => {
    const stats = (await parseMessage(plainMessage())).htmlStats;
    expect(stats.length).toBe(0);
    expect(stats.hiddenElements).toBe(0);
    expect(stats.visibleTextLength).toBe(0);
  });
});
