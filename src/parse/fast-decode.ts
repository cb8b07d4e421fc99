import { isAscii } from 'node:buffer';
import libmime from 'libmime';
import { decode as decodeCharsetWithLibmime } from 'libmime/lib/charset.js';

/**
 * Content decoders for the fast parse path. Each returns what mailparser
 * 3.14 returns for a body fed the way parseBytes feeds it. parseBytes passes
 * the message as one Buffer, so a part body reaches its decoder in one chunk,
 * or in two when it runs to the end of the input. Base64 is decoded as
 * libbase64 1.4 decodes it, quoted-printable as libqp 3.0 decodes it, and
 * charsets through libmime 5.6, the code mailparser itself calls.
 *
 * Charsets go through libmime's charset module (iconv-lite and
 * encoding-japanese underneath) rather than `TextDecoder`, because the two
 * disagree: on Node 20, for two-byte samples, they decode windows-1252
 * (its undefined bytes), big5, shift_jis, euc-kr and euc-jp differently,
 * and TextDecoder rejects labels that mail uses and libmime resolves
 * (`win-1251`, `latin-2`) or reads as UTF-8 (`default`, `unknown-8bit`).
 */

/** Characters libbase64's stream decoder keeps; everything else in a body is dropped. */
const NOT_BASE64 = /[^A-Za-z0-9+/=]/g;
/** A base64 character, or one of the URL-safe alphabet, after the first `=`: libbase64 then decodes segment by segment. */
const BASE64_DATA = /[a-zA-Z0-9+/\-_]/;
/** Space and tab runs in front of a line break or the end of the body, which QP drops. */
const QP_TRAILING_BLANKS = /(^|[^ \t])[ \t]+(?=[\n\r]|$)/g;
/** Soft line breaks: `=` before a line break or at the end of the body. */
const QP_SOFT_BREAK = /[=](?:\r?\n|$)/g;
/** Charset labels that mailparser reads as UTF-8 without a decoder, compared without punctuation. */
const UTF8_LABELS = new Set(['ascii', 'usascii', 'utf8']);
/** A UTF-16 surrogate code unit, paired or not. */
const SURROGATE = /[\ud800-\udfff]/;

/**
 * ASCII text that probes whether a charset decodes ASCII bytes as ASCII:
 * every 7-bit byte once, then the escapes of stateful 7-bit charsets
 * (ISO-2022 shifts, HZ `~{`), which such a charset decodes differently.
 */
const ASCII_PROBE = Buffer.concat([Buffer.from(Array.from({ length: 128 }, (_, byte) => byte)), Buffer.from('~{a~}~~+-+AGE-\x1b$B\x1b(B\x0e\x0f', 'latin1')]);
const ASCII_PROBE_TEXT = ASCII_PROBE.toString('latin1');
/** Charset labels seen so far, and whether each decodes ASCII unchanged; cleared when it grows past this size. */
const MAX_REMEMBERED_LABELS = 256;
const asciiTransparentLabels = new Map<string, boolean>();

/** Returns true when libmime decodes ASCII text in `label` as the same text, so 7-bit content can skip the decoder. */
function keepsAscii(label: string): boolean {
  let known = asciiTransparentLabels.get(label);
  if (known === undefined) {
    known = decodeCharsetWithLibmime(ASCII_PROBE, label) === ASCII_PROBE_TEXT;
    if (asciiTransparentLabels.size >= MAX_REMEMBERED_LABELS) asciiTransparentLabels.clear();
    asciiTransparentLabels.set(label, known);
  }
  return known;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x41 + 10;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/** Decodes stripped base64 as libbase64's `decode` does: segment by segment when `=` comes before more data. */
function decodeBase64Segments(input: string): Buffer {
  const padding = input.indexOf('=');
  if (padding === -1 || !BASE64_DATA.test(input.slice(padding))) return Buffer.from(input, 'base64');
  const output = Buffer.alloc(Math.floor((input.length * 3) / 4));
  let length = 0;
  for (let start = 0; start <= input.length; ) {
    let end = input.indexOf('=', start);
    if (end === -1) end = input.length;
    if (end > start) length += output.write(input.substring(start, end), length, 'base64');
    start = end + 1;
  }
  return output.subarray(0, length);
}

/**
 * Decodes a base64 body that reaches the decoder in `chunks` (latin1
 * strings), as libbase64's stream decoder does. Characters outside the
 * base64 alphabet are dropped. Each chunk is decoded up to its last `=` plus
 * whole groups of four, and the rest waits for the next chunk. Only a body
 * with `=` in the middle decodes differently than in one piece.
 */
export function decodeBase64(chunks: readonly string[]): Buffer {
  const decoded: Buffer[] = [];
  let carried = '';
  for (const chunk of chunks) {
    if (chunk === '') continue;
    let data = (carried + chunk).replace(NOT_BASE64, '');
    carried = '';
    let padded = '';
    const lastPad = data.lastIndexOf('=');
    if (lastPad >= 0) {
      padded = data.slice(0, lastPad + 1);
      data = data.slice(lastPad + 1);
    }
    const rest = data.length < 4 ? data.length : data.length % 4;
    carried = data.slice(data.length - rest);
    data = padded + data.slice(0, data.length - rest);
    if (data !== '') decoded.push(decodeBase64Segments(data));
  }
  if (carried !== '') decoded.push(decodeBase64Segments(carried));
  return decoded.length === 1 ? (decoded[0] as Buffer) : Buffer.concat(decoded);
}

/**
 * Decodes a quoted-printable body given as a latin1 string: blanks before a
 * line break are dropped, then soft line breaks, then `=XX` escapes are
 * decoded (either case). Anything else, a lone `=` or raw 8-bit bytes
 * included, is copied as it is.
 */
export function decodeQuotedPrintable(body: string): Buffer {
  const input = body.replace(QP_TRAILING_BLANKS, '$1').replace(QP_SOFT_BREAK, '');
  const length = input.length;
  const output = Buffer.allocUnsafe(length);
  let written = 0;
  for (let index = 0; index < length; index += 1) {
    const code = input.charCodeAt(index);
    if (code === 0x3d && index < length - 2) {
      const high = hexValue(input.charCodeAt(index + 1));
      const low = hexValue(input.charCodeAt(index + 2));
      if (high >= 0 && low >= 0) {
        output[written] = high * 16 + low;
        written += 1;
        index += 2;
        continue;
      }
    }
    output[written] = code;
    written += 1;
  }
  return output.subarray(0, written);
}

/**
 * Decodes a body by its Content-Transfer-Encoding, which the caller gives in
 * lower case. `raw` is the message text. The body reaches the decoder as the
 * chunks `[start, split)` and `[split, end)`, as mailparser's splitter
 * passes it, and only base64 decoding depends on that split. Encodings other
 * than base64 and quoted-printable pass through, as they do in mailparser.
 */
export function decodeTransfer(raw: string, start: number, split: number, end: number, encoding: string): Buffer {
  if (encoding === 'base64') return decodeBase64([raw.slice(start, split), raw.slice(split, end)]);
  const body = raw.slice(start, end);
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return Buffer.from(body, 'latin1');
}

/** Joins format=flowed soft line breaks (RFC 3676), on bytes, before the charset is decoded. */
export function decodeFlowedBytes(bytes: Buffer, delSp: boolean): Buffer {
  if (bytes.length === 0) return bytes;
  return Buffer.from(libmime.decodeFlowed(bytes.toString('latin1'), delSp), 'latin1');
}

/**
 * Decodes text bytes in `charset` (the Content-Type parameter as written,
 * or an empty string) into a string, as mailparser does before it
 * normalises line breaks. No charset, US-ASCII and UTF-8 are read as UTF-8
 * and any other label goes through libmime. Unpaired surrogates become
 * U+FFFD, because mailparser passes the text through UTF-8 once more.
 */
export function decodeCharset(bytes: Buffer, charset: string): string {
  const label = charset === '' ? 'utf-8' : charset;
  if (UTF8_LABELS.has(label.toLowerCase().replace(/[^a-z0-9]+/g, ''))) return bytes.toString('utf8');
  if (isAscii(bytes) && keepsAscii(label)) return bytes.toString('latin1');
  const text = decodeCharsetWithLibmime(bytes, label);
  return SURROGATE.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text;
}
