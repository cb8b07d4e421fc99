import { isIP } from 'node:net';
import type { RuleContext } from '../context.js';
import { isRfc5322Date } from '../dates.js';
import { countOf, defineRules, type RuleDefaults } from '../define.js';
import { sameOrganisation } from '../../domains.js';

/** Rules on trace, identity and transport headers: Message-ID, Date, Received, mailer and HELO. */

const DEFAULTS = {
  MISSING_MESSAGE_ID: { score: 1.0, description: 'No Message-ID header' },
  INVALID_MESSAGE_ID: { score: 1.0, description: 'Message-ID is not in the <local@domain> form' },
  MESSAGE_ID_DOMAIN_MISMATCH: { score: 0.2, description: 'Message-ID domain differs from the From domain' },
  MISSING_DATE: { score: 1.0, description: 'No Date header' },
  INVALID_DATE: { score: 1.0, description: 'Date header is not an RFC 5322 date-time' },
  DATE_IN_FUTURE: { score: 1.5, description: 'Date is well after the newest Received timestamp' },
  DATE_IN_PAST: { score: 1.0, description: 'Date is well before the newest Received timestamp' },
  NO_RECEIVED: { score: 0.3, description: 'No Received headers' },
  RECEIVED_CHAIN_LONG: { score: 0.5, description: 'Unusually many Received headers' },
  BULK_MAILER: { score: 2.0, description: 'X-Mailer or User-Agent names a bulk mailing program' },
  PRECEDENCE_BULK_NO_LIST: { score: 0.3, description: 'Precedence: bulk or junk without a List-Id' },
  HIGH_PRIORITY: { score: 0.5, description: 'Marked as high priority' },
  HELO_INVALID: { score: 0.8, description: 'SMTP HELO name is a bare IP address or not a fully qualified name' },
  IN_REPLY_TO_PRESENT: { score: -0.5, description: 'Replies to an earlier message (In-Reply-To or References)' },
  LIST_HEADERS: { score: -0.5, description: 'Sent through a mailing list (List-Id)' },
} satisfies Record<string, RuleDefaults>;

/** Date more than this far after the newest Received timestamp fires DATE_IN_FUTURE: 12 hours. */
const FUTURE_TOLERANCE_MS = 12 * 60 * 60 * 1000;
/** Date more than this far before the newest Received timestamp fires DATE_IN_PAST: 96 hours. */
const PAST_TOLERANCE_MS = 96 * 60 * 60 * 1000;
/** More Received headers than this fire RECEIVED_CHAIN_LONG. Mailing-list mail commonly has 8 to 12. */
const MAX_RECEIVED = 20;

/**
 * Lower-case name fragments of programs sold for mass mailing, matched in
 * X-Mailer and User-Agent. Mail from newsletter services is not listed,
 * because those services name themselves in other headers.
 */
const BULK_MAILERS = [
  'advanced mass sender',
  'atomic mail sender',
  'bulk mailer',
  'dark mailer',
  'darkmailer',
  'group mail',
  'mailking',
  'mass mailer',
  'send-safe',
  'stealth mailer',
  'worldmerge',
];

/** `<local@domain>` with nothing else but white space around it. */
const MESSAGE_ID_FORM = /^\s*<[^<>@\s]+@[^<>@\s]+>\s*$/;
const HOURS_MS = 60 * 60 * 1000;

function messageIdDomain(context: RuleContext): string {
  const match = /@([^<>@\s]+)>\s*$/.exec(context.rawHeader('message-id'));
  return (match?.[1] ?? '').toLowerCase();
}

function dateSkewHours(context: RuleContext): number | null {
  const date = context.message.date;
  const received = context.receivedTime;
  if (date === null || received === null) return null;
  return (date.getTime() - received) / HOURS_MS;
}

export const HEADER_RULES = defineRules('header', DEFAULTS, {
  MISSING_MESSAGE_ID: (context) => !context.hasHeader('message-id'),

  INVALID_MESSAGE_ID: (context) => {
    if (!context.hasHeader('message-id')) return false;
    const raw = context.rawHeader('message-id');
    return MESSAGE_ID_FORM.test(raw) ? false : raw;
  },

  MESSAGE_ID_DOMAIN_MISMATCH: (context) => {
    const idDomain = messageIdDomain(context);
    if (idDomain === '' || context.fromDomain === '') return false;
    if (sameOrganisation(idDomain, context.fromDomain)) return false;
    return `${idDomain} vs ${context.fromDomain}`;
  },

  MISSING_DATE: (context) => !context.hasHeader('date'),

  INVALID_DATE: (context) => {
    if (!context.hasHeader('date')) return false;
    const raw = context.rawHeader('date');
    if (context.message.date === null) return `unreadable: ${raw}`;
    return isRfc5322Date(raw) ? false : raw;
  },

  DATE_IN_FUTURE: (context) => {
    const hours = dateSkewHours(context);
    if (hours === null || hours * HOURS_MS <= FUTURE_TOLERANCE_MS) return false;
    return `${Math.round(hours)} hours after the newest Received`;
  },

  DATE_IN_PAST: (context) => {
    const hours = dateSkewHours(context);
    if (hours === null || -hours * HOURS_MS <= PAST_TOLERANCE_MS) return false;
    return `${Math.round(-hours)} hours before the newest Received`;
  },

  NO_RECEIVED: (context) => !context.hasHeader('received'),

  RECEIVED_CHAIN_LONG: (context) => {
    const count = context.headers('received').length;
    return count > MAX_RECEIVED ? countOf(count, 'Received header') : false;
  },

  BULK_MAILER: (context) => {
    for (const name of ['x-mailer', 'user-agent']) {
      const value = context.header(name);
      const lower = value.toLowerCase();
      if (BULK_MAILERS.some((mailer) => lower.includes(mailer))) return value;
    }
    return false;
  },

  PRECEDENCE_BULK_NO_LIST: (context) => {
    const precedence = context.header('precedence').trim().toLowerCase();
    return (precedence === 'bulk' || precedence === 'junk') && !context.isListMail;
  },

  HIGH_PRIORITY: (context) => {
    if (/^\s*[12]\b/.test(context.header('x-priority'))) return `X-Priority: ${context.header('x-priority')}`;
    if (/^\s*high\b/i.test(context.header('x-msmail-priority'))) return 'X-MSMail-Priority: High';
    if (/^\s*high\b/i.test(context.header('importance'))) return 'Importance: high';
    return false;
  },

  HELO_INVALID: (context) => {
    const helo = context.envelope.helo?.trim() ?? '';
    if (helo === '') return false;
    if (isIP(helo) !== 0) return `bare IP address ${helo}`;
    // An address literal such as [192.0.2.1] is valid in RFC 5321, so only names without a dot fire.
    if (helo.startsWith('[') && helo.endsWith(']')) return false;
    return helo.includes('.') ? false : `not fully qualified: ${helo}`;
  },

  IN_REPLY_TO_PRESENT: (context) => context.header('in-reply-to').trim() !== '' || context.header('references').trim() !== '',

  LIST_HEADERS: (context) => context.isListMail,
});
