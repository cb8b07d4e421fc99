import libmime from 'libmime';
import { readAddressHeader } from './fast-address.js';
import { decodeCharset, decodeFlowedBytes, decodeTransfer } from './fast-decode.js';
import { convertHtmlToText, exceedsNestingDepth } from './fast-html-text.js';
import { splitEntities, type Entity, type HeaderLine } from './fast-mime.js';
import { angleAddress, firstValue, parseDate, separateUpstreamHeaders, stripSubjectTag } from './headers.js';
import { scanHtml } from './html.js';
import type { ParseLimits } from './limits.js';
import { finishBody, prepareMessage } from './prepare.js';
import { sniffContentType } from './sniff.js';
import type { Address, Attachment, ParsedMessage } from './types.js';

/**
 * The fast parse path: the ParsedMessage that parseBytes builds with
 * mailparser, built synchronously from the raw text. It applies the same
 * header scan, limits and MIME walk as parseBytes, splits the entities as
 * mailparser's splitter does (fast-mime.ts), decodes bodies as mailparser's
 * decoders do (fast-decode.ts), and assembles text, HTML and attachments by
 * mailparser 3.14's rules. Addresses go through the addressparser that
 * mailparser uses (fast-address.ts).
 *
 * One field is built differently on purpose. mailparser converts HTML to
 * text with html-to-text for a message with no text part, and for an HTML
 * part that is not an alternative to a text part. This path uses
 * convertHtmlToText (fast-html-text.ts) there, which gives nearly the same
 * words and link URLs in a simpler layout. So `text` and the links found in
 * it can differ from parseBytes for such messages. What this path does not
 * reproduce at all makes parseFast return null, and the caller then runs
 * parseBytes.
 */

/** Minimum cost of one header line against mailsplit's `maxHeadSize`, as in parseBytes. */
const MAILSPLIT_HEADER_LINE_COST = 64;
/** Nesting depth past which mailparser 3.14 does not convert HTML to text. */
const MAX_HTML_NESTING_DEPTH = 1000;
/** Content types mailparser reads as text when they are inline. */
const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);

interface Content {
  textParts: string[];
  htmlParts: string[];
  attachments: Attachment[];
  /** mailparser's textConversionError message, or an empty string. */
  conversionError: string;
}

/** Returns a top-level header value as mailparser's processHeaders reads it: unfolded, trimmed, bytes read as UTF-8. */
function mailparserHeaderValue(line: HeaderLine): string {
  const value = libmime.decodeHeader(line.line).value.trim();
  return /[\x80-\xff]/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
}

/** Reads the addresses of the first field called `key`, or of every such field when `all` is set. */
function addressesOf(lines: readonly HeaderLine[], key: string, all: boolean): Address[] {
  const addresses: Address[] = [];
  for (const line of lines) {
    if (line.key !== key) continue;
    addresses.push(...readAddressHeader(mailparserHeaderValue(line)));
    if (!all) break;
  }
  return addresses;
}

/** Returns the first Message-ID that is not empty, decoded and in angle brackets, as mailparser reports it. */
function messageIdOf(lines: readonly HeaderLine[]): string {
  for (const line of lines) {
    if (line.key !== 'message-id') continue;
    let value = mailparserHeaderValue(line);
    try {
      value = libmime.decodeWords(value);
    } catch {
      // mailparser keeps the value as it is when an encoded word cannot be decoded.
    }
    if (value === '') continue;
    if (!value.startsWith('<')) value = `<${value}`;
    if (!value.endsWith('>')) value = `${value}>`;
    return value.trim();
  }
  return '';
}

function effectiveContentType(entity: Entity): string {
  return entity.contentType || (entity.parent === null ? 'text/plain' : '');
}

/** Decodes the text of an inline text part: transfer encoding, format=flowed, charset, then LF line breaks. */
function decodeTextPart(entity: Entity, body: Buffer): string {
  const unflowed = entity.flowed ? decodeFlowedBytes(body, entity.delSp) : body;
  const text = decodeCharset(unflowed, entity.charset);
  return text.includes('\r') ? text.replace(/\r?\n/g, '\n') : text;
}

/** Decodes every leaf entity and sorts it into text, HTML or attachment as mailparser's createNode and getTextContent do. */
function collectContent(raw: string, entities: readonly Entity[], limits: Readonly<ParseLimits>): Content {
  const content: Content = { textParts: [], htmlParts: [], attachments: [], conversionError: '' };
  const textOf = new Map<Entity, string>();
  let hasText = false;
  let hasHtml = false;

  for (const entity of entities) {
    const contentType = effectiveContentType(entity);
    if (contentType.startsWith('multipart/')) continue;
    let disposition = entity.disposition;
    if (disposition !== '' && disposition !== 'attachment' && disposition !== 'inline') disposition = 'attachment';
    if (disposition === '') disposition = TEXT_TYPES.has(contentType) ? 'inline' : 'attachment';
    const isAttachment = !TEXT_TYPES.has(contentType) || disposition !== 'inline';

    const body = decodeTransfer(raw, entity.bodyStart, entity.bodySplit, entity.bodyEnd, entity.encoding);

    if (isAttachment) {
      let declaredType = contentType;
      if (declaredType === 'application/octet-stream' && entity.filename !== '') declaredType = libmime.detectMimeType(entity.filename) || 'application/octet-stream';
      content.attachments.push({ filename: entity.filename, declaredType, sniffedType: sniffContentType(body), size: body.length });
      continue;
    }
    if (contentType === 'text/html') hasHtml = true;
    else hasText = true;
    textOf.set(entity, decodeTextPart(entity, body));
  }

  const visit = (entity: Entity, alternative: boolean): void => {
    const contentType = effectiveContentType(entity);
    const text = textOf.get(entity) ?? '';
    if (text !== '' && contentType === 'text/html') {
      // mailparser converts the HTML to text when the message has no text part, or when this
      // part is not an alternative to one (a list footer added after an HTML body, for example).
      if ((!alternative && hasText) || (entity.parent === null && !hasText)) {
        let error = '';
        if (text.length > limits.maxHtmlLength) error = `HTML too long for parsing ${text.length} bytes`;
        else if (exceedsNestingDepth(text, MAX_HTML_NESTING_DEPTH)) error = `HTML nested deeper than ${MAX_HTML_NESTING_DEPTH} levels`;
        content.textParts.push(error === '' ? convertHtmlToText(text) : '');
        if (content.conversionError === '') content.conversionError = error;
      }
      content.htmlParts.push(text);
    } else if (text !== '') {
      content.textParts.push(text);
      // mailparser adds the text as HTML too, which is empty with skipTextToHtml, as parseBytes sets it.
      if (!alternative && hasHtml) content.htmlParts.push('');
    }
    const childAlternative = alternative || contentType === 'multipart/alternative';
    for (const child of entity.children) visit(child, childAlternative);
  };
  const root = entities[0];
  if (root !== undefined) visit(root, false);
  return content;
}

function parse(bytes: Buffer, size: number, limits: Readonly<ParseLimits>): ParsedMessage | null {
  const { text, headerScan, walk, limitsHit, warnings } = prepareMessage(bytes, size, limits);

  const entities = splitEntities(text, {
    maxNodes: limits.maxParts + 1,
    maxHeadSize: limits.maxMessageBytes + MAILSPLIT_HEADER_LINE_COST * (limits.maxHeaders + 2) + 4,
  });
  const root = entities?.[0];
  if (entities === null || root === undefined) return null;
  const content = collectContent(text, entities, limits);

  const { html, text: plain, links } = finishBody(content.htmlParts.join('<br/>\n'), content.textParts.join('\n'), content.conversionError, limits, limitsHit, warnings);

  const { kept, stripped } = separateUpstreamHeaders(headerScan.fields);
  const originalSubject = firstValue(kept, 'subject');
  const dateRaw = firstValue(kept, 'date');

  return {
    headers: kept,
    strippedHeaders: stripped,
    from: addressesOf(root.lines, 'from', false),
    replyTo: addressesOf(root.lines, 'reply-to', false),
    sender: addressesOf(root.lines, 'sender', false),
    to: addressesOf(root.lines, 'to', true),
    cc: addressesOf(root.lines, 'cc', true),
    returnPath: angleAddress(firstValue(kept, 'return-path')),
    subject: stripSubjectTag(originalSubject),
    originalSubject,
    messageId: messageIdOf(root.lines),
    date: parseDate(dateRaw),
    dateRaw,
    text: plain,
    html,
    htmlStats: scanHtml(html),
    links,
    attachments: content.attachments,
    parts: walk.parts,
    size,
    limitsHit: [...limitsHit],
    warnings,
  };
}

/**
 * Parses bytes without mailparser, or returns null when the message needs
 * the reference parser (parseBytes). `bytes` and `size` are as readRaw
 * returns them. It does not throw, because an internal error returns null too.
 */
export function parseFast(bytes: Buffer, size: number, limits: Readonly<ParseLimits>): ParsedMessage | null {
  try {
    return parse(bytes, size, limits);
  } catch {
    return null;
  }
}
