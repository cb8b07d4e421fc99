import type { Address } from '../../parse/types.js';
import type { RuleContext } from '../context.js';
import { countOf, defineRules, listSome, type RuleDefaults } from '../define.js';
import { domainOf, organisationalDomain, sameOrganisation } from '../../domains.js';
import { decodeEncodedWords } from '../text.js';

/** Rules on the originator and recipient fields: From, Reply-To, Return-Path, To and Cc. */

const DEFAULTS = {
  FROM_MISSING: { score: 1.5, description: 'No From header or no readable From address' },
  FROM_REPLYTO_DOMAIN_MISMATCH: { score: 0.5, description: 'Reply-To domain differs from the From domain' },
  REPLYTO_FREEMAIL: { score: 1.5, description: 'Reply-To is a free-mail address but From is not' },
  RETURN_PATH_MISMATCH: { score: 0.3, description: 'Envelope sender domain differs from the From domain' },
  FROM_NAME_OTHER_ADDRESS: { score: 2.0, description: 'From display name shows an address other than the sender' },
  FROM_NAME_MIXED_SCRIPT: { score: 2.0, description: 'From display name mixes look-alike scripts in one word' },
  FROM_ENCODED_ADDRESS: { score: 2.0, description: 'From hides an address inside an encoded-word' },
  FROM_NEEDLESS_ENCODING: { score: 0.5, description: 'From display name is encoded although it is plain ASCII' },
  TO_UNDISCLOSED: { score: 0.7, description: 'No visible recipient in To (missing, empty or undisclosed-recipients)' },
  MANY_RECIPIENTS: { score: 1.0, description: 'Many addresses in To and Cc of a message that is not list mail' },
  HEADER_8BIT_UNENCODED: { score: 0.8, description: 'Non-ASCII characters in address or subject headers without MIME encoding' },
} satisfies Record<string, RuleDefaults>;

/** More addresses than this in To and Cc together fire MANY_RECIPIENTS. */
const MAX_RECIPIENTS = 15;
/** Characters of a display name searched for an address; a longer name is abuse in itself. */
const MAX_NAME_SCANNED = 1_000;

/**
 * Organisational domains of large free-mail providers, used to spot a
 * free-mail Reply-To under a company From. Each regional domain, such as
 * yahoo.co.uk, needs its own entry.
 */
const FREEMAIL_DOMAINS = new Set([
  '126.com', '163.com', 'aol.com', 'fastmail.com', 'gmail.com', 'gmx.com', 'gmx.de', 'gmx.net',
  'googlemail.com', 'hotmail.co.uk', 'hotmail.com', 'hotmail.fr', 'hushmail.com', 'icloud.com',
  'inbox.com', 'juno.com', 'live.com', 'lycos.com', 'mail.com', 'mail.ru', 'me.com', 'msn.com',
  'outlook.com', 'proton.me', 'protonmail.com', 'qq.com', 'rediffmail.com', 'tutanota.com',
  'usa.net', 'web.de', 'yahoo.co.uk', 'yahoo.com', 'yahoo.fr', 'yandex.com', 'yandex.ru',
  'ymail.com', 'zoho.com',
]);

/** Header fields that should carry non-ASCII text only as RFC 2047 encoded-words. */
const ENCODED_ONLY_FIELDS = ['from', 'to', 'cc', 'reply-to', 'sender', 'subject'];

/** An address inside display-name text. The local part is bounded (RFC 5321 allows 64 octets) to keep the scan linear. */
const ADDRESS_IN_TEXT = /[a-z0-9._%+-]{1,64}@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,63}/gi;
const NON_ASCII = /[^\x00-\x7f]/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const LATIN = /\p{Script=Latin}/u;
const LOOKALIKE_SCRIPT = /[\p{Script=Cyrillic}\p{Script=Greek}]/u;
/** Fullwidth Latin letters and the mathematical alphanumeric block, used to restyle brand names. */
const STYLED_LETTERS = /[\uff21-\uff3a\uff41-\uff5a\u{1d400}-\u{1d7ff}]/u;

function isFreemail(domain: string): boolean {
  return domain !== '' && FREEMAIL_DOMAINS.has(organisationalDomain(domain));
}

function readableAddresses(list: readonly Address[]): Address[] {
  return list.filter((address) => address.address !== '');
}

function envelopeSenderDomain(context: RuleContext): string {
  const mailFrom = context.envelope.mailFrom;
  if (mailFrom !== undefined) return domainOf(mailFrom.replace(/^<|>$/g, ''));
  return domainOf(context.message.returnPath);
}

export const ADDRESS_RULES = defineRules('header', DEFAULTS, {
  FROM_MISSING: (context) => {
    if (!context.hasHeader('from')) return 'no From header';
    return context.from === undefined ? `unreadable: ${context.rawHeader('from')}` : false;
  },

  FROM_REPLYTO_DOMAIN_MISMATCH: (context) => {
    // Mailing lists set Reply-To to the list address on purpose.
    if (context.fromDomain === '' || context.isListMail) return false;
    const other = readableAddresses(context.message.replyTo).find((address) => !sameOrganisation(address.domain, context.fromDomain));
    return other === undefined ? false : `${other.domain} vs ${context.fromDomain}`;
  },

  REPLYTO_FREEMAIL: (context) => {
    // Lists that rewrite From to their own address put the author's address in Reply-To.
    if (context.fromDomain === '' || isFreemail(context.fromDomain) || context.isListMail) return false;
    const free = readableAddresses(context.message.replyTo).find((address) => isFreemail(address.domain));
    return free === undefined ? false : free.address;
  },

  RETURN_PATH_MISMATCH: (context) => {
    // Mailing lists send with their own bounce address, and an empty sender belongs to bounces.
    const senderDomain = envelopeSenderDomain(context);
    if (senderDomain === '' || context.fromDomain === '' || context.isListMail) return false;
    return sameOrganisation(senderDomain, context.fromDomain) ? false : `${senderDomain} vs ${context.fromDomain}`;
  },

  FROM_NAME_OTHER_ADDRESS: (context) => {
    const from = context.from;
    if (from === undefined) return false;
    const displayed = (from.name.slice(0, MAX_NAME_SCANNED).match(ADDRESS_IN_TEXT) ?? []).map((address) => address.toLowerCase());
    const other = displayed.find((address) => address !== from.address);
    return other === undefined ? false : `${other} shown, sent from ${from.address}`;
  },

  FROM_NAME_MIXED_SCRIPT: (context) => {
    const name = context.from?.name ?? '';
    if (name === '' || !NON_ASCII.test(name)) return false;
    if (STYLED_LETTERS.test(name)) return name;
    const mixed = name.split(/[\s\p{P}]+/u).find((word) => LATIN.test(word) && LOOKALIKE_SCRIPT.test(word));
    return mixed === undefined ? false : name;
  },

  FROM_ENCODED_ADDRESS: (context) => {
    const decoded = decodeEncodedWords(context.rawHeader('from'));
    return decoded.includes('@') ? decoded : false;
  },

  FROM_NEEDLESS_ENCODING: (context) => {
    const decoded = decodeEncodedWords(context.rawHeader('from'));
    return decoded !== '' && PRINTABLE_ASCII.test(decoded) ? decoded : false;
  },

  TO_UNDISCLOSED: (context) => {
    if (!context.hasHeader('to')) return 'no To header';
    if (readableAddresses(context.message.to).length > 0) return false;
    return `To: ${context.rawHeader('to')}`;
  },

  MANY_RECIPIENTS: (context) => {
    // Discussion lists often copy a long list of people; the list itself is one recipient.
    if (context.isListMail) return false;
    const count = readableAddresses(context.message.to).length + readableAddresses(context.message.cc).length;
    return count > MAX_RECIPIENTS ? countOf(count, 'recipient') : false;
  },

  HEADER_8BIT_UNENCODED: (context) => {
    const names = ENCODED_ONLY_FIELDS.filter((name) => context.headers(name).some((field) => NON_ASCII.test(field.raw)));
    return names.length === 0 ? false : listSome(names, ENCODED_ONLY_FIELDS.length);
  },
});
