import { createHash } from 'node:crypto';
import type { ParsedMessage } from '../parse/types.js';

/**
 * Content fingerprint: one key that near-duplicates of a message share, so a
 * user report on one copy of a campaign reaches the other copies through the
 * behaviour store.
 *
 * The fingerprint is a bottom-k sketch: the k smallest hashes of the
 * distinct words of the subject and body text. Numbers, addresses and link
 * paths are dropped first, because campaigns vary exactly those per
 * recipient. A changed word moves the fingerprint only when its hash is
 * among the k smallest, so for a message of n distinct words a one-word
 * change keeps the fingerprint with a chance of about 1 - 2k/n.
 */

/** Hashes kept in the sketch. */
const SKETCH_SIZE = 8;
/** Below this many distinct words a message has no fingerprint: short texts collide across unrelated mail. */
export const MIN_FINGERPRINT_WORDS = 20;
/** Characters of subject and text read; a campaign shows in its first part, list footers in the last. */
const MAX_TEXT_CHARS = 4_000;
const WORD = /\p{L}[\p{L}'’-]{2,30}/gu;
/** A line quoted from an earlier message. */
const QUOTED_LINE = /^[ \t]*>.*$/gm;
const LINK = /\b(?:https?:\/\/|www\.)\S+/gi;
/** An address with its local part. It may start only after whitespace, because trying every position inside long words is slow. */
const ADDRESS = /(?<!\S)[^\s@]+@\S*/g;
/** A lower-case letter followed by an upper-case one, as in generated identifiers. */
const CASE_CHANGE = /\p{Ll}\p{Lu}/u;

/**
 * Returns a 53-bit hash of a word from two 32-bit multiply-xorshift lanes.
 * It runs for every distinct word of every message, so a cryptographic hash
 * would cost a visible share of the scoring time. The sketch's final digest
 * is sha256.
 */
function wordHash(word: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let index = 0; index < word.length; index += 1) {
    const code = word.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Returns the part of a body its sender wrote: before a signature delimiter
 * (`-- `), without quoted lines (`>`). Mailing-list footers and quoted
 * threads would otherwise make unrelated posts of one list share a
 * fingerprint.
 */
function ownText(text: string): string {
  const signature = text.search(/\n--[ \t]?\r?\n/);
  const body = signature === -1 ? text : text.slice(0, signature);
  return body.replace(QUOTED_LINE, '');
}

/**
 * Returns `content:` followed by 32 hex digits, or null when the message has
 * fewer than MIN_FINGERPRINT_WORDS distinct words.
 */
export function contentFingerprint(message: Pick<ParsedMessage, 'subject' | 'text'>): string | null {
  // Cut before the line work too, so a long body costs no more than its start; quoted lines may fill some of that start.
  const text = `${message.subject}\n${ownText(message.text.slice(0, 4 * MAX_TEXT_CHARS))}`
    .slice(0, MAX_TEXT_CHARS)
    .replace(LINK, ' ')
    .replace(ADDRESS, ' ');
  const words = new Set<string>();
  for (const word of text.match(WORD) ?? []) {
    // Random strings that campaigns insert per copy (`HDvRHTDRqwS`) are not words of the text.
    if (!CASE_CHANGE.test(word)) words.add(word.toLowerCase());
  }
  if (words.size < MIN_FINGERPRINT_WORDS) return null;
  const hashes = Float64Array.from(words, wordHash).sort().subarray(0, SKETCH_SIZE);
  const digest = createHash('sha256');
  for (const hash of hashes) digest.update(`${hash.toString(16)} `);
  return `content:${digest.digest('hex').slice(0, 32)}`;
}
