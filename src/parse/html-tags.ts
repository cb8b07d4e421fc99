/**
 * A linear scan over the tags of an HTML document. It reports start and end
 * tags and the text between them, skips comments, and skips the raw text of
 * script, style and title elements as a browser does. No regular expression
 * runs over the whole document and every search that fails is remembered, so
 * the cost stays linear in the length of the input, hostile input included
 * (thousands of unclosed `<a>`, `<style>` or lone `<` characters).
 */

export interface HtmlTag {
  /** Lower-case element name. */
  name: string;
  closing: boolean;
  /** Everything between the element name and the `>` that ends the tag. */
  attributes: string;
  /** Offset of the `<`. */
  start: number;
  /** Offset just after the `>`. */
  end: number;
}

export interface HtmlVisitor {
  /** Called for each run of text between tags, as offsets into the document. */
  text(start: number, end: number): void;
  /** Called for each tag. Returning false stops the scan. */
  tag(tag: HtmlTag): boolean | void;
}

/** Elements whose content is not markup and is never shown as text, with the pattern of their end tag. */
const RAW_TEXT_END_TAGS = new Map(['script', 'style', 'title'].map((name) => [name, new RegExp(`</${name}[\\s/>]`, 'gi')]));

const SLASH = 0x2f;
const EXCLAMATION = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;

function isAsciiLetter(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

function isTagNameChar(code: number): boolean {
  return isAsciiLetter(code) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x3a || code === 0x5f;
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/** Earlier search results, kept so that no part of the document is searched twice for the same thing. */
interface ScanMemo {
  /** Per quote character: the offset a search started from and the offset found there, or -1. */
  quotes: Map<number, { from: number; found: number }>;
  missingRawTextEnd: Set<string>;
}

/**
 * Returns the offset of the first `quote` character at or after `from`, or
 * -1. Searches start at increasing offsets, so a cached result is reused
 * until `from` passes it and the document is searched once per quote
 * character overall.
 */
function nextQuote(html: string, quote: number, from: number, memo: ScanMemo): number {
  const cached = memo.quotes.get(quote);
  if (cached && from >= cached.from && (cached.found === -1 || from <= cached.found)) return cached.found;
  const found = html.indexOf(String.fromCharCode(quote), from);
  memo.quotes.set(quote, { from, found });
  return found;
}

/** Returns true when the quote at `index` opens an attribute value, that is, follows `=` and optional spaces. */
function opensAttributeValue(html: string, index: number, tagStart: number): boolean {
  let before = index - 1;
  while (before > tagStart && isSpace(html.charCodeAt(before))) before -= 1;
  return html.charCodeAt(before) === EQUALS;
}

/**
 * Returns the offset of the `>` that ends a tag whose attributes start at
 * `from`, or -1 when the document has none. A `>` inside a quoted attribute
 * value does not end the tag, and a quote that is never closed is ignored.
 */
function findTagEnd(html: string, from: number, memo: ScanMemo): number {
  let position = from;
  let end = -1;
  for (;;) {
    // The first `>` after an earlier position is still the first one after a later position before it.
    if (end < position) {
      end = html.indexOf('>', position);
      if (end === -1) return -1;
    }
    const double = nextQuote(html, DOUBLE_QUOTE, position, memo);
    const single = nextQuote(html, SINGLE_QUOTE, position, memo);
    // -1 means not found, so the nearer quote is the smaller offset only when both exist.
    let quoteAt = Math.min(double, single);
    if (quoteAt === -1) quoteAt = Math.max(double, single);
    if (quoteAt === -1 || quoteAt > end) return end;
    if (!opensAttributeValue(html, quoteAt, from)) {
      position = quoteAt + 1;
      continue;
    }
    const close = nextQuote(html, html.charCodeAt(quoteAt), quoteAt + 1, memo);
    if (close === -1) return end;
    position = close + 1;
  }
}

/** Returns the offset of the end tag that closes a raw text element, or -1. */
function findRawTextEnd(html: string, name: string, pattern: RegExp, from: number, memo: ScanMemo): number {
  if (memo.missingRawTextEnd.has(name)) return -1;
  pattern.lastIndex = from;
  const match = pattern.exec(html);
  if (match) return match.index;
  memo.missingRawTextEnd.add(name);
  return -1;
}

/** Returns the offset just after a comment, doctype or processing instruction that starts at `open`. */
function skipMarkupDeclaration(html: string, open: number): number {
  if (html.startsWith('<!--', open)) {
    const close = html.indexOf('-->', open + 4);
    return close === -1 ? html.length : close + 3;
  }
  const close = html.indexOf('>', open + 2);
  return close === -1 ? html.length : close + 1;
}

/** Walks the tags and text of `html` in document order. */
export function scanTags(html: string, visitor: HtmlVisitor): void {
  const memo: ScanMemo = { quotes: new Map(), missingRawTextEnd: new Set() };
  let textStart = 0;
  let position = 0;

  while (position < html.length) {
    const open = html.indexOf('<', position);
    if (open === -1) break;
    const next = html.charCodeAt(open + 1);

    if (next === EXCLAMATION || next === QUESTION) {
      if (open > textStart) visitor.text(textStart, open);
      position = skipMarkupDeclaration(html, open);
      textStart = position;
      continue;
    }

    const closing = next === SLASH;
    const nameStart = open + (closing ? 2 : 1);
    if (!isAsciiLetter(html.charCodeAt(nameStart))) {
      // A `<` that does not start a tag is text.
      position = open + 1;
      continue;
    }
    let nameEnd = nameStart + 1;
    while (nameEnd < html.length && isTagNameChar(html.charCodeAt(nameEnd))) nameEnd += 1;

    const close = findTagEnd(html, nameEnd, memo);
    if (open > textStart) visitor.text(textStart, open);
    if (close === -1) {
      // A tag cut off by the end of the document is dropped, as in a browser.
      textStart = html.length;
      break;
    }

    const tag: HtmlTag = {
      name: html.slice(nameStart, nameEnd).toLowerCase(),
      closing,
      attributes: html.slice(nameEnd, close),
      start: open,
      end: close + 1,
    };
    if (visitor.tag(tag) === false) return;
    position = tag.end;
    textStart = position;

    const rawTextEnd = closing ? undefined : RAW_TEXT_END_TAGS.get(tag.name);
    if (rawTextEnd) {
      const rawEnd = findRawTextEnd(html, tag.name, rawTextEnd, position, memo);
      // An element that is never closed runs to the end of the document, as in a browser.
      position = rawEnd === -1 ? html.length : rawEnd;
      textStart = position;
    }
  }

  if (html.length > textStart) visitor.text(textStart, html.length);
}
