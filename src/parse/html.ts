import { scanTags, type HtmlTag } from './html-tags.js';
import type { HtmlStats, Link } from './types.js';

/**
 * A light HTML scanner for what spam scoring needs: links with their anchor
 * text and signs of hidden text. It walks the tags once with scanTags and
 * never builds a DOM, so its cost stays linear in the input.
 */

const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|["']?([^\s>"']+))/i;
const STYLE_ATTRIBUTE = /\bstyle\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
const HIDDEN_STYLE = /display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*(?:0(?:\.\d+)?(?:px|pt|em)?|1(?:px|pt)?)\s*(?:;|$|!)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)|max-height\s*:\s*0/i;
const ZERO_HEIGHT = /(?:^|;)\s*height\s*:\s*0(?:px)?\s*(?:;|$)/i;
const OVERFLOW_HIDDEN = /overflow\s*:\s*hidden/i;
const COLOUR_VALUE = String.raw`(#[0-9a-f]{3,8}\b|rgba?\([^)]{0,64}\)|[a-z]+)`;
const COLOUR = new RegExp(String.raw`(?:^|;)\s*color\s*:\s*` + COLOUR_VALUE, 'i');
const BACKGROUND = new RegExp(String.raw`background(?:-color)?\s*:\s*` + COLOUR_VALUE, 'i');
const RGB_FUNCTION = /^rgba?\(\s*(\d{1,3})\s*[,\s]\s*(\d{1,3})\s*[,\s]\s*(\d{1,3})\s*(?:[,/]\s*([\d.]+%?)\s*)?\)$/;
const NAMED_COLOURS: Record<string, string> = { white: '#ffffff', black: '#000000' };
const TEXT_URL = /\b(?:https?:\/\/|www\.)[^\s<>"'()\[\]{}]+/gi;
const ENTITY = /&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi;
const TRAILING_PUNCTUATION = new Set(['.', ',', ';', ':', '!', '?']);

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Elements that never have content, so their start tag opens nothing. */
const VOID_ELEMENTS = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
/** Elements that a following sibling of the same name closes when their end tag is left out. */
const IMPLIED_END_ELEMENTS = new Set(['p', 'li', 'dt', 'dd', 'option', 'tr', 'td', 'th']);

/** Reason an element's text cannot be seen. */
const enum Concealment {
  None,
  Hidden,
  SameColour,
}

interface OpenElement {
  name: string;
  concealment: Concealment;
}

function safeFromCodePoint(codePoint: number, fallback: string): string {
  if (!Number.isFinite(codePoint) || codePoint < 0 || codePoint > 0x10ffff) return fallback;
  return String.fromCodePoint(codePoint);
}

/** Decodes the common character references found in attributes and anchor text. */
export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return safeFromCodePoint(Number.parseInt(lower.slice(2), 16), whole);
    if (lower.startsWith('#')) return safeFromCodePoint(Number.parseInt(lower.slice(1), 10), whole);
    return NAMED_ENTITIES[lower] ?? whole;
  });
}

function collapseText(text: string): string {
  return decodeEntities(text).replace(/\s+/g, ' ').trim();
}

/** Removes tags, comments, style, script and title content, and decodes entities. */
export function htmlToPlainText(html: string): string {
  const pieces: string[] = [];
  scanTags(html, {
    text: (start, end) => {
      pieces.push(html.slice(start, end));
    },
    tag: () => {
      pieces.push(' ');
    },
  });
  return collapseText(pieces.join(''));
}

/** Returns the lower-case host of a URL, or an empty string when it has none. */
export function hostOf(url: string): string {
  let candidate = url.trim();
  if (/^www\./i.test(candidate)) candidate = `http://${candidate}`;
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(candidate);
  if (!match || match[1] === undefined) return '';
  return match[1].toLowerCase().replace(/\.$/, '');
}

/**
 * Returns the links of `<a href>` elements, at most `max`, with their anchor
 * text. An `<a>` that is never closed ends at the next `<a>` or at the end of
 * the document, as in a browser.
 */
export function extractHtmlLinks(html: string, max: number): Link[] {
  const links: Link[] = [];
  let open: { url: string; textStart: number } | null = null;
  const closeAnchor = (end: number): void => {
    if (open === null) return;
    const text = htmlToPlainText(html.slice(open.textStart, end));
    links.push({ url: open.url, host: hostOf(open.url), text, fromHtml: true });
    open = null;
  };

  scanTags(html, {
    text: () => {},
    tag: (tag) => {
      if (tag.name !== 'a') return true;
      closeAnchor(tag.start);
      if (links.length >= max) return false;
      if (tag.closing) return true;
      const href = HREF.exec(tag.attributes);
      if (href) open = { url: decodeEntities(href[1] ?? href[2] ?? href[3] ?? '').trim(), textStart: tag.end };
      return true;
    },
  });
  closeAnchor(html.length);
  return links;
}

/** Trims sentence punctuation that follows a URL in running text. */
function trimTrailingPunctuation(url: string): string {
  let end = url.length;
  while (end > 0 && TRAILING_PUNCTUATION.has(url[end - 1] ?? '')) end -= 1;
  return url.slice(0, end);
}

/** Returns up to `max` URLs found in plain text, skipping those in `exclude`. */
export function extractTextLinks(text: string, max: number, exclude: ReadonlySet<string> = new Set()): Link[] {
  const links: Link[] = [];
  if (max <= 0) return links;
  for (const match of text.matchAll(TEXT_URL)) {
    const url = trimTrailingPunctuation(match[0]);
    if (exclude.has(url)) continue;
    links.push({ url, host: hostOf(url), text: '', fromHtml: false });
    if (links.length >= max) break;
  }
  return links;
}

/** Returns a colour as lower-case `#rrggbb` where it can, so that equal colours compare equal. */
function normaliseColour(colour: string): string {
  const lower = colour.toLowerCase().replace(/\s+/g, ' ');
  const named = NAMED_COLOURS[lower];
  if (named) return named;
  if (/^#[0-9a-f]{3}$/.test(lower)) return `#${lower[1]}${lower[1]}${lower[2]}${lower[2]}${lower[3]}${lower[3]}`;
  const rgb = RGB_FUNCTION.exec(lower);
  if (rgb) {
    const hex = [rgb[1], rgb[2], rgb[3]].map((channel) => Math.min(255, Number(channel)).toString(16).padStart(2, '0')).join('');
    return `#${hex}`;
  }
  return lower;
}

function concealmentOf(tag: HtmlTag): Concealment {
  const styleMatch = STYLE_ATTRIBUTE.exec(tag.attributes);
  const style = styleMatch ? (styleMatch[1] ?? styleMatch[2] ?? styleMatch[3] ?? '') : '';
  if (style === '') return Concealment.None;
  if (HIDDEN_STYLE.test(style) || (ZERO_HEIGHT.test(style) && OVERFLOW_HIDDEN.test(style))) return Concealment.Hidden;
  const colour = COLOUR.exec(style);
  const background = BACKGROUND.exec(style);
  if (colour?.[1] && background?.[1] && normaliseColour(colour[1]) === normaliseColour(background[1])) return Concealment.SameColour;
  return Concealment.None;
}

/**
 * Counts images, forms, scripts and text that CSS hides. Text inside a hidden
 * element counts once, for the outermost hidden element around it. An element
 * that is never closed hides everything up to its parent's end tag or the end
 * of the document, as in a browser.
 */
export function scanHtml(html: string): HtmlStats {
  const stats: HtmlStats = {
    length: html.length,
    visibleTextLength: 0,
    hiddenElements: 0,
    hiddenTextLength: 0,
    images: 0,
    forms: 0,
    scripts: 0,
    invisibleColourText: 0,
  };
  if (html.length === 0) return stats;

  const pieces: string[] = [];
  const stack: OpenElement[] = [];
  const openCounts = new Map<string, number>();
  // Index in `stack` of the outermost concealing element, or -1, and the text inside it so far.
  let concealedAt = -1;
  let concealedText = 0;

  const closeConcealed = (): void => {
    const concealment = stack[concealedAt]?.concealment;
    if (concealedText > 0) {
      if (concealment === Concealment.Hidden) stats.hiddenElements += 1;
      else stats.invisibleColourText += 1;
      stats.hiddenTextLength += concealedText;
    }
    concealedAt = -1;
    concealedText = 0;
  };
  const popTo = (name: string): void => {
    for (;;) {
      const index = stack.length - 1;
      const element = stack[index];
      if (element === undefined) return;
      if (index === concealedAt) closeConcealed();
      stack.pop();
      openCounts.set(element.name, (openCounts.get(element.name) ?? 1) - 1);
      if (element.name === name) return;
    }
  };

  scanTags(html, {
    text: (start, end) => {
      const text = html.slice(start, end);
      pieces.push(text);
      if (concealedAt !== -1) concealedText += collapseText(text).length;
    },
    tag: (tag) => {
      pieces.push(' ');
      if (tag.closing) {
        if ((openCounts.get(tag.name) ?? 0) > 0) popTo(tag.name);
        return;
      }
      if (tag.name === 'img') stats.images += 1;
      else if (tag.name === 'form') stats.forms += 1;
      else if (tag.name === 'script') stats.scripts += 1;
      if (VOID_ELEMENTS.has(tag.name)) return;
      if (IMPLIED_END_ELEMENTS.has(tag.name) && stack[stack.length - 1]?.name === tag.name) popTo(tag.name);

      const concealment = concealmentOf(tag);
      stack.push({ name: tag.name, concealment });
      openCounts.set(tag.name, (openCounts.get(tag.name) ?? 0) + 1);
      if (concealment !== Concealment.None && concealedAt === -1) concealedAt = stack.length - 1;
    },
  });
  if (concealedAt !== -1) closeConcealed();

  stats.visibleTextLength = collapseText(pieces.join('')).length;
  return stats;
}
