import { Readable } from 'node:stream';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import libmime from 'libmime';
import { describeError, ParseError } from '../errors.js';
import { extractHtmlLinks, extractTextLinks, hostOf, scanHtml } from './html.js';
import { DEFAULT_PARSE_LIMITS, LIMIT_SYMBOLS, resolveParseLimits, type ParseLimits } from './limits.js';
import { splitHeaderBlock, walkMime } from './mime.js';
import { sniffContentType } from './sniff.js';
import type { Address, HeaderField, Link, ParsedMessage } from './types.js';

export type { Address, Attachment, Envelope, HeaderField, HtmlStats, Link, MimePart, ParsedMessage } from './types.js';
export { DEFAULT_PARSE_LIMITS, LIMIT_SYMBOLS, resolveParseLimits, type ParseLimits } from './limits.js';

/** Anything a message can be read from. */
export type RawMessage = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

/** Headers that an upstream filter adds with its own verdict; never features. */
const UPSTREAM_FILTER_HEADER = /^x-spam/i;
/** Subject tags that upstream filters prepend, such as `[SPAM]`, `***SPAM***` or `{Spam?}`. */
const UPSTREAM_SUBJECT_TAG = /^\s*(?:\[\s*spam\s*\]|\*{2,3}\s*spam\s*\*{2,3}|\{\s*spam\??\s*\}|spam\s*:)\s*/i;

/**
 * Reads a raw message into bytes, stopping at `maxBytes`. Returns the bytes
 * kept and the full size seen, so a truncated stream still reports its size.
 */
export async function readRaw(raw: RawMessage, maxBytes: number): Promise<{ bytes: Buffer; size: number }> {
  if (typeof raw === 'string') {
    const bytes = Buffer.from(raw, 'utf8');
    return { bytes: bytes.subarray(0, maxBytes), size: bytes.length };
  }
  if (raw instanceof Uint8Array) {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    return { bytes: bytes.subarray(0, maxBytes), size: bytes.length };
  }
  const chunks: Buffer[] = [];
  let kept = 0;
  let size = 0;
  for await (const chunk of raw as AsyncIterable<Uint8Array | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
    size += buffer.length;
    if (kept < maxBytes) {
      const slice = buffer.subarray(0, maxBytes - kept);
      chunks.push(slice);
      kept += slice.length;
    }
  }
  return { bytes: Buffer.concat(chunks, kept), size };
}

interface HeaderScan {
  fields: HeaderField[];
  countLimitHit: boolean;
  lengthLimitHit: boolean;
}

function decodeHeaderValue(raw: string): string {
  if (!raw.includes('=?')) return raw;
  try {
    return libmime.decodeWords(raw);
  } catch {
    return raw;
  }
}

/** Reads the top-level header block into fields, applying the count and length limits. */
function scanHeaders(block: string, limits: ParseLimits): HeaderScan {
  const scan: HeaderScan = { fields: [], countLimitHit: false, lengthLimitHit: false };
  const lines = block.split(/\r?\n/);
  let current: string | null = null;
  const flush = (): void => {
    if (current === null) return;
    const colon = current.indexOf(':');
    if (colon > 0) {
      if (scan.fields.length >= limits.maxHeaders) {
        scan.countLimitHit = true;
      } else {
        let raw = current.slice(colon + 1).trim();
        if (raw.length > limits.maxHeaderLength) {
          raw = raw.slice(0, limits.maxHeaderLength);
          scan.lengthLimitHit = true;
        }
        const name = current.slice(0, colon).trim().toLowerCase();
        scan.fields.push({ name, raw, value: decodeHeaderValue(raw) });
      }
    }
    current = null;
  };
  for (const line of lines) {
    if (/^[ \t]/.test(line) && current !== null) {
      // Stop growing a folded field far past the limit instead of joining megabytes.
      if (current.length <= limits.maxHeaderLength * 2) current += ` ${line.trim()}`;
      else scan.lengthLimitHit = true;
    } else {
      flush();
      // The mbox separator line ("From sender date") is not a header field.
      if (scan.fields.length === 0 && line.startsWith('From ')) continue;
      current = line;
    }
  }
  flush();
  return scan;
}

function toAddresses(value: AddressObject | AddressObject[] | undefined): Address[] {
  if (!value) return [];
  const objects = Array.isArray(value) ? value : [value];
  const addresses: Address[] = [];
  for (const object of objects) {
    for (const entry of object.value) {
      const members = entry.group ?? [entry];
      for (const member of members) {
        const address = (member.address ?? '').toLowerCase();
        const at = address.lastIndexOf('@');
        addresses.push({ name: member.name ?? '', address, domain: at === -1 ? '' : address.slice(at + 1) });
      }
    }
  }
  return addresses;
}

function angleAddress(value: string): string {
  const match = /<([^>]*)>/.exec(value);
  return (match ? (match[1] ?? '') : value).trim().toLowerCase();
}

function firstValue(fields: HeaderField[], name: string): string {
  return fields.find((field) => field.name === name)?.value ?? '';
}

/** Rebuilds the header block from the fields kept, so mailparser sees the same limits. */
function rebuildHeaderBlock(fields: HeaderField[]): string {
  return fields.map((field) => `${field.name}: ${field.raw}`).join('\r\n');
}

/**
 * Parses a raw message. Limits that are hit truncate the input and are
 * listed in `limitsHit`; malformed structure is listed in `warnings`. It
 * throws only a ParseError when mailparser itself rejects the bytes, which
 * the scorer turns into a `PARSE_FAILED` symbol.
 */
export async function parseMessage(raw: RawMessage, limitOverrides: Partial<ParseLimits> = {}): Promise<ParsedMessage> {
  const limits = limitOverrides === DEFAULT_PARSE_LIMITS ? DEFAULT_PARSE_LIMITS : resolveParseLimits(limitOverrides);
  const { bytes, size } = await readRaw(raw, limits.maxMessageBytes);
  return parseBytes(bytes, size, limits);
}

export async function parseBytes(bytes: Buffer, size: number, limits: Readonly<ParseLimits>): Promise<ParsedMessage> {
  const limitsHit = new Set<string>();
  const warnings: string[] = [];
  if (size > bytes.length) limitsHit.add(LIMIT_SYMBOLS.maxMessageBytes);

  // latin1 maps each byte to one character, so offsets in the string are byte offsets.
  let text = bytes.toString('latin1');
  const { header: headerBlock, bodyStart } = splitHeaderBlock(text);
  const headerScan = scanHeaders(headerBlock, limits);
  if (headerScan.countLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxHeaders);
  if (headerScan.lengthLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxHeaderLength);
  if (headerScan.countLimitHit || headerScan.lengthLimitHit) {
    text = `${rebuildHeaderBlock(headerScan.fields)}\r\n\r\n${text.slice(bodyStart)}`;
  }

  const walk = walkMime(text, limits.maxParts, limits.maxDepth);
  if (walk.partsLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxParts);
  if (walk.depthLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxDepth);
  if (walk.brokenMultiparts > 0) warnings.push(`multipart entity without a usable boundary (${walk.brokenMultiparts})`);
  if (walk.cutAt !== -1) text = text.slice(0, walk.cutAt);

  let mail: ParsedMail;
  try {
    mail = await simpleParser(Buffer.from(text, 'latin1'), {
      skipImageLinks: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      maxHtmlLengthToParse: limits.maxHtmlLength,
      // A limit on the header block that is looser than ours, so ours decides.
      maxHeadSize: Math.max(limits.maxHeaders * limits.maxHeaderLength, 1024 * 1024),
    });
  } catch (error) {
    throw new ParseError(`mailparser could not parse the message: ${describeError(error)}`, { cause: error });
  }
  if (mail.textConversionError) {
    limitsHit.add(LIMIT_SYMBOLS.maxHtmlLength);
    warnings.push(`HTML not converted to text: ${mail.textConversionError.message}`);
  }

  const kept: HeaderField[] = [];
  const stripped: HeaderField[] = [];
  for (const field of headerScan.fields) {
    (UPSTREAM_FILTER_HEADER.test(field.name) ? stripped : kept).push(field);
  }

  const originalSubject = firstValue(kept, 'subject');
  let html = typeof mail.html === 'string' ? mail.html : '';
  if (html.length > limits.maxHtmlLength) {
    html = html.slice(0, limits.maxHtmlLength);
    limitsHit.add(LIMIT_SYMBOLS.maxHtmlLength);
  }
  const plain = mail.text ?? '';
  const links: Link[] = extractHtmlLinks(html, limits.maxLinks);
  if (links.length < limits.maxLinks) {
    const seen = new Set(links.map((link) => link.url));
    for (const link of extractTextLinks(plain, limits.maxLinks - links.length)) {
      if (!seen.has(link.url)) links.push(link);
    }
  }
  if (links.length >= limits.maxLinks) limitsHit.add(LIMIT_SYMBOLS.maxLinks);

  const dateRaw = firstValue(kept, 'date');
  const date = mail.date && !Number.isNaN(mail.date.getTime()) && dateRaw !== '' ? mail.date : null;

  return {
    headers: kept,
    strippedHeaders: stripped,
    from: toAddresses(mail.from),
    replyTo: toAddresses(mail.replyTo),
    sender: toAddresses(mail.headers.get('sender') as AddressObject | undefined),
    to: toAddresses(mail.to),
    cc: toAddresses(mail.cc),
    returnPath: angleAddress(firstValue(kept, 'return-path')),
    subject: originalSubject.replace(UPSTREAM_SUBJECT_TAG, ''),
    originalSubject,
    messageId: (mail.messageId ?? '').trim(),
    date,
    dateRaw,
    text: plain,
    html,
    htmlStats: scanHtml(html),
    links,
    attachments: mail.attachments.map((attachment) => ({
      filename: typeof attachment.filename === 'string' ? attachment.filename : '',
      declaredType: typeof attachment.contentType === 'string' ? attachment.contentType.toLowerCase() : '',
      sniffedType: sniffContentType(attachment.content),
      size: attachment.size ?? attachment.content.length,
    })),
    parts: walk.parts,
    size,
    limitsHit: [...limitsHit],
    warnings,
  };
}

export { hostOf };
