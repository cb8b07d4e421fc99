import type { RuleContext } from '../context.js';
import { countOf, defineRules, listSome, type RuleDefaults } from '../define.js';
import { countMatches, countWordSplits } from '../text.js';

/** Rules on the body text and on what the HTML shows or hides. */

const DEFAULTS = {
  BODY_EMPTY: { score: 0.8, description: 'No body text and no attachments' },
  BODY_CAPS_EXCESSIVE: { score: 1.0, description: 'Most letters of the body text are capitals' },
  SPAM_PHRASES: { score: 1.0, description: 'Several phrases typical of advertising spam' },
  PHISHING_PHRASES: { score: 1.0, description: 'Phrases typical of account phishing' },
  ADVANCE_FEE_PHRASES: { score: 2.0, description: 'Phrases typical of advance-fee fraud' },
  MONEY_AMOUNTS: { score: 0.5, description: 'Many amounts of money in the body' },
  BODY_ZERO_WIDTH: { score: 1.5, description: 'Zero-width characters split words in the body' },
  HTML_IMAGE_HEAVY: { score: 1.0, description: 'HTML with images and little text' },
  HTML_HIDDEN_TEXT: { score: 1.0, description: 'HTML hides a block of text with CSS' },
  HTML_INVISIBLE_COLOUR: { score: 1.5, description: 'HTML text in the same colour as its background' },
  HTML_FORM: { score: 0.8, description: 'HTML contains a form' },
  HTML_SCRIPT: { score: 0.5, description: 'HTML contains a script' },
  HTML_TEXT_MISMATCH: { score: 1.0, description: 'Plain-text and HTML alternatives say different things' },
} satisfies Record<string, RuleDefaults>;

/** BODY_CAPS_EXCESSIVE needs at least this many ASCII letters before it judges. */
const MIN_CAPS_LETTERS = 200;
/** Share of capitals among ASCII letters above which BODY_CAPS_EXCESSIVE fires. */
const MAX_CAPS_RATIO = 0.5;
/** Distinct advertising phrases needed for SPAM_PHRASES. Newsletters have one or two ("unsubscribe", "click here"). */
const MIN_SPAM_PHRASES = 3;
const MIN_PHISHING_PHRASES = 1;
const MIN_ADVANCE_FEE_PHRASES = 2;
/** Money amounts needed for MONEY_AMOUNTS. Receipts and invoices list several, so the bar is high. */
const MIN_MONEY_AMOUNTS = 6;
/** Word splits needed for BODY_ZERO_WIDTH. */
const MIN_WORD_SPLITS = 3;
/** HTML_IMAGE_HEAVY fires when the HTML has an image and fewer visible characters than this. */
const MAX_IMAGE_MAIL_TEXT = 300;
/** Characters of hidden text needed for HTML_HIDDEN_TEXT. The hidden preview line of a newsletter is shorter. */
const MIN_HIDDEN_TEXT = 200;
/** HTML_TEXT_MISMATCH only judges HTML with at least this many distinct words. */
const MIN_HTML_WORDS = 20;
/** Share of plain-text words that must also be in the HTML for the alternatives to count as the same content. */
const MIN_SHARED_WORDS = 0.3;
/** Characters of each alternative compared. The start of a message is enough to tell whether both carry the same content. */
const MAX_COMPARED_CHARS = 20_000;
/** Characters of HTML read for that comparison, twice as many because markup takes up much of them. */
const MAX_COMPARED_HTML_CHARS = 40_000;
/** Characters of body text sampled for the capitals ratio. */
const MAX_CAPS_SAMPLE = 20_000;

/** Lower-case phrases, matched case-insensitively on whole words with any white space between words. */
const SPAM_PHRASES = [
  '100% free', 'act now', 'buy now', 'cash bonus', 'click here', 'dear friend', 'double your',
  'earn money', 'extra income', 'free gift', 'limited time', 'lose weight', 'lowest price',
  'make money', 'no obligation', 'once in a lifetime', 'order now', 'risk free', 'risk-free',
  'special promotion', 'this is not spam', 'to be removed', 'unsubscribe', 'viagra', 'winner',
  'work from home', 'you have been selected',
];
const PHISHING_PHRASES = [
  'account has been locked', 'account has been suspended', 'account will be closed',
  'account will be suspended', 'confirm your account', 'confirm your identity', 'mailbox is full',
  'mailbox quota', 'password will expire', 'reactivate your account', 'unusual sign-in activity',
  'update your billing', 'update your payment', 'validate your account', 'verify your account',
  'verify your identity',
];
const ADVANCE_FEE_PHRASES = [
  'atm card', 'bank draft', 'barrister', 'beneficiary', 'business proposal', 'compensation fund',
  'confidential business', 'deceased', 'foreign account', 'late client', 'million dollars',
  'million united states dollars', 'next of kin', 'strictly confidential', 'transfer of funds',
  'western union', 'wire transfer',
];

/** Digit groups are bounded, so a long run such as "1,1,1,..." costs linear time instead of quadratic. */
const MONEY_AMOUNT = /[$€£¥]\s?\d[\d,.]{0,20}|\b\d[\d,.]{0,20}\s?(?:usd|eur|gbp|dollars|euros|pounds)\b/gi;
/** Tags, removed to compare the words of the HTML with the plain text. Style and script text stay, which only adds words. */
const TAG = /<[^>]*>/g;
/**
 * A word of three or more lower-case letters in Latin or Cyrillic script.
 * A plain character class is several times faster than `\p{L}` with the
 * `u` flag, and scripts without spaces between words give no words, so the
 * rule does not judge them.
 */
const WORD = /[a-z\u00df-\u024f\u0430-\u045f]{3,}/g;

/** One case-insensitive pattern for all phrase lists, so the text is scanned once whatever the number of phrases. */
const PHRASE_PATTERN = buildPhrasePattern([...SPAM_PHRASES, ...PHISHING_PHRASES, ...ADVANCE_FEE_PHRASES]);

/**
 * Builds `\b(?:phrase|...)\b` with any white space allowed between words,
 * longest phrases first so that a phrase wins over its own prefix.
 */
function buildPhrasePattern(phrases: readonly string[]): RegExp {
  const alternatives = [...phrases]
    .sort((left, right) => right.length - left.length)
    .map((phrase) => phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+'));
  return new RegExp(`\\b(?:${alternatives.join('|')})\\b`, 'gi');
}

/** Returns the listed phrases found in the subject and body text, lower case with single spaces. */
function phrasesIn(context: RuleContext): ReadonlySet<string> {
  return context.memo('content.phrases', () => {
    const found = new Set<string>();
    for (const text of [context.message.subject, context.text]) {
      for (const match of text.matchAll(PHRASE_PATTERN)) found.add(match[0].toLowerCase().replace(/\s+/g, ' '));
    }
    return found;
  });
}

function phraseRule(phrases: readonly string[], minimum: number): (context: RuleContext) => string | false {
  return (context) => {
    const found = phrasesIn(context);
    const listed = phrases.filter((phrase) => found.has(phrase));
    return listed.length >= minimum ? listSome(listed, 5) : false;
  };
}

function capitalRatio(text: string): { letters: number; ratio: number } {
  let upper = 0;
  let lower = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code >= 65 && code <= 90) upper += 1;
    else if (code >= 97 && code <= 122) lower += 1;
  }
  const letters = upper + lower;
  return { letters, ratio: letters === 0 ? 0 : upper / letters };
}

function wordSet(text: string): Set<string> {
  return new Set(text.slice(0, MAX_COMPARED_CHARS).toLowerCase().match(WORD));
}

function hasAlternative(context: RuleContext): boolean {
  const types = context.message.parts.map((part) => part.contentType);
  return types.includes('multipart/alternative') && types.includes('text/plain') && types.includes('text/html');
}

export const CONTENT_RULES = defineRules('content', DEFAULTS, {
  BODY_EMPTY: (context) =>
    context.text.trim() === '' && context.message.htmlStats.visibleTextLength === 0 && context.message.attachments.length === 0,

  BODY_CAPS_EXCESSIVE: (context) => {
    const { letters, ratio } = capitalRatio(context.text.slice(0, MAX_CAPS_SAMPLE));
    if (letters < MIN_CAPS_LETTERS || ratio <= MAX_CAPS_RATIO) return false;
    return `${Math.round(ratio * 100)}% capitals`;
  },

  SPAM_PHRASES: phraseRule(SPAM_PHRASES, MIN_SPAM_PHRASES),
  PHISHING_PHRASES: phraseRule(PHISHING_PHRASES, MIN_PHISHING_PHRASES),
  ADVANCE_FEE_PHRASES: phraseRule(ADVANCE_FEE_PHRASES, MIN_ADVANCE_FEE_PHRASES),

  MONEY_AMOUNTS: (context) => {
    const count = countMatches(context.text, MONEY_AMOUNT);
    return count >= MIN_MONEY_AMOUNTS ? countOf(count, 'amount') : false;
  },

  BODY_ZERO_WIDTH: (context) => {
    const count = countWordSplits(context.text);
    return count >= MIN_WORD_SPLITS ? countOf(count, 'split word') : false;
  },

  HTML_IMAGE_HEAVY: (context) => {
    const { images, visibleTextLength } = context.message.htmlStats;
    if (images === 0 || visibleTextLength >= MAX_IMAGE_MAIL_TEXT) return false;
    return `${countOf(images, 'image')}, ${countOf(visibleTextLength, 'character')} of text`;
  },

  HTML_HIDDEN_TEXT: (context) => {
    const { hiddenElements, hiddenTextLength } = context.message.htmlStats;
    if (hiddenTextLength < MIN_HIDDEN_TEXT) return false;
    return `${countOf(hiddenTextLength, 'hidden character')} in ${countOf(hiddenElements, 'element')}`;
  },

  HTML_INVISIBLE_COLOUR: (context) => {
    const count = context.message.htmlStats.invisibleColourText;
    return count > 0 ? countOf(count, 'element') : false;
  },

  HTML_FORM: (context) => context.message.htmlStats.forms > 0,

  HTML_SCRIPT: (context) => context.message.htmlStats.scripts > 0,

  HTML_TEXT_MISMATCH: (context) => {
    if (!hasAlternative(context)) return false;
    const htmlWords = wordSet(context.html.slice(0, MAX_COMPARED_HTML_CHARS).replace(TAG, ' '));
    if (htmlWords.size < MIN_HTML_WORDS) return false;
    const textWords = wordSet(context.text);
    if (textWords.size === 0) return 'plain-text alternative is empty';
    let shared = 0;
    for (const word of textWords) if (htmlWords.has(word)) shared += 1;
    const ratio = shared / textWords.size;
    return ratio < MIN_SHARED_WORDS ? `${Math.round(ratio * 100)}% of plain-text words appear in the HTML` : false;
  },
});
