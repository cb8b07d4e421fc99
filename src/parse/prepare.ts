import { rebuildHeaderBlock, scanHeaders } from './headers.js';
import { extractHtmlLinks, extractTextLinks, htmlToPlainText } from './html.js';
import { LIMIT_SYMBOLS, type ParseLimits } from './limits.js';
import { splitHeaderBlock, walkMime, type MimeWalk } from './mime.js';
import type { Link } from './types.js';

/** The steps both parse paths take before reading the content, so that both read the same text. */

export interface PreparedMessage {
  /** The message as latin1 text (one character per byte), after the header rebuild and the walk's cut. */
  text: string;
  headerScan: ReturnType<typeof scanHeaders>;
  walk: MimeWalk;
  limitsHit: Set<string>;
  warnings: string[];
}

/** Scans the top-level headers and walks the MIME tree, applying the header, part and depth limits. */
export function prepareMessage(bytes: Buffer, size: number, limits: Readonly<ParseLimits>): PreparedMessage {
  const limitsHit = new Set<string>();
  const warnings: string[] = [];
  if (size > bytes.length) limitsHit.add(LIMIT_SYMBOLS.maxMessageBytes);

  // latin1 maps each byte to one character, so offsets in the string are byte offsets.
  let text = bytes.toString('latin1');
  const { header: headerBlock, bodyStart } = splitHeaderBlock(text);
  const headerScan = scanHeaders(headerBlock, limits);
  if (headerScan.fields.length === 0 && headerBlock.trim() !== '') {
    // Text without a single header field is a body without headers, not a header block.
    warnings.push('message has no header fields; all of it was read as the body');
    text = `\r\n${text}`;
  } else {
    if (headerScan.countLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxHeaders);
    if (headerScan.lengthLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxHeaderLength);
    if (headerScan.rebuild) text = `${rebuildHeaderBlock(headerScan.fields)}\r\n\r\n${text.slice(bodyStart)}`;
  }

  const walk = walkMime(text, { maxParts: limits.maxParts, maxDepth: limits.maxDepth, maxHeaderLines: limits.maxHeaders });
  if (walk.partsLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxParts);
  if (walk.depthLimitHit) limitsHit.add(LIMIT_SYMBOLS.maxDepth);
  if (walk.headerLinesLimitHit) {
    limitsHit.add(LIMIT_SYMBOLS.maxHeaders);
    warnings.push(`a MIME part has more than ${limits.maxHeaders} header lines (maxHeaders); the message was cut before that part`);
  }
  if (walk.brokenMultiparts > 0) warnings.push(`multipart entity without a usable boundary (${walk.brokenMultiparts})`);
  if (walk.cutAt !== -1) text = text.slice(0, walk.cutAt);
  return { text, headerScan, walk, limitsHit, warnings };
}

/** Returns the links of the HTML and then of the plain text, at most `max + 1` so that overflow shows. */
function collectLinks(html: string, plain: string, max: number): Link[] {
  const links = extractHtmlLinks(html, max + 1);
  const htmlUrls = new Set(links.map((link) => link.url));
  links.push(...extractTextLinks(plain, max + 1 - links.length, htmlUrls));
  return links;
}

export interface FinishedBody {
  html: string;
  text: string;
  links: Link[];
}

/**
 * Applies the HTML and link limits to the bodies both parse paths read, and
 * converts the HTML with the built-in converter when mailparser's conversion
 * failed (`conversionError` is then its message, otherwise empty).
 */
export function finishBody(html: string, plain: string, conversionError: string, limits: Readonly<ParseLimits>, limitsHit: Set<string>, warnings: string[]): FinishedBody {
  let kept = html;
  if (kept.length > limits.maxHtmlLength) {
    limitsHit.add(LIMIT_SYMBOLS.maxHtmlLength);
    kept = kept.slice(0, limits.maxHtmlLength);
  }
  let text = plain;
  if (conversionError !== '') {
    // mailparser 3.14 reports "HTML too long for parsing" when a part exceeds maxHtmlLengthToParse.
    const reason = /too long/i.test(conversionError) ? `it is longer than maxHtmlLength (${limits.maxHtmlLength} characters)` : conversionError;
    warnings.push(`mailparser did not convert HTML to text because ${reason}; the built-in converter read the first ${kept.length} characters instead`);
    text = [text.trim(), htmlToPlainText(kept)].filter((part) => part !== '').join('\n');
  }
  const links = collectLinks(kept, text, limits.maxLinks);
  if (links.length > limits.maxLinks) {
    limitsHit.add(LIMIT_SYMBOLS.maxLinks);
    links.length = limits.maxLinks;
  }
  return { html: kept, text, links };
}
