import { parse as parsePath } from 'node:path';
import libmime from 'libmime';

/**
 * The entity tree of a message as mailparser 3.14 splits it, for the fast
 * parse path. It follows the line rules of mailparser's splitter
 * (@zone-eu/mailsplit 5.4). A header block ends at the first empty line. A
 * delimiter line of the entity's own boundary or of any open ancestor's ends
 * the entity, and the line break in front of a delimiter belongs to the
 * delimiter. A closing delimiter in a multipart's preamble is ignored.
 * Unlike walkMime in mime.ts, it records where each body starts and ends, so
 * the bodies can be decoded without the splitter's streams.
 *
 * It returns null for what it does not reproduce: an inline message/rfc822
 * part (mailparser parses it as an embedded message), a boundary parameter
 * on a part that is not multipart, more entities than mailparser allows, or
 * a header block larger than the reference is given.
 */

export interface HeaderLine {
  /** Lower-case name, or an empty string for a line without a colon. */
  key: string;
  /** The whole field as written, folded lines joined with CRLF, one latin1 character per byte. */
  line: string;
}

export interface Entity {
  parent: Entity | null;
  /** Header lines in order; an mbox `From ` or HTTP `POST ` first line is left out, as mailsplit does. */
  lines: HeaderLine[];
  /** Lower-case type, or an empty string when a Content-Type header is present but empty. */
  contentType: string;
  /** The charset parameter as written, or an empty string. */
  charset: string;
  /** Lower-case Content-Transfer-Encoding without comments. */
  encoding: string;
  /** Lower-case disposition type, or an empty string. */
  disposition: string;
  filename: string;
  flowed: boolean;
  delSp: boolean;
  multipart: boolean;
  /** Body offsets in the raw text; all three equal for an entity without a body. */
  bodyStart: number;
  /**
   * Offset of the second of the two chunks in which mailsplit passes the
   * body to the decoder, or `bodyEnd`. Only a body that runs to the end of
   * the input is split: before its last line when that line has no line
   * break, and for a part, before the line break of the last complete line.
   */
  bodySplit: number;
  bodyEnd: number;
  children: Entity[];
}

/** The splitter limits mailparser is given; passing one makes mailparser fail, so the fast path defers. */
export interface SplitLimits {
  /** mailsplit's `maxChildNodes`: entities started, the root included. */
  maxNodes: number;
  /** mailsplit's `maxHeadSize`: bytes of one header block, each line counting at least 64. */
  maxHeadSize: number;
}

/** Minimum cost of one header line against the header size limit, as in mailsplit. */
const HEADER_LINE_MIN_COST = 64;
/** Characters a delimiter line may carry besides the boundary: dashes, blanks and the line break. */
const DELIMITER_LINE_OVERHEAD = 2 + 2 + 998 + 2;
const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;

/** Internal state of an entity while its lines are read. */
interface OpenEntity extends Entity {
  boundary: string;
  headerStart: number;
  headerCost: number;
  parsed: boolean;
}

/** Thrown inside the splitter when the message needs the reference parser; never escapes this module. */
class NeedsReferenceParser extends Error {}

function decodeWordsSafely(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/** Returns the header text as UTF-8 when it is valid UTF-8, else unchanged, as mailsplit reads header values. */
function readHeaderText(line: string): string {
  if (!/[\x80-\xff]/.test(line)) return line;
  const utf8 = Buffer.from(line, 'latin1').toString('utf8');
  return utf8.includes('\ufffd') ? line : utf8;
}

/** Removes everything from the first `(` to the last `)` on each line, as mailsplit does for the transfer encoding. */
function stripEncodingComments(value: string): string {
  if (!value.includes('(')) return value;
  return value
    .split(/([\n\r\u2028\u2029])/)
    .map((part) => {
      const start = part.indexOf('(');
      const end = part.lastIndexOf(')');
      return start !== -1 && end > start ? part.slice(0, start) + part.slice(end + 1) : part;
    })
    .join('');
}

/** Splits `[0, end)` of `text` at LF and CRLF, as `split(/\r?\n/)` does but without a regular expression. */
function splitLines(text: string, end: number): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let newline = text.indexOf('\n', start); newline !== -1 && newline < end; newline = text.indexOf('\n', start)) {
    lines.push(text.slice(start, newline > start && text.charCodeAt(newline - 1) === CR ? newline - 1 : newline));
    start = newline + 1;
  }
  lines.push(text.slice(start, end));
  return lines;
}

/** Splits a header block into fields the way mailsplit's Headers class does. */
export function parseHeaderLines(block: string): HeaderLine[] {
  let end = block.length;
  while (end > 0 && (block.charCodeAt(end - 1) === LF || block.charCodeAt(end - 1) === CR)) end -= 1;
  const rawLines = splitLines(block, end);
  const isFolded = (line: string): boolean => line.charCodeAt(0) === SPACE || line.charCodeAt(0) === TAB;

  let index = 1;
  let first = rawLines[0] ?? '';
  while (index < rawLines.length && isFolded(rawLines[index] ?? '')) {
    first += `\r\n${rawLines[index] ?? ''}`;
    index += 1;
  }
  const lines: HeaderLine[] = [];
  if (!/^From /i.test(first) && !/^POST /i.test(first)) {
    lines.push({ key: first.substring(0, first.indexOf(':')).trim().toLowerCase(), line: first });
  }
  // Set while the last field has no colon yet, so that a continuation line may still give its name.
  let keyPending = false;
  for (; index < rawLines.length; index += 1) {
    const current = rawLines[index] ?? '';
    const last = lines[lines.length - 1];
    if (isFolded(current) && last !== undefined) {
      if (keyPending) {
        const colon = current.indexOf(':');
        if (colon !== -1) {
          last.key = `${last.line}\r\n${current.substring(0, colon)}`.trim().toLowerCase();
          keyPending = false;
        }
      }
      last.line += `\r\n${current}`;
    } else {
      const colon = current.indexOf(':');
      lines.push({ key: current.substring(0, colon).trim().toLowerCase(), line: current });
      keyPending = colon === -1;
    }
  }
  return lines;
}

/** Returns the unfolded value of the first field called `key`, as mailsplit's `Headers.getFirst` does. */
export function firstHeaderValue(lines: readonly HeaderLine[], key: string): string {
  const found = lines.find((line) => line.key === key);
  if (found === undefined) return '';
  return libmime.decodeHeader(readHeaderText(found.line)).value.trim();
}

/** Reads the entity headers into `entity` as mailsplit's MimeNode.parseHeaders does, or throws NeedsReferenceParser. */
function readEntityHeaders(entity: OpenEntity, block: string): void {
  const lines = parseHeaderLines(block);
  entity.lines = lines;
  entity.parsed = true;

  const disposition = libmime.parseHeaderValue(firstHeaderValue(lines, 'content-disposition'), { stripComments: true });
  let typeHeader = '';
  if (lines.some((line) => line.key === 'content-type')) {
    typeHeader = firstHeaderValue(lines, 'content-type');
  } else {
    const dispositionFilename = disposition.params.filename;
    if (dispositionFilename) {
      const extension = parsePath(dispositionFilename).ext.replace(/^\./, '');
      if (extension) typeHeader = libmime.detectMimeType(extension);
    }
    if (!typeHeader) typeHeader = /^attachment$/i.test(disposition.value) ? 'application/octet-stream' : 'text/plain';
  }
  const type = libmime.parseHeaderValue(typeHeader, { stripComments: true });

  entity.encoding = stripEncodingComments(firstHeaderValue(lines, 'content-transfer-encoding')).toLowerCase().trim();
  entity.contentType = (type.value || '').toLowerCase().trim();
  entity.charset = type.params.charset || '';
  const dispositionType = (disposition.value || '').toLowerCase().trim();
  entity.disposition = dispositionType ? decodeWordsSafely(dispositionType) : '';

  let filename = disposition.params.filename || type.params.name || '';
  if (filename) {
    const alreadyDecoded = disposition.params.filename ? disposition.decodedParams.includes('filename') : type.decodedParams.includes('name');
    if (!alreadyDecoded) filename = decodeWordsSafely(filename);
  }
  entity.filename = filename;

  if (entity.contentType === 'text/plain' && (type.params.format ?? '').toLowerCase().trim() === 'flowed') {
    entity.flowed = true;
    entity.delSp = (type.params.delsp ?? '').toLowerCase().trim() === 'yes';
  }

  const slash = entity.contentType.indexOf('/');
  entity.multipart = slash !== -1 && entity.contentType.slice(0, slash) === 'multipart' && slash < entity.contentType.length - 1;
  const boundary = (type.params.boundary ?? '').trimEnd();
  entity.boundary = boundary !== '' && Buffer.byteLength(boundary) === boundary.length ? boundary : '';

  // mailparser treats `multipart/` without a subtype as a container that mailsplit does not split.
  if (!entity.multipart && entity.contentType.startsWith('multipart/')) throw new NeedsReferenceParser();
  // mailsplit splits any entity with a boundary parameter, multipart or not.
  if (!entity.multipart && entity.boundary !== '') throw new NeedsReferenceParser();
  if (entity.contentType === 'message/rfc822' && entity.disposition === 'inline' && ['', '7bit', '8bit', 'binary'].includes(entity.encoding)) {
    throw new NeedsReferenceParser();
  }
}

class Splitter {
  readonly entities: OpenEntity[] = [];
  private entity: OpenEntity;
  private inHeader = true;
  private inEpilogue = false;
  private nodeCount = 0;
  private delimiterOwner: OpenEntity | null = null;

  constructor(
    private readonly raw: string,
    private readonly limits: SplitLimits,
  ) {
    this.entity = this.open(null, 0);
  }

  private open(parent: OpenEntity | null, headerStart: number): OpenEntity {
    this.nodeCount += 1;
    this.inHeader = true;
    this.inEpilogue = false;
    return {
      parent,
      lines: [],
      contentType: '',
      charset: '',
      encoding: '',
      disposition: '',
      filename: '',
      flowed: false,
      delSp: false,
      multipart: false,
      bodyStart: 0,
      bodySplit: 0,
      bodyEnd: 0,
      children: [],
      boundary: '',
      headerStart,
      headerCost: 0,
      parsed: false,
    };
  }

  /** Parses the header block `[headerStart, end)` of the current entity and adds it to the tree. */
  private emit(end: number): void {
    const entity = this.entity;
    readEntityHeaders(entity, this.raw.slice(entity.headerStart, end));
    this.entities.push(entity);
    entity.parent?.children.push(entity);
  }

  /** Compares the line with a delimiter of `boundary`: 1 for a delimiter, 2 for a closing one, 0 for none. */
  private compare(start: number, end: number, skip: number, boundary: string): 0 | 1 | 2 {
    const raw = this.raw;
    const length = end - start;
    if (length < boundary.length + 3 + skip || length > boundary.length + DELIMITER_LINE_OVERHEAD + skip) return 0;
    if (!raw.startsWith(boundary, start + skip + 2)) return 0;
    let index = start + skip + 2 + boundary.length;
    let result: 1 | 2 = 1;
    if (raw.charCodeAt(index) === DASH) {
      if (raw.charCodeAt(index + 1) !== DASH) return 0;
      result = 2;
      index += 2;
    }
    while (index < end && (raw.charCodeAt(index) === SPACE || raw.charCodeAt(index) === TAB)) index += 1;
    // Only the closing delimiter may end the input without a line break.
    if (index === end) return result === 2 ? 2 : 0;
    while (index < end && raw.charCodeAt(index) === CR) index += 1;
    if (index < end && raw.charCodeAt(index) === LF) index += 1;
    return index === end ? result : 0;
  }

  /** Returns 1 or 2 for the current entity's own delimiters, 3 or 4 for an ancestor's, 0 for body text. */
  private delimiterKind(start: number, end: number): number {
    const raw = this.raw;
    const length = end - start;
    let skip = 0;
    const first = raw.charCodeAt(start);
    if (length >= 1 && (first === CR || first === LF)) {
      skip = length >= 2 && first === CR && raw.charCodeAt(start + 1) === LF ? 2 : 1;
    }
    if (length < 4 || raw.charCodeAt(start + skip) !== DASH || raw.charCodeAt(start + skip + 1) !== DASH) return 0;
    const entity = this.entity;
    if (!this.inEpilogue && entity.boundary !== '') {
      const kind = this.compare(start, end, skip, entity.boundary);
      if (kind !== 0) return kind;
    }
    for (let owner = entity.parent as OpenEntity | null; owner !== null; owner = owner.parent as OpenEntity | null) {
      if (owner.boundary === '') continue;
      const kind = this.compare(start, end, skip, owner.boundary);
      if (kind !== 0) {
        this.delimiterOwner = owner;
        return kind + 2;
      }
    }
    return 0;
  }

  /**
   * Ends the body of the current entity at the delimiter line that starts at
   * `lineStart`. The line break before the delimiter is not body, except that
   * a body of one empty line before a non-closing delimiter keeps it, as
   * mailsplit pushes the untrimmed line in that case.
   */
  private endBody(lineStart: number, closing: boolean): void {
    const entity = this.entity;
    if (this.inHeader || entity.multipart || entity.parent === null) return;
    const start = entity.bodyStart;
    let end = lineStart;
    if (end > start && this.raw.charCodeAt(end - 1) === LF) {
      end -= 1;
      if (end > start && this.raw.charCodeAt(end - 1) === CR) end -= 1;
    }
    entity.bodyEnd = end > start || closing ? end : lineStart;
    entity.bodySplit = entity.bodyEnd;
  }

  private readLine(start: number, end: number, final: boolean): void {
    if (this.nodeCount > this.limits.maxNodes) throw new NeedsReferenceParser();
    const current = this.entity;
    // mailsplit reads the last line of a part's body together with the line break held back
    // before it, so a last line that starts with CR is never a delimiter there.
    const heldBack = final && !this.inHeader && !current.multipart && current.parent !== null && start > current.bodyStart;
    const kind = heldBack && this.raw.charCodeAt(start) === CR ? 0 : this.delimiterKind(start, end);
    if (kind !== 0) {
      if (kind === 1) {
        this.endBody(start, false);
        this.entity = this.open(current, end);
      } else if (kind === 3 && this.delimiterOwner !== null) {
        this.endBody(start, false);
        this.entity = this.open(this.delimiterOwner, end);
      } else if (kind === 4 && this.delimiterOwner !== null) {
        this.endBody(start, true);
        // An entity cut off inside its header block still counts when a closing delimiter ends it.
        if (this.inHeader && start > current.headerStart && !current.parsed) this.emit(start);
        this.entity = this.delimiterOwner;
        this.inEpilogue = true;
        this.inHeader = false;
      }
      return;
    }
    if (!this.inHeader) return;

    const length = end - start;
    const endsBlock = (length === 1 && this.raw.charCodeAt(start) === LF) || (length === 2 && this.raw.charCodeAt(start) === CR && this.raw.charCodeAt(start + 1) === LF);
    const entity = this.entity;
    entity.headerCost += endsBlock ? length : Math.max(length, HEADER_LINE_MIN_COST);
    if (entity.headerCost > this.limits.maxHeadSize) throw new NeedsReferenceParser();
    if (endsBlock || final) {
      this.emit(end);
      this.inHeader = false;
      entity.bodyStart = end;
      entity.bodySplit = end;
      entity.bodyEnd = end;
    }
  }

  run(): void {
    const raw = this.raw;
    let start = 0;
    while (start < raw.length) {
      const newline = raw.indexOf('\n', start);
      if (newline === -1) {
        this.readLine(start, raw.length, true);
        return this.finish();
      }
      this.readLine(start, newline + 1, false);
      start = newline + 1;
    }
    // mailsplit ends with an empty final line, which closes a header block still open.
    this.readLine(raw.length, raw.length, true);
    this.finish();
  }

  /** Ends a body that is still open at the end of the input there, and sets where its second chunk starts. */
  private finish(): void {
    const entity = this.entity;
    if (this.inHeader || entity.multipart) return;
    const raw = this.raw;
    const start = entity.bodyStart;
    entity.bodyEnd = raw.length;
    let split = Math.max(start, raw.lastIndexOf('\n') + 1);
    if (entity.parent !== null) {
      // mailsplit holds back the line break before the last line, in case that line is a delimiter.
      if (split > start && raw.charCodeAt(split - 1) === LF) split -= 1;
      if (split > start && raw.charCodeAt(split - 1) === CR) split -= 1;
    }
    entity.bodySplit = split;
  }
}

/**
 * Splits `raw` (one latin1 character per byte) into the entities mailparser
 * would report, in document order, the root first. Returns null when the
 * message needs the reference parser (see the module comment).
 */
export function splitEntities(raw: string, limits: SplitLimits): Entity[] | null {
  const splitter = new Splitter(raw, limits);
  try {
    splitter.run();
  } catch (error) {
    if (error instanceof NeedsReferenceParser) return null;
    throw error;
  }
  return splitter.entities;
}
