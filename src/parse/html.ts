import type { HtmlStats, Link } from './types.js';

/**
 * A light HTML scanner for what spam scoring needs: links with their anchor
 * text and signs of hidden text. It works on tags with regular expressions,
 * which is enough for counting and comparing, and never builds a DOM, so its
 * cost stays linear in the input.
 */

const ANCHOR = /<a\b([^>]*)>([\s\S]*?)<\/a\s*>/gi;
const HREF = /\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/i;
const TAG = /<[^>]*>/g;
const STYLE_ATTRIBUTE = /\bstyle\s*=\s*(?:"([^"]*)"|'([^']*)')/i;
const HIDDEN_STYLE = /display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[01](?:\.\d+)?(?:px|pt|em)?\s*(?:;|$|!)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)|max-height\s*:\s*0|height\s*:\s*0(?:px)?\s*;[^"']*overflow\s*:\s*hidden/i;
const ELEMENT_WITH_STYLE = /<([a-z][a-z0-9]*)\b([^>]*\bstyle\s*=[^>]*)>([\s\S]*?)<\/\1\s*>/gi;
const COLOUR = /(?:^|;)\s*color\s*:\s*(#[0-9a-f]{3,6}|[a-z]+)/i;
const BACKGROUND = /background(?:-color)?\s*:\s*(#[0-9a-f]{3,6}|[a-z]+)/i;
const TEXT_URL = /\b(?:https?:\/\/|www\.)[^\s<>"'()\[\]{}]+/gi;
const ENTITY = /&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|nbsp);/gi;

const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Decodes the common character references found in attributes and anchor text. */
export function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, name: string) => {
    const lower = name.toLowerCase();
    if (lower.startsWith('#x')) return safeFromCodePoint(Number.parseInt(lower.slice(2), 16), whole);
    if (lower.startsWith('#')) return safeFromCodePoint(Number.parseInt(lower.slice(1), 10), whole);
    return NAMED_ENTITIES[lower] ?? whole;
  });
}

function safeFromCodePoint(codePoint: number, fallback: string): string {
  if (!Number.isFinite(codePoint) || codePoint < 0 || codePoint > 0x10ffff) return fallback;
  return String.fromCodePoint(codePoint);
}

/** Removes tags, style and script blocks, and decodes entities. */
export function htmlToPlainText(html: string): string {
  const withoutBlocks = html.replace(/<(style|script|head)\b[\s\S]*?<\/\1\s*>/gi, ' ');
  return decodeEntities(withoutBlocks.replace(TAG, ' ')).replace(/\s+/g, ' ').trim();
}

/** Returns the lower-case host of a URL, or an empty string when it has none. */
export function hostOf(url: string): string {
  let candidate = url.trim();
  if (/^www\./i.test(candidate)) candidate = `http://${candidate}`;
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)/i.exec(candidate);
  if (!match || match[1] === undefined) return '';
  return match[1].toLowerCase().replace(/\.$/, '');
}

export function extractHtmlLinks(html: string, max: number): Link[] {
  const links: Link[] = [];
  for (const match of html.matchAll(ANCHOR)) {
    if (links.length >= max) break;
    const href = HREF.exec(match[1] ?? '');
    if (!href) continue;
    const url = decodeEntities(href[1] ?? href[2] ?? href[3] ?? '').trim();
    const text = htmlToPlainText(match[2] ?? '');
    links.push({ url, host: hostOf(url), text, fromHtml: true });
  }
  return links;
}

export function extractTextLinks(text: string, max: number): Link[] {
  const links: Link[] = [];
  for (const match of text.matchAll(TEXT_URL)) {
    if (links.length >= max) break;
    const url = match[0].replace(/[.,;:!?]+$/, '');
    links.push({ url, host: hostOf(url), text: '', fromHtml: false });
  }
  return links;
}

function normaliseColour(colour: string): string {
  const lower = colour.toLowerCase();
  if (lower === 'white') return '#ffffff';
  if (lower === 'black') return '#000000';
  if (/^#[0-9a-f]{3}$/.test(lower)) return `#${lower[1]}${lower[1]}${lower[2]}${lower[2]}${lower[3]}${lower[3]}`;
  return lower;
}

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

  stats.visibleTextLength = htmlToPlainText(html).length;
  stats.images = (html.match(/<img\b/gi) ?? []).length;
  stats.forms = (html.match(/<form\b/gi) ?? []).length;
  stats.scripts = (html.match(/<script\b/gi) ?? []).length;

  for (const match of html.matchAll(ELEMENT_WITH_STYLE)) {
    const styleMatch = STYLE_ATTRIBUTE.exec(match[2] ?? '');
    const style = styleMatch ? (styleMatch[1] ?? styleMatch[2] ?? '') : '';
    const innerText = htmlToPlainText(match[3] ?? '');
    if (innerText.length === 0) continue;
    if (HIDDEN_STYLE.test(style)) {
      stats.hiddenElements += 1;
      stats.hiddenTextLength += innerText.length;
      continue;
    }
    const colour = COLOUR.exec(style);
    const background = BACKGROUND.exec(style);
    if (colour?.[1] && background?.[1] && normaliseColour(colour[1]) === normaliseColour(background[1])) {
      stats.invisibleColourText += 1;
      stats.hiddenTextLength += innerText.length;
    }
  }
  return stats;
}
