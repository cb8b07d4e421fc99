import libmime from 'libmime';
import type { MimePart } from './types.js';

/**
 * A walk over the MIME structure of the raw message, used for the tree
 * summary and for the part, depth and part-header limits. mailparser decodes
 * the content. This walk only reads entity headers and delimiter lines, so it
 * can stop at a limit and report the offset where the message should be cut.
 *
 * It splits the message the way mailparser's splitter (@zone-eu/mailsplit
 * 5.4) does: the same Content-Type parsing, delimiter lines that match the
 * whole boundary, a closing delimiter in the preamble ignored, and inline
 * `message/rfc822` parts descended into. Cutting where this walk stops keeps
 * mailparser within the part and header limits it is given.
 */

export interface MimeWalkLimits {
  maxParts: number;
  maxDepth: number;
  /** Lines allowed in the header block of one entity. */
  maxHeaderLines: number;
}

export interface MimeWalk {
  parts: MimePart[];
  /** Offset in the raw text where walking stopped because of a limit, or -1. */
  cutAt: number;
  partsLimitHit: boolean;
  depthLimitHit: boolean;
  /** An entity's header block had more lines than `maxHeaderLines`. */
  headerLinesLimitHit: boolean;
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

interface Delimiter {
  /** Offset of the first `-` of the delimiter line. */
  lineStart: number;
  /** Offset just after the line break that ends the delimiter line. */
  lineEnd: number;
  closing: boolean;
}

/** Transfer encodings under which mailparser reads a `message/rfc822` part as an embedded message. */
const EMBEDDED_MESSAGE_ENCODINGS = new Set(['', '7bit', '8bit', 'binary']);

/**
 * Splits the raw text at the first empty line after `from` into a header
 * block and a body offset. An entity that starts with an empty line has an
 * empty header block; one without an empty line is all header.
 */
export function splitHeaderBlock(raw: string, from = 0): { header: string; bodyStart: number } {
  if (raw.startsWith('\r\n', from)) return { header: '', bodyStart: from + 2 };
  if (raw.startsWith('\n', from)) return { header: '', bodyStart: from + 1 };
  // Line by line, so the search stops at the first empty line whatever the line endings.
  for (let newline = raw.indexOf('\n', from); newline !== -1; newline = raw.indexOf('\n', newline + 1)) {
    const next = raw.charCodeAt(newline + 1);
    const emptyLineLength = next === 0x0a ? 1 : next === 0x0d && raw.charCodeAt(newline + 2) === 0x0a ? 2 : 0;
    if (emptyLineLength === 0) continue;
    const headerEnd = newline > from && raw.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
    return { header: raw.slice(from, headerEnd), bodyStart: newline + 1 + emptyLineLength };
  }
  return { header: raw.slice(from), bodyStart: raw.length };
}

/** Returns the unfolded value of the first field called `name`, read as UTF-8. */
function headerValue(block: string, name: string): string {
  const pattern = new RegExp(`^${name}[ \\t]*:([^\\n]*(?:\\r?\\n[ \\t][^\\n]*)*)`, 'im');
  const match = pattern.exec(block);
  if (!match?.[1]) return '';
  const value = match[1].replace(/\r?\n[ \t]+/g, ' ').trim();
  // The raw text is read as latin1, so 8-bit bytes are decoded here as the UTF-8 they usually are.
  return /[\x80-\xff]/.test(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
}

function decodeWords(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function fileExtension(filename: string): string {
  const dot = filename.lastIndexOf('.');
  return dot === -1 ? '' : filename.slice(dot + 1);
}

/**
 * Removes everything from the first `(` to the last `)`, as mailsplit does
 * for Content-Transfer-Encoding, in linear time on any input.
 */
function stripComment(value: string): string {
  const open = value.indexOf('(');
  const close = value.lastIndexOf(')');
  return open !== -1 && close > open ? value.slice(0, open) + value.slice(close + 1) : value;
}

/** Reads Content-Type, Content-Disposition and Content-Transfer-Encoding as mailsplit does. */
function readEntityHeaders(block: string): EntityHeaders {
  const disposition = libmime.parseHeaderValue(headerValue(block, 'content-disposition'), { stripComments: true });
  const typeValue = headerValue(block, 'content-type');
  const type = typeValue === '' ? null : libmime.parseHeaderValue(typeValue, { stripComments: true });

  let filename = disposition.params.filename ?? type?.params.name ?? '';
  const filenameDecoded = disposition.params.filename !== undefined ? disposition.decodedParams.includes('filename') : type?.decodedParams.includes('name');
  if (filename !== '' && !filenameDecoded) filename = decodeWords(filename);

  const dispositionType = disposition.value.trim().toLowerCase();
  let contentType = (type?.value ?? '').trim().toLowerCase();
  if (contentType === '') {
    // Defaults of mailsplit for a part without Content-Type.
    const extension = fileExtension(filename);
    if (extension !== '') contentType = libmime.detectMimeType(extension);
    else contentType = dispositionType === 'attachment' ? 'application/octet-stream' : 'text/plain';
  }

  // A boundary is ASCII without trailing whitespace (RFC 2046 5.1.1); any other counts as missing.
  const boundary = (type?.params.boundary ?? '').trimEnd();
  return {
    contentType,
    boundary: /^[\x20-\x7e]*$/.test(boundary) ? boundary : '',
    charset: (type?.params.charset ?? '').toLowerCase(),
    transferEncoding: stripComment(headerValue(block, 'content-transfer-encoding')).trim().toLowerCase(),
    disposition: dispositionType,
    filename,
  };
}

/** Returns true when the header block has more than `max` lines, counting no further than that. */
function hasMoreLines(block: string, max: number): boolean {
  let lines = 1;
  for (let index = block.indexOf('\n'); index !== -1; index = block.indexOf('\n', index + 1)) {
    lines += 1;
    if (lines > max) return true;
  }
  return false;
}

/**
 * Finds the next delimiter line of `boundary` in `scope` at or after `from`.
 * A delimiter line is `--boundary` or `--boundary--` at the start of a line,
 * optionally followed by spaces or tabs. Only the closing form may end the
 * message without a line break.
 */
function nextDelimiter(scope: string, boundary: string, from: number, bodyStart: number, atMessageEnd: boolean): Delimiter | null {
  const marker = `--${boundary}`;
  for (let position = scope.indexOf(marker, from); position !== -1; position = scope.indexOf(marker, position + 1)) {
    if (position !== bodyStart && scope.charCodeAt(position - 1) !== 0x0a) continue;
    let index = position + marker.length;
    const closing = scope.startsWith('--', index);
    if (closing) index += 2;
    while (scope.charCodeAt(index) === 0x20 || scope.charCodeAt(index) === 0x09) index += 1;
    if (index === scope.length) {
      if (closing || !atMessageEnd) return { lineStart: position, lineEnd: index, closing };
      continue;
    }
    while (scope.charCodeAt(index) === 0x0d) index += 1;
    if (scope.charCodeAt(index) === 0x0a) return { lineStart: position, lineEnd: index + 1, closing };
    if (index === scope.length && !atMessageEnd) return { lineStart: position, lineEnd: index, closing };
  }
  return null;
}

/** Returns the offset of the line break in front of `lineStart`, or `lineStart` when the line opens the body. */
function lineBreakBefore(raw: string, lineStart: number, bodyStart: number): number {
  if (lineStart <= bodyStart) return lineStart;
  const newline = lineStart - 1;
  return newline > bodyStart && raw.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
}

class Walker {
  readonly walk: MimeWalk = { parts: [], cutAt: -1, partsLimitHit: false, depthLimitHit: false, headerLinesLimitHit: false, brokenMultiparts: 0 };

  constructor(
    private readonly raw: string,
    private readonly limits: MimeWalkLimits,
  ) {}

  /** Visits the entity in `[start, end)`. `cutPoint` is where to cut the message to drop this entity. */
  visit(start: number, end: number, depth: number, cutPoint: number): void {
    const walk = this.walk;
    if (walk.cutAt !== -1) return;
    if (walk.parts.length >= this.limits.maxParts) {
      walk.partsLimitHit = true;
      walk.cutAt = cutPoint;
      return;
    }
    const scope = end === this.raw.length ? this.raw : this.raw.slice(0, end);
    const { header, bodyStart } = splitHeaderBlock(scope, start);
    if (hasMoreLines(header, this.limits.maxHeaderLines)) {
      walk.headerLinesLimitHit = true;
      walk.cutAt = cutPoint;
      return;
    }
    const entity = readEntityHeaders(header);
    const isMultipart = entity.contentType.startsWith('multipart/');
    walk.parts.push({
      contentType: entity.contentType,
      depth,
      size: isMultipart ? 0 : Math.max(0, end - bodyStart),
      charset: entity.charset,
      transferEncoding: entity.transferEncoding,
      disposition: entity.disposition,
      filename: entity.filename,
    });

    if (entity.contentType === 'message/rfc822' && entity.disposition === 'inline' && EMBEDDED_MESSAGE_ENCODINGS.has(entity.transferEncoding)) {
      if (depth + 1 > this.limits.maxDepth) {
        walk.depthLimitHit = true;
        walk.cutAt = bodyStart;
        return;
      }
      this.visit(bodyStart, end, depth + 1, bodyStart);
      return;
    }
    if (!isMultipart) return;
    if (!entity.boundary) {
      walk.brokenMultiparts += 1;
      return;
    }
    this.visitChildren(scope, entity.boundary, bodyStart, depth);
  }

  private visitChildren(scope: string, boundary: string, bodyStart: number, depth: number): void {
    const walk = this.walk;
    const atMessageEnd = scope.length === this.raw.length;
    let delimiter = nextDelimiter(scope, boundary, bodyStart, bodyStart, atMessageEnd);
    // A closing delimiter before the first part is ignored, as mailsplit ignores it.
    while (delimiter?.closing) delimiter = nextDelimiter(scope, boundary, delimiter.lineEnd, bodyStart, atMessageEnd);
    if (delimiter === null) {
      walk.brokenMultiparts += 1;
      return;
    }
    if (depth + 1 > this.limits.maxDepth) {
      walk.depthLimitHit = true;
      walk.cutAt = lineBreakBefore(scope, delimiter.lineStart, bodyStart);
      return;
    }

    while (delimiter !== null && !delimiter.closing && walk.cutAt === -1) {
      const childStart = delimiter.lineEnd;
      const next = nextDelimiter(scope, boundary, childStart, bodyStart, atMessageEnd);
      const childEnd = next === null ? scope.length : Math.max(childStart, lineBreakBefore(scope, next.lineStart, bodyStart));
      this.visit(childStart, childEnd, depth + 1, lineBreakBefore(scope, delimiter.lineStart, bodyStart));
      delimiter = next;
    }
  }
}

/** Walks the entity tree of `raw` up to the part, depth and header-line limits. */
export function walkMime(raw: string, limits: MimeWalkLimits): MimeWalk {
  const walker = new Walker(raw, limits);
  walker.visit(0, raw.length, 0, 0);
  return walker.walk;
}
