import type { ParsedMessage } from '../parse/types.js';
import { domainOf, organisationalDomain } from '../domains.js';
import type { FeatureWriter } from './writer.js';

const RFC5322_DATE = /^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),\s*)?\d{1,2}\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|[A-Z]{1,5})?(?:\s*\(.*\))?\s*$/i;
const MESSAGE_ID = /^<[^<>@\s]+@[^<>@\s]+>$/;
const ENCODED_WORD = /=\?[^?\s]+\?[bq]\?[^?\s]*\?=/gi;
const ADDRESS_IN_TEXT = /[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}/i;
const UNDISCLOSED = /undisclosed|recipient list suppressed/i;
const MONEY = /[$€£¥]\s?\d|\d\s?(?:[$€£¥]|usd|eur|dollars?)\b|\d+\s?%/i;
const HOUR_MS = 3_600_000;

function entropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const character of text) counts.set(character, (counts.get(character) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) {
    const share = count / text.length;
    bits -= share * Math.log2(share);
  }
  return bits;
}

/** Returns the timestamp after the last `;` of a Received header, or null. */
export function receivedTimestamp(value: string): number | null {
  const semicolon = value.lastIndexOf(';');
  if (semicolon === -1) return null;
  const parsed = Date.parse(value.slice(semicolon + 1).replace(/\(.*\)/, '').trim());
  return Number.isNaN(parsed) ? null : parsed;
}

/** True when a string mixes Latin letters with Cyrillic or Greek ones, the usual look-alike trick. */
export function mixesScripts(text: string): boolean {
  const latin = /\p{Script=Latin}/u.test(text);
  const lookalike = /[\p{Script=Cyrillic}\p{Script=Greek}]/u.test(text);
  return latin && lookalike;
}

function orgOf(address: string): string {
  return organisationalDomain(domainOf(address));
}

export function writeHeaderFeatures(message: ParsedMessage, out: FeatureWriter): void {
  const headers = message.headers;
  const fromAddress = message.from[0]?.address ?? '';
  const fromOrg = orgOf(fromAddress);

  // Message-ID
  const messageIdRaw = headers.find((field) => field.name === 'message-id')?.raw.trim() ?? '';
  out.set('header.message_id_missing', messageIdRaw === '' ? 1 : 0);
  out.set('header.message_id_malformed', messageIdRaw !== '' && !MESSAGE_ID.test(messageIdRaw) ? 1 : 0);
  const messageIdDomain = domainOf(messageIdRaw.replace(/[<>]/g, ''));
  out.set('header.message_id_domain_matches_from', fromOrg !== '' && organisationalDomain(messageIdDomain) === fromOrg ? 1 : 0);
  const localPart = messageIdRaw.replace(/^</, '').split('@')[0] ?? '';
  out.set('header.message_id_local_entropy', entropy(localPart) / 6);

  // Date against the newest Received timestamp, never against the clock, so old corpora score as new mail.
  const received = headers.filter((field) => field.name === 'received');
  const receivedTimes = received.map((field) => receivedTimestamp(field.value));
  const newestReceived = receivedTimes.find((time): time is number => time !== null) ?? null;
  out.set('header.date_missing', message.dateRaw === '' ? 1 : 0);
  out.set('header.date_invalid', message.dateRaw !== '' && message.date === null ? 1 : 0);
  out.set('header.date_nonstandard', message.dateRaw !== '' && !RFC5322_DATE.test(message.dateRaw) ? 1 : 0);
  if (message.date && newestReceived !== null) {
    const hours = (message.date.getTime() - newestReceived) / HOUR_MS;
    out.set('header.date_skew_hours', Math.sign(hours) * Math.log1p(Math.abs(hours)));
    out.set('header.date_future', hours > 1 ? 1 : 0);
  }

  // Received chain
  out.set('header.received_count', Math.log1p(received.length));
  out.set('header.received_none', received.length === 0 ? 1 : 0);
  if (received.length > 0) {
    out.set('header.received_unparsable_dates', receivedTimes.filter((time) => time === null).length / received.length);
    let outOfOrder = 0;
    for (let index = 1; index < receivedTimes.length; index += 1) {
      const above = receivedTimes[index - 1];
      const below = receivedTimes[index];
      if (above != null && below != null && below - above > HOUR_MS) outOfOrder = 1;
    }
    out.set('header.received_out_of_order', outOfOrder);
    const literalHelo = received.filter((field) => {
      const helo = /^from\s+(\S+)/i.exec(field.value)?.[1] ?? '';
      return /^\[?\d{1,3}(?:\.\d{1,3}){3}\]?$/.test(helo) || (helo !== '' && !helo.includes('.'));
    }).length;
    out.set('header.received_literal_helo', literalHelo / received.length);
  }

  // Addresses and alignment
  out.set('header.from_missing', fromAddress === '' ? 1 : 0);
  out.set('header.from_multiple', message.from.length > 1 ? 1 : 0);
  const replyTo = message.replyTo[0]?.address ?? '';
  out.set('header.reply_to_present', replyTo !== '' ? 1 : 0);
  out.set('header.reply_to_domain_mismatch', replyTo !== '' && fromOrg !== '' && orgOf(replyTo) !== fromOrg ? 1 : 0);
  out.set('header.return_path_domain_mismatch', message.returnPath.includes('@') && fromOrg !== '' && orgOf(message.returnPath) !== fromOrg ? 1 : 0);
  const sender = message.sender[0]?.address ?? '';
  out.set('header.sender_domain_mismatch', sender !== '' && fromOrg !== '' && orgOf(sender) !== fromOrg ? 1 : 0);
  const displayName = message.from[0]?.name ?? '';
  const addressInName = ADDRESS_IN_TEXT.exec(displayName)?.[0]?.toLowerCase() ?? '';
  out.set('header.display_name_has_address', addressInName !== '' ? 1 : 0);
  out.set('header.display_name_address_mismatch', addressInName !== '' && addressInName !== fromAddress ? 1 : 0);
  out.set('header.display_name_lookalike', mixesScripts(displayName) ? 1 : 0);

  out.set('header.mailer_present', headers.some((field) => field.name === 'x-mailer' || field.name === 'user-agent') ? 1 : 0);
  const toField = headers.find((field) => field.name === 'to')?.value ?? '';
  out.set('header.recipient_count', Math.log1p(message.to.length + message.cc.length));
  out.set('header.recipients_undisclosed', message.to.length === 0 || UNDISCLOSED.test(toField) ? 1 : 0);

  // Encoding
  let encodedWords = 0;
  let needless = 0;
  let rawNonAscii = 0;
  for (const field of headers) {
    const matches = field.raw.match(ENCODED_WORD);
    if (matches) {
      encodedWords += matches.length;
      // eslint-disable-next-line no-control-regex
      if (/^[\x20-\x7e]*$/.test(field.value)) needless = 1;
    }
    // eslint-disable-next-line no-control-regex
    if (/[^\x00-\x7f]/.test(field.raw)) rawNonAscii = 1;
  }
  out.set('header.encoded_words', Math.log1p(encodedWords));
  out.set('header.encoded_words_needless', needless);
  out.set('header.raw_non_ascii', rawNonAscii);

  // Subject
  const subject = message.subject;
  out.set('header.subject_missing', subject.trim() === '' ? 1 : 0);
  out.set('header.subject_length', Math.log1p(subject.length));
  const letters = subject.replace(/[^\p{L}]/gu, '');
  const upper = subject.replace(/[^\p{Lu}]/gu, '');
  out.set('header.subject_caps_ratio', letters.length >= 4 ? upper.length / letters.length : 0);
  out.set('header.subject_exclamations', Math.log1p((subject.match(/[!?]/g) ?? []).length));
  out.set('header.subject_money', MONEY.test(subject) ? 1 : 0);
  out.set('header.subject_reply', /^\s*(?:re|fwd?|aw|sv|wg)\s*(?:\[\d+\])?\s*:/i.test(subject) ? 1 : 0);

  out.set('header.in_reply_to_present', headers.some((field) => field.name === 'in-reply-to' || field.name === 'references') ? 1 : 0);
  out.set('header.list_headers', headers.some((field) => field.name === 'list-id' || field.name === 'list-unsubscribe') ? 1 : 0);
  const precedence = headers.find((field) => field.name === 'precedence')?.value.trim().toLowerCase() ?? '';
  out.set('header.precedence_bulk', precedence === 'bulk' || precedence === 'junk' ? 1 : 0);
  out.set('header.count', Math.log1p(headers.length));
}
