import { countOf, defineRules, type RuleDefaults } from '../define.js';
import { countMatches, countWordSplits, decodeEncodedWords } from '../text.js';

/** Rules on the Subject header. They read the subject with any upstream `[SPAM]` tag removed. */

const DEFAULTS = {
  SUBJECT_MISSING: { score: 0.5, description: 'Subject is missing or empty' },
  SUBJECT_ALL_CAPS: { score: 1.0, description: 'Subject is written in capitals only' },
  SUBJECT_EXCLAMATIONS: { score: 1.0, description: 'Subject has several exclamation marks' },
  SUBJECT_MONEY: { score: 0.8, description: 'Subject names an amount of money or a percentage' },
  SUBJECT_NEEDLESS_ENCODING: { score: 0.5, description: 'Subject is MIME-encoded although it is plain ASCII' },
  SUBJECT_ZERO_WIDTH: { score: 1.5, description: 'Zero-width characters split words in the Subject' },
  SUBJECT_FAKE_REPLY: { score: 0.5, description: 'Subject starts with Re: but the message replies to nothing' },
} satisfies Record<string, RuleDefaults>;

/** SUBJECT_ALL_CAPS needs at least this many letters, so short words such as "FYI" pass. */
const MIN_CAPS_LETTERS = 10;
/** This many exclamation marks or more fire SUBJECT_EXCLAMATIONS. */
const MIN_EXCLAMATIONS = 3;

const LETTER = /\p{L}/gu;
const LOWER_CASE = /\p{Ll}/u;
const UPPER_CASE = /\p{Lu}/u;
const MONEY = /[$€£¥]\s?\d[\d,.]{0,20}|\d\s?(?:usd|eur|gbp|dollars?|euros?)\b|\d\s?%/i;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** Reply prefixes in English, German, Scandinavian and Dutch mail clients. */
const REPLY_PREFIX = /^\s*(?:re|aw|sv|antw)\s*(?:\[\d+\])?\s*:/i;

export const SUBJECT_RULES = defineRules('header', DEFAULTS, {
  SUBJECT_MISSING: (context) => {
    if (!context.hasHeader('subject')) return 'no Subject header';
    return context.message.subject.trim() === '' ? 'empty Subject' : false;
  },

  SUBJECT_ALL_CAPS: (context) => {
    const subject = context.message.subject;
    if (countMatches(subject, LETTER) < MIN_CAPS_LETTERS) return false;
    return UPPER_CASE.test(subject) && !LOWER_CASE.test(subject);
  },

  SUBJECT_EXCLAMATIONS: (context) => {
    const count = countMatches(context.message.subject, /!/g);
    return count >= MIN_EXCLAMATIONS ? countOf(count, 'exclamation mark') : false;
  },

  SUBJECT_MONEY: (context) => {
    const match = MONEY.exec(context.message.subject);
    return match === null ? false : match[0];
  },

  SUBJECT_NEEDLESS_ENCODING: (context) => {
    const decoded = decodeEncodedWords(context.rawHeader('subject'));
    return decoded !== '' && PRINTABLE_ASCII.test(decoded);
  },

  SUBJECT_ZERO_WIDTH: (context) => {
    const count = countWordSplits(context.message.subject);
    return count > 0 ? countOf(count, 'split word') : false;
  },

  SUBJECT_FAKE_REPLY: (context) => {
    if (!REPLY_PREFIX.test(context.message.subject)) return false;
    return !context.hasHeader('in-reply-to') && !context.hasHeader('references');
  },
});
