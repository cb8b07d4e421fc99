/**
 * Builders for small raw messages. `mail()` starts from a plain, well-formed
 * message that fires no rule, and each test changes only what it is about.
 */

export type HeaderOverrides = Record<string, string | string[] | null>;

/** A plain-text message between two example.org/example.com people, received one minute after its Date. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  Received: 'from mail.example.org (mail.example.org [192.0.2.10]) by mx.example.com with ESMTPS id 4F2A1; Tue, 20 Aug 2002 10:00:00 +0000',
  'Return-Path': '<alice@example.org>',
  From: 'Alice Example <alice@example.org>',
  To: 'Bob Example <bob@example.com>',
  Subject: 'Notes from the meeting',
  Date: 'Tue, 20 Aug 2002 09:59:00 +0000',
  'Message-ID': '<20020820095900.1234@mail.example.org>',
  'MIME-Version': '1.0',
  'Content-Type': 'text/plain; charset=us-ascii',
};

export const BASE_BODY = 'Hi Bob,\n\nHere are the notes from the meeting today. We agreed to ship the release on Friday.\n\nAlice\n';

/**
 * Returns a raw message with CRLF line ends. `headers` replaces base fields
 * by name (null removes one, an array repeats it) and adds new ones at the end.
 */
export function mail(headers: HeaderOverrides = {}, body: string = BASE_BODY): string {
  const merged: HeaderOverrides = { ...BASE_HEADERS, ...headers };
  const lines: string[] = [];
  for (const [name, value] of Object.entries(merged)) {
    if (value === null) continue;
    for (const single of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${single}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`;
}

/** Returns one MIME body part with its headers. */
export function part(headers: Record<string, string>, body: string): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `${lines.join('\n')}\n\n${body}`;
}

/** Returns a multipart message: the base headers with a multipart Content-Type, and the parts. */
export function multipart(subtype: string, parts: string[], headers: HeaderOverrides = {}, boundary = 'b-1'): string {
  return mail({ 'Content-Type': `multipart/${subtype}; boundary="${boundary}"`, ...headers }, multipartBody(parts, boundary));
}

export function multipartBody(parts: string[], boundary: string): string {
  return `${parts.map((entry) => `--${boundary}\n${entry}\n`).join('')}--${boundary}--\n`;
}

/** Returns an attachment part with base64 content. */
export function attachment(filename: string, contentType: string, content: Buffer): string {
  return part(
    {
      'Content-Type': `${contentType}; name="${filename}"`,
      'Content-Disposition': `attachment; filename="${filename}"`,
      'Content-Transfer-Encoding': 'base64',
    },
    content.toString('base64'),
  );
}

export function textPart(text: string): string {
  return part({ 'Content-Type': 'text/plain; charset=utf-8' }, text);
}

export function htmlPart(html: string): string {
  return part({ 'Content-Type': 'text/html; charset=utf-8' }, html);
}

/** Returns a multipart/alternative message with `text` as the plain-text part and `html` as the HTML part. */
export function htmlMail(html: string, text: string, headers: HeaderOverrides = {}): string {
  return multipart('alternative', [textPart(text), htmlPart(html)], headers);
}

/** Returns an RFC 2047 base64 encoded-word for `text`. */
export function encodedWord(text: string): string {
  return `=?utf-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

/** First bytes of file formats, for attachments that sniff as that format. */
export const CONTENT = {
  exe: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(62, 0x90)]),
  pdf: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n'),
  zip: Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(40, 0x01)]),
  text: Buffer.from('Plain notes, nothing else.\n'),
  html: Buffer.from('<html><body><p>Statement</p></body></html>\n'),
};
