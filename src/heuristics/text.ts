import libmime from 'libmime';

/** Text helpers shared by the header and content rules. */

const ENCODED_WORD = /=\?[^?\s]+\?[bq]\?[^?\s]*\?=/gi;

/**
 * Zero-width characters: zero-width space, non-joiner and joiner, word
 * joiner, the invisible operators, and the byte-order mark.
 */
const ZERO_WIDTH_RUN = /[\u200b-\u200d\u2060-\u2064\ufeff]+/g;
/**
 * Letters of scripts that need no joiners, so a zero-width run between two
 * of them splits a word to hide it from filters. Persian and Indic text,
 * emoji sequences and padding between spaces are not counted.
 */
const SPLIT_SCRIPT_LETTER = /[\p{Script=Latin}\p{Script=Cyrillic}\p{Script=Greek}]/u;

/** Returns the RFC 2047 encoded-words of a raw header value, decoded and joined with spaces. */
export function decodeEncodedWords(raw: string): string {
  const words = raw.match(ENCODED_WORD) ?? [];
  return words
    .map((word) => {
      try {
        return libmime.decodeWords(word);
      } catch {
        return '';
      }
    })
    .join(' ');
}

/** Counts the matches of a regular expression with the `g` flag in `text`. */
export function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/** Counts the places in `text` where zero-width characters split a word. */
export function countWordSplits(text: string): number {
  let count = 0;
  for (const match of text.matchAll(ZERO_WIDTH_RUN)) {
    const before = text.charAt(match.index - 1);
    const after = text.charAt(match.index + match[0].length);
    if (SPLIT_SCRIPT_LETTER.test(before) && SPLIT_SCRIPT_LETTER.test(after)) count += 1;
  }
  return count;
}
