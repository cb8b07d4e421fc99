import { scanTags } from './html-tags.js';

/**
 * A cheap stand-in for the html-to-text 10 conversion that mailparser runs
 * where it turns HTML into text. It keeps what decides the tokens and the
 * text links. Only the content of `<body>` counts when there is one, and no
 * script or style text. Inline elements (span, font, td, ...) are joined
 * without a space, as html-to-text joins them, and block elements go on
 * lines of their own. Headings are in upper case. Each link is followed by
 * ` [href]` (or is the href alone when the anchor has no text) and each
 * image is written as `alt [src]`, so the URLs that html-to-text writes into
 * the text are found here as well.
 *
 * It does not reproduce html-to-text's layout: no word wrap at 80 columns,
 * no list markers, quote prefixes, table layout or horizontal rules. It
 * decodes numeric references and the Latin-1 and common typographic named
 * references, not the full HTML5 table.
 */

/**
 * Elements that html-to-text formats as blocks; every other element is
 * inline. A list item is a block only directly inside `ul` or `ol`, as
 * html-to-text formats only those.
 */
const BLOCK_ELEMENTS = new Set([
  'article',
  'aside',
  'blockquote',
  'br',
  'div',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'main',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'table',
  'ul',
]);
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/** Elements without content in htmlparser2 10, which never go on the open-element stack. */
const VOID_ELEMENTS = new Set(['area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const FORM_ELEMENTS = new Set(['input', 'option', 'optgroup', 'select', 'button', 'datalist', 'textarea']);
const PARAGRAPH = new Set(['p']);
/** Start tags that close the open element on top of the stack while it has one of the listed names, as in htmlparser2 10. */
const OPEN_IMPLIES_CLOSE = new Map<string, ReadonlySet<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['body', new Set(['head', 'link', 'script'])],
  ['li', new Set(['li'])],
  ['select', FORM_ELEMENTS],
  ['input', FORM_ELEMENTS],
  ['output', FORM_ELEMENTS],
  ['button', FORM_ELEMENTS],
  ['datalist', FORM_ELEMENTS],
  ['textarea', FORM_ELEMENTS],
  ['option', new Set(['option'])],
  ['optgroup', new Set(['optgroup', 'option'])],
  ['dd', new Set(['dd', 'dt'])],
  ['dt', new Set(['dd', 'dt'])],
  ['rt', new Set(['rt', 'rp'])],
  ['rp', new Set(['rt', 'rp'])],
  ['tbody', new Set(['thead', 'tbody'])],
  ['tfoot', new Set(['thead', 'tbody'])],
  ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'header', 'hr', 'main', 'nav', 'ol', 'pre', 'section', 'table', 'ul'].map(
    (name): [string, ReadonlySet<string>] => [name, PARAGRAPH],
  ),
]);

/** Named references for U+00A0 to U+00FF, in code point order. */
const LATIN1_ENTITY_NAMES =
  'nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest ' +
  'Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig ' +
  'agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml';
const NAMED_REFERENCES = new Map<string, string>([
  ['amp', '&'],
  ['lt', '<'],
  ['gt', '>'],
  ['quot', '"'],
  ['apos', "'"],
  ['euro', '\u20ac'],
  ['trade', '\u2122'],
  ['ndash', '\u2013'],
  ['mdash', '\u2014'],
  ['lsquo', '\u2018'],
  ['rsquo', '\u2019'],
  ['ldquo', '\u201c'],
  ['rdquo', '\u201d'],
  ['bull', '\u2022'],
  ['hellip', '\u2026'],
  ...LATIN1_ENTITY_NAMES.split(' ').map((name, index): [string, string] => [name, String.fromCharCode(0xa0 + index)]),
]);
/** Characters that numeric references to U+0080 to U+009F stand for in HTML: windows-1252, with undefined bytes kept. */
const WINDOWS_1252_C1 =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';
/** Characters html-to-text treats as white space; U+00A0 is not one of them, so `&nbsp;` is a word. */
const HTML_TO_TEXT_SPACE = /[ \t\r\n\f\u200b]+/g;
const HTML_TO_TEXT_WORD = /[^ \t\r\n\f\u200b]/;
const CHARACTER_REFERENCE = /&(?:#[xX]([0-9a-fA-F]{1,6})|#([0-9]{1,7})|([A-Za-z][A-Za-z0-9]{1,7}));?/g;
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
const SRC = /\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
const ALT = /\balt\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
const BODY_TAG = /<body[\s>/]/i;
const TITLE_END = /<\/title[\s/>]/gi;

function codePointText(codePoint: number): string {
  if (codePoint === 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return '\ufffd';
  // HTML reads references to C1 controls as the windows-1252 characters they usually mean.
  if (codePoint >= 0x80 && codePoint <= 0x9f) return WINDOWS_1252_C1.charAt(codePoint - 0x80);
  return String.fromCodePoint(codePoint);
}

/** Decodes numeric references and the named references in NAMED_REFERENCES; others stay as written. */
function decodeCharacterReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARACTER_REFERENCE, (whole, hex: string | undefined, decimal: string | undefined, name: string | undefined) => {
    if (hex !== undefined) return codePointText(Number.parseInt(hex, 16));
    if (decimal !== undefined) return codePointText(Number.parseInt(decimal, 10));
    const named = NAMED_REFERENCES.get(name ?? '');
    return named === undefined || !whole.endsWith(';') ? whole : named;
  });
}

function attributeValue(pattern: RegExp, attributes: string): string {
  const match = pattern.exec(attributes);
  if (!match) return '';
  return decodeCharacterReferences(match[1] ?? match[2] ?? match[3] ?? '').trim();
}

interface OpenElement {
  name: string;
  /** A list item directly inside a list, which html-to-text puts on a line of its own. */
  listItem: boolean;
  /** For an anchor with a usable href inside the converted part: the href and the word count when it opened. */
  anchor: { href: string; wordsBefore: number } | null;
}

/**
 * Converts HTML to plain text in the shape of html-to-text's output (the
 * module comment lists the differences). Elements open and close as in
 * htmlparser2, which html-to-text builds on. An end tag closes everything
 * down to the nearest open element of its name, some start tags close the
 * element they follow (OPEN_IMPLIES_CLOSE), and what is left open closes at
 * the end. So a stray `</font>` can close the body, and only the text inside
 * an open body counts.
 */
export function convertHtmlToText(html: string): string {
  const pieces: string[] = [];
  const wholeDocument = !BODY_TAG.test(html);
  const stack: OpenElement[] = [];
  const openCounts = new Map<string, number>();
  let headingsOpen = 0;
  // Text runs with a word in them so far; an anchor with none inside shows its href alone.
  let words = 0;

  const isShown = (): boolean => wholeDocument || (openCounts.get('body') ?? 0) > 0;
  const popElement = (): void => {
    const element = stack.pop();
    if (element === undefined) return;
    openCounts.set(element.name, (openCounts.get(element.name) ?? 1) - 1);
    if (HEADINGS.has(element.name)) headingsOpen -= 1;
    if (element.anchor !== null) pieces.push(words > element.anchor.wordsBefore ? ` [${element.anchor.href}]` : element.anchor.href);
    if (element.listItem) pieces.push('\n');
  };
  const pushElement = (name: string, anchor: OpenElement['anchor']): void => {
    const closes = OPEN_IMPLIES_CLOSE.get(name);
    while (closes !== undefined && stack.length > 0 && closes.has(stack[stack.length - 1]?.name ?? '')) popElement();
    if (VOID_ELEMENTS.has(name)) return;
    const parent = stack[stack.length - 1]?.name;
    const listItem = name === 'li' && (parent === 'ul' || parent === 'ol') && isShown();
    if (listItem) pieces.push('\n');
    stack.push({ name, anchor, listItem });
    openCounts.set(name, (openCounts.get(name) ?? 0) + 1);
    if (HEADINGS.has(name)) headingsOpen += 1;
  };

  scanTags(html, {
    text: (start, end) => {
      if (!isShown()) return;
      let text = decodeCharacterReferences(html.slice(start, end)).replace(HTML_TO_TEXT_SPACE, ' ');
      if (headingsOpen > 0) text = text.toUpperCase();
      if (HTML_TO_TEXT_WORD.test(text)) words += 1;
      pieces.push(text);
    },
    tag: (tag) => {
      const name = tag.name;
      if (tag.closing) {
        if (VOID_ELEMENTS.has(name)) {
          if (name === 'br' && isShown()) pieces.push('\n');
          return;
        }
        if ((openCounts.get(name) ?? 0) > 0) {
          while (stack.length > 0 && stack[stack.length - 1]?.name !== name) popElement();
          popElement();
        }
        if (BLOCK_ELEMENTS.has(name) && isShown()) pieces.push('\n');
        return;
      }

      let anchor: OpenElement['anchor'] = null;
      if (name === 'a' && isShown()) {
        const href = attributeValue(HREF, tag.attributes).replace(/^mailto:/, '');
        if (href !== '' && !href.startsWith('#')) anchor = { href, wordsBefore: words };
      }
      pushElement(name, anchor);
      if (!isShown()) return;
      if (name === 'title') {
        // scanTags skips the title text, which html-to-text writes out like any other text.
        TITLE_END.lastIndex = tag.end;
        const close = TITLE_END.exec(html)?.index ?? html.length;
        pieces.push(`\n${decodeCharacterReferences(html.slice(tag.end, close))}\n`);
      } else if (name === 'img') {
        const alt = attributeValue(ALT, tag.attributes);
        const src = attributeValue(SRC, tag.attributes);
        if (src === '') pieces.push(alt);
        else pieces.push(alt === '' ? `[${src}]` : `${alt} [${src}]`);
      } else if (BLOCK_ELEMENTS.has(name)) {
        pieces.push('\n');
      }
    },
  });
  while (stack.length > 0) popElement();

  return pieces
    .join('')
    .split('\n')
    .map((line) => line.replace(/ {2,}/g, ' ').trim())
    .filter((line) => line !== '')
    .join('\n');
}

/** Elements without content, which open no nesting level. */
const NESTING_VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Elements that a sibling closes implicitly; mailparser leaves them out of the depth count. */
const NESTING_IMPLIED_END_ELEMENTS = new Set(['p', 'li', 'dt', 'dd', 'option', 'optgroup', 'tr', 'td', 'th', 'thead', 'tbody', 'tfoot', 'rt', 'rp']);

function isNestingNameChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2d || code === 0x3a || code === 0x5f;
}

/**
 * Returns true when `html` nests elements deeper than `maxDepth`. The depth
 * is counted as mailparser 3.14 counts it before it calls html-to-text, and
 * past the limit mailparser reports a text conversion error instead. Start
 * tags open a level, an end tag closes down to the nearest open element of
 * its name, and comments are skipped.
 */
export function exceedsNestingDepth(html: string, maxDepth: number): boolean {
  const stack: string[] = [];
  const open = new Map<string, number>();
  let index = html.indexOf('<');
  while (index >= 0) {
    let position = index + 1;
    if (html.startsWith('!--', position)) {
      const end = html.indexOf('-->', position + 3);
      index = end < 0 ? -1 : html.indexOf('<', end + 3);
      continue;
    }
    const closing = html.charCodeAt(position) === 0x2f;
    if (closing) position += 1;
    const nameStart = position;
    while (position < html.length && isNestingNameChar(html.charCodeAt(position))) position += 1;
    if (position === nameStart) {
      index = html.indexOf('<', position);
      continue;
    }
    const name = html.slice(nameStart, position).toLowerCase();
    const end = html.indexOf('>', position);
    if (end < 0) break;
    if (!NESTING_VOID_ELEMENTS.has(name) && !NESTING_IMPLIED_END_ELEMENTS.has(name)) {
      if (!closing) {
        stack.push(name);
        open.set(name, (open.get(name) ?? 0) + 1);
        if (stack.length > maxDepth) return true;
      } else if (open.get(name)) {
        let popped: string | undefined;
        do {
          popped = stack.pop();
          if (popped !== undefined) open.set(popped, (open.get(popped) ?? 1) - 1);
        } while (popped !== undefined && popped !== name);
      }
    }
    index = html.indexOf('<', end + 1);
  }
  return false;
}
