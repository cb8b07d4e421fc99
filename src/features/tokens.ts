import { createRequire } from 'node:module';
import type { ParsedMessage } from '../parse/types.js';

/**
 * Tokens for the content features: natural's RegexpTokenizer splits the text
 * and its PorterStemmer reduces English words to stems. Only the tokenizer
 * and stemmer modules are loaded, not natural's index, which would pull in
 * its classifiers, WordNet and sentiment data.
 */

const require = createRequire(import.meta.url);

interface Tokenizer {
  tokenize(text: string): string[];
}
interface Stemmer {
  stem(token: string): string;
}

const { RegexpTokenizer } = require('natural/lib/natural/tokenizers/regexp_tokenizer.js') as {
  RegexpTokenizer: new (options: { pattern: RegExp }) => Tokenizer;
};
const PorterStemmer = require('natural/lib/natural/stemmers/porter_stemmer.js') as Stemmer;

/** Characters of text tokenized per message; the rest adds little and costs time. */
export const MAX_TOKENIZED_CHARS = 50_000;
/** Distinct tokens kept per message. */
export const MAX_TOKENS = 2_000;
const MIN_TOKEN_LENGTH = 2;
const MAX_TOKEN_LENGTH = 32;
/** Entries in the stem memo before it is cleared; stemming dominates tokenizing cost. */
const STEM_MEMO_SIZE = 200_000;

const tokenizer = new RegexpTokenizer({ pattern: /[^\p{L}\p{N}$€£¥']+/u });
const stemMemo = new Map<string, string>();

const ENGLISH_WORD = /^[a-z']+$/i;

function stem(token: string): string {
  // Porter rules are for English; other tokens (numbers, codes, other scripts) are only
  // lower-cased, and kept out of the memo, where one-off strings would push out real words.
  // The memo contains English words only, so a hit needs no pattern test.
  const cached = stemMemo.get(token);
  if (cached !== undefined) return cached;
  if (!ENGLISH_WORD.test(token)) return token.toLowerCase();
  const stemmed = PorterStemmer.stem(token);
  if (stemMemo.size >= STEM_MEMO_SIZE) stemMemo.clear();
  stemMemo.set(token, stemmed);
  return stemmed;
}

/** Header fields whose words become tokens, with the prefix that keeps them apart from body words. */
const HEADER_TOKEN_FIELDS: Readonly<Record<string, string>> = { 'x-mailer': 'm:', 'user-agent': 'm:', 'content-type': 'ct:' };

function addTokens(tokens: Set<string>, text: string, prefix: string): void {
  for (const token of tokenizer.tokenize(text)) {
    if (tokens.size >= MAX_TOKENS) return;
    if (token.length < MIN_TOKEN_LENGTH || token.length > MAX_TOKEN_LENGTH) continue;
    if (prefix === '' && /^\d+$/.test(token)) continue;
    tokens.add(`${prefix}${stem(token)}`);
  }
}

/**
 * Returns the distinct stems of a message. Words from the Subject, the From
 * and Reply-To names and addresses, the mailer and the content types are
 * prefixed (`s:`, `f:`, `r:`, `m:`, `ct:`), so a word counts apart from
 * the same word in the body. Received, List-* and DKIM headers are left
 * out: they name the servers a message passed, which in a corpus tells the
 * source rather than spam from ham.
 */
export function messageTokens(message: Pick<ParsedMessage, 'subject' | 'text' | 'from' | 'replyTo' | 'headers'>): string[] {
  const tokens = new Set<string>();
  addTokens(tokens, message.subject, 's:');
  for (const address of message.from) addTokens(tokens, `${address.name} ${address.address}`, 'f:');
  for (const address of message.replyTo) addTokens(tokens, address.address, 'r:');
  for (const field of message.headers) {
    const prefix = HEADER_TOKEN_FIELDS[field.name];
    if (prefix) addTokens(tokens, field.value, prefix);
  }
  const text = message.text;
  addTokens(tokens, text.length > MAX_TOKENIZED_CHARS ? text.slice(0, MAX_TOKENIZED_CHARS) : text, '');
  return [...tokens];
}
