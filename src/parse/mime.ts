import type { MimePart } from './types.js';

/**
 * A walk over the MIME structure of the raw message, used for the tree
 * summary and for the part and depth limits. mailparser decodes the content;
 * this walk only reads entity headers and boundaries, so it can stop at a
 * limit and report the byte offset where the message should be cut.
 */

export interface MimeWalk {
  parts: MimePart[];
  /** Offset in the raw text where walking stopped because of a limit, or -1. */
  cutAt: number;
  partsLimitHit: boolean;
  depthLimitHit: boolean;
  /** Multipart entities whose boundary parameter is missing or never appears. */
  brokenMultiparts: number;
}

interface EntityHeaders {
  contentType: string;
  boundary: string;
  charset: string;
  transferEncoding: string;
  disposition: string;
  filename: string;
}

/** Splits the raw text at the first empty line into a header block and a body offset. */
export function splitHeaderBlock(raw: string, from = 0): { header: string; bodyStart: number } {
  const crlf = raw.indexOf('\r\n\r\n', from);
  const lf = raw.indexOf('\n\n', from);
  if (crlf === -1 && lf === -1) return { header: raw.slice(from), bodyStart: raw.length };
  if (lf === -1 || (crlf !== -1 && crlf < lf)) return { header: raw.slice(from, crlf), bodyStart: crlf + 4 };
  return { header: raw.slice(from, lf), bodyStart: lf + 2 };
}

function headerValue(block: string, name: string): string {
  const pattern = new RegExp(`^${name}[ \\t]*:([^\\n]*(?:\\r?\\n[ \\t][^\\n]*)*)`, 'im');
  const match = pattern.exec(block);
  return match?.[1] ? match[1].replace(/\r?\n[ \t]+/g, ' ').trim() : '';
}

function parameter(value: string, name: string): string {
  const pattern = new RegExp(`(?:^|;)\\s*${name}\\*?(?:\\*0\\*?)?\\s*=\\s*(?:"([^"]*)"|([^;\\s]*))`, 'i');
  const match = pattern.exec(value);
  if (!match) return '';
  const found = match[1] ?? match[2] ?? '';
  // RFC 2231 extended values look like charset'language'percent-encoded.
  const extended = /^[^']*'[^']*'(.*)$/.exec(found);
  if (extended?.[1] !== undefined) {
    try {
      return decodeURIComponent(extended[1]);
    } catch {
      return extended[1];
    }
  }
  return found;
}

function readEntityHeaders(block: string): EntityHeaders {
  const typeValue = headerValue(block, 'content-type');
  const dispositionValue = headerValue(block, 'content-disposition');
  const contentType = (typeValue.split(';')[0] ?? '').trim().toLowerCase() || 'text/plain';
  return {
    contentType,
    boundary: parameter(typeValue, 'boundary'),
    charset: parameter(typeValue, 'charset').toLowerCase(),
    transferEncoding: headerValue(block, 'content-transfer-encoding').toLowerCase(),
    disposition: (dispositionValue.split(';')[0] ?? '').trim().toLowerCase(),
    filename: parameter(dispositionValue, 'filename') || parameter(typeValue, 'name'),
  };
}

/** Walks the entity tree of `raw` up to the part and depth limits. */
export function walkMime(raw: string, maxParts: number, maxDepth: number): MimeWalk {
  const walk: MimeWalk = { parts: [], cutAt: -1, partsLimitHit: false, depthLimitHit: false, brokenMultiparts: 0 };
  visit(raw, 0, raw.length, 0, walk, maxParts, maxDepth);
  return walk;
}

function visit(raw: string, start: number, end: number, depth: number, walk: MimeWalk, maxParts: number, maxDepth: number): void {
  if (walk.cutAt !== -1) return;
  if (walk.parts.length >= maxParts) {
    walk.partsLimitHit = true;
    walk.cutAt = start;
    return;
  }
  const { header, bodyStart } = splitHeaderBlock(raw.slice(0, end), start);
  const entity = readEntityHeaders(header);
  const bodyEnd = Math.max(bodyStart, end);
  const part: MimePart = {
    contentType: entity.contentType,
    depth,
    size: entity.contentType.startsWith('multipart/') ? 0 : Math.max(0, bodyEnd - bodyStart),
    charset: entity.charset,
    transferEncoding: entity.transferEncoding,
    disposition: entity.disposition,
    filename: entity.filename,
  };
  walk.parts.push(part);

  if (!entity.contentType.startsWith('multipart/')) return;
  if (!entity.boundary) {
    walk.brokenMultiparts += 1;
    return;
  }
  if (depth + 1 > maxDepth) {
    walk.depthLimitHit = true;
    walk.cutAt = start;
    return;
  }

  const delimiter = `--${entity.boundary}`;
  let position = raw.indexOf(delimiter, bodyStart);
  if (position === -1 || position >= end) {
    walk.brokenMultiparts += 1;
    return;
  }
  while (position !== -1 && position < end && walk.cutAt === -1) {
    const afterDelimiter = position + delimiter.length;
    if (raw.startsWith('--', afterDelimiter)) return;
    const lineEnd = raw.indexOf('\n', afterDelimiter);
    if (lineEnd === -1 || lineEnd >= end) return;
    const childStart = lineEnd + 1;
    let next = raw.indexOf(`\n${delimiter}`, childStart);
    if (next === -1 || next >= end) next = end;
    const childEnd = next > childStart && raw[next - 1] === '\r' ? next - 1 : next;
    visit(raw, childStart, childEnd, depth + 1, walk, maxParts, maxDepth);
    position = next === end ? -1 : next + 1;
  }
}
