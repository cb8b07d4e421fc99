/**
 * Builders for small raw messages in the parse tests. Every builder returns
 * CRLF line ends unless the caller passes its own text.
 */

/** Joins header lines and a body into a message with CRLF line ends. */
export function message(headers: string[], body = 'Hello.\r\n'): string {
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** Returns a plain-text message from alice@example.com to bob@example.com, with `headers` added after the base fields. */
export function plainMessage(headers: string[] = [], body = 'Hello Bob.\r\n'): string {
  return message(['From: Alice <alice@example.com>', 'To: bob@example.com', 'Subject: Hello', 'Date: Tue, 20 Aug 2002 09:59:00 +0000', ...headers], body);
}

/** Returns one MIME entity: header lines, an empty line and the body. */
export function entity(headers: string[], body: string): string {
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}

/** Returns the body of a multipart entity with the given parts and a closing delimiter. */
export function multipartBody(boundary: string, parts: string[]): string {
  return `${parts.map((part) => `--${boundary}\r\n${part}\r\n`).join('')}--${boundary}--\r\n`;
}

/** Returns a multipart entity (headers and body) of the given subtype. */
export function multipart(subtype: string, boundary: string, parts: string[], headers: string[] = []): string {
  return entity([`Content-Type: multipart/${subtype}; boundary="${boundary}"`, ...headers], multipartBody(boundary, parts));
}

/** Returns a top-level multipart message from alice@example.com. */
export function multipartMessage(subtype: string, boundary: string, parts: string[]): string {
  return multipart(subtype, boundary, parts, ['From: alice@example.com', 'To: bob@example.com', 'Subject: Parts', 'MIME-Version: 1.0']);
}

/** Returns a text/plain entity. */
export function textPart(text: string): string {
  return entity(['Content-Type: text/plain; charset=utf-8'], text);
}

/** Returns a text/html entity. */
export function htmlPart(html: string): string {
  return entity(['Content-Type: text/html; charset=utf-8'], html);
}

/** Returns a base64 attachment entity with the declared type and file name. */
export function attachmentPart(filename: string, contentType: string, content: Buffer): string {
  return entity(
    [`Content-Type: ${contentType}; name="${filename}"`, `Content-Disposition: attachment; filename="${filename}"`, 'Content-Transfer-Encoding: base64'],
    content.toString('base64'),
  );
}

/** Returns a message of multiparts nested `levels` deep below the top level, with one text part at the bottom. */
export function nestedMessage(levels: number, leaf = textPart('deep text')): string {
  let inner = leaf;
  for (let level = levels - 1; level >= 0; level -= 1) inner = multipart('mixed', `level-${level}`, [inner]);
  return `From: alice@example.com\r\nSubject: Nested\r\n${inner}`;
}

/** Returns deterministic pseudo-random bytes, so that a failing garbage case can be reproduced. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index += 1) {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}
