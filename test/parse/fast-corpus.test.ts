import { isDeepStrictEqual as isDeepEqual } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { messageTokens } from '../../src/features/tokens.js';
import { parseFast } from '../../src/parse/fast.js';
import { DEFAULT_PARSE_LIMITS, parseWithMailparser as parseBytes, type MimePart, type ParsedMessage } from '../../src/parse/index.js';
import { loadSpamAssassin } from '../../training/corpus.js';

/**
 * parseFast against parseBytes over the whole SpamAssassin corpus (6,046
 * messages). Every field must be equal, except `text` and the links found in
 * it for messages where mailparser converts HTML to text with html-to-text
 * and parseFast uses its own converter. Those are compared by the overlap of
 * their feature tokens instead.
 */

/** Fields compared exactly on every message. */
const EXACT_FIELDS = [
  'headers',
  'strippedHeaders',
  'from',
  'replyTo',
  'sender',
  'to',
  'cc',
  'returnPath',
  'subject',
  'originalSubject',
  'messageId',
  'date',
  'dateRaw',
  'html',
  'htmlStats',
  'attachments',
  'parts',
  'size',
  'limitsHit',
  'warnings',
] as const satisfies ReadonlyArray<keyof ParsedMessage>;
/** Maximum number of messages parseFast may hand back to parseBytes; it hands back 2 (inline message/rfc822 parts). */
const MAX_FALLBACKS = 12;
/** Minimum token overlap (Jaccard) for one message with converted HTML; the observed minimum is 0.966. */
const MIN_TOKEN_OVERLAP = 0.9;
/** Minimum mean token overlap over messages with converted HTML; the observed mean is 0.9998. */
const MIN_MEAN_TOKEN_OVERLAP = 0.99;
const TEXT_TYPES = new Set(['text/plain', 'message/delivery-status']);

interface CorpusComparison {
  messages: number;
  fallbacks: string[];
  /** Ids of messages whose field differs, by field. */
  mismatches: Map<string, string[]>;
  /** Token overlap of each message whose HTML mailparser converts to text. */
  overlaps: Map<string, number>;
}

function isInline(part: MimePart): boolean {
  return part.disposition === '' || part.disposition === 'inline';
}

/**
 * Tells from the MIME summary whether mailparser converts an HTML part to
 * text: when the message is HTML alone, or when an HTML part that is not
 * inside multipart/alternative sits next to a plain text part.
 */
function convertsHtml(parts: readonly MimePart[]): boolean {
  const hasText = parts.some((part) => TEXT_TYPES.has(part.contentType) && isInline(part));
  const ancestors: MimePart[] = [];
  for (const part of parts) {
    ancestors.length = part.depth;
    if (part.contentType === 'text/html' && isInline(part)) {
      if (part.depth === 0 && !hasText) return true;
      if (hasText && !ancestors.some((ancestor) => ancestor.contentType === 'multipart/alternative')) return true;
    }
    ancestors.push(part);
  }
  return false;
}

function tokenOverlap(left: ParsedMessage, right: ParsedMessage): number {
  const leftTokens = new Set(messageTokens(left));
  const rightTokens = new Set(messageTokens(right));
  let shared = 0;
  for (const token of leftTokens) if (rightTokens.has(token)) shared += 1;
  const union = leftTokens.size + rightTokens.size - shared;
  return union === 0 ? 1 : shared / union;
}

async function compareCorpus(): Promise<CorpusComparison> {
  const comparison: CorpusComparison = { messages: 0, fallbacks: [], mismatches: new Map(), overlaps: new Map() };
  const mismatch = (field: string, id: string): void => {
    comparison.mismatches.set(field, [...(comparison.mismatches.get(field) ?? []), id]);
  };
  const limits = DEFAULT_PARSE_LIMITS;

  for (const message of loadSpamAssassin().messages) {
    comparison.messages += 1;
    const bytes = message.raw.subarray(0, limits.maxMessageBytes);
    const reference = await parseBytes(bytes, message.raw.length, limits);
    const fast = parseFast(bytes, message.raw.length, limits);
    if (fast === null) {
      comparison.fallbacks.push(message.id);
      continue;
    }
    for (const field of EXACT_FIELDS) {
      if (!isDeepEqual(fast[field], reference[field])) mismatch(field, message.id);
    }
    if (convertsHtml(reference.parts)) {
      comparison.overlaps.set(message.id, tokenOverlap(fast, reference));
      const htmlLinks = (parsed: ParsedMessage) => parsed.links.filter((link) => link.fromHtml);
      if (!isDeepEqual(htmlLinks(fast), htmlLinks(reference))) mismatch('links from HTML', message.id);
    } else {
      if (fast.text !== reference.text) mismatch('text', message.id);
      if (!isDeepEqual(fast.links, reference.links)) mismatch('links', message.id);
    }
  }
  return comparison;
}

describe('parseFast over the SpamAssassin corpus', () => {
  let comparison: CorpusComparison;

  beforeAll(async () => {
    comparison = await compareCorpus();
  }, 900_000);

  test('corpus is complete', () => {
    expect(comparison.messages).toBe(6046);
  });

  test('fallback is rare', () => {
    expect(comparison.fallbacks.length).toBeLessThanOrEqual(MAX_FALLBACKS);
  });

  test.each(EXACT_FIELDS)('%s equals parseBytes', (field) => {
    expect(comparison.mismatches.get(field) ?? []).toEqual([]);
  });

  test('text equals parseBytes without converted HTML', () => {
    expect(comparison.mismatches.get('text') ?? []).toEqual([]);
  });

  test('links equal parseBytes without converted HTML', () => {
    expect(comparison.mismatches.get('links') ?? []).toEqual([]);
  });

  test('HTML links equal parseBytes with converted HTML', () => {
    expect(comparison.mismatches.get('links from HTML') ?? []).toEqual([]);
  });

  test('converted HTML keeps the tokens', () => {
    const overlaps = [...comparison.overlaps.values()];
    expect(overlaps.length).toBeGreaterThan(800);
    const low = [...comparison.overlaps].filter(([, overlap]) => overlap < MIN_TOKEN_OVERLAP);
    expect(low).toEqual([]);
    const mean = overlaps.reduce((sum, overlap) => sum + overlap, 0) / overlaps.length;
    expect(mean).toBeGreaterThanOrEqual(MIN_MEAN_TOKEN_OVERLAP);
  });
});
