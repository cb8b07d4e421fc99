import { createHash } from 'node:crypto';

/**
 * The feature schema: every model input by name, in order. A model stores the
 * digest of the schema it was trained with and is rejected when the digest
 * differs, so any change here (a name, the order, the version) needs a
 * retrained model. Raise FEATURE_SCHEMA_VERSION with every change.
 */

export const FEATURE_SCHEMA_VERSION = 2;

export interface FeatureDefinition {
  name: string;
  description: string;
}

const AUTH_MECHANISMS = ['spf', 'dkim', 'dmarc', 'arc'] as const;
const BEHAVIOUR_KIND_NAMES = { sender: 'envelope sender', org: 'From organisational domain', net: 'client network (/24 or /64)' } as const;
const BEHAVIOUR_MEASURE_DESCRIPTIONS = {
  count_1h: 'log1p of messages in the last hour',
  count_24h: 'log1p of messages in the last 24 hours',
  new: 'never seen before',
  age_days: 'log1p of days since first seen',
  recipients: 'log1p of distinct recipients so far',
  spam_share: 'smoothed share of spam among earlier verdicts, 0.5 without any',
  reports: 'log1p of spam reports minus log1p of ham reports',
} as const;
const AUTH_STATES = ['pass', 'fail', 'weak', 'unknown'] as const;

const DEFINITIONS: FeatureDefinition[] = [
  // Header
  { name: 'header.message_id_missing', description: 'no Message-ID header' },
  { name: 'header.message_id_malformed', description: 'Message-ID is not <local@domain>' },
  { name: 'header.message_id_domain_matches_from', description: 'Message-ID domain shares the From organisational domain' },
  { name: 'header.message_id_local_entropy', description: 'character entropy of the Message-ID local part, bits per character' },
  { name: 'header.date_missing', description: 'no Date header' },
  { name: 'header.date_invalid', description: 'Date header present but unparsable' },
  { name: 'header.date_nonstandard', description: 'Date header not in RFC 5322 form' },
  { name: 'header.date_skew_hours', description: 'signed log1p of hours from the newest Received timestamp to Date' },
  { name: 'header.date_future', description: 'Date more than one hour after the newest Received timestamp' },
  { name: 'header.received_count', description: 'log1p of the number of Received headers' },
  { name: 'header.received_none', description: 'no Received header' },
  { name: 'header.received_unparsable_dates', description: 'share of Received headers whose timestamp does not parse' },
  { name: 'header.received_out_of_order', description: 'a Received timestamp later than the hop above it by over an hour' },
  { name: 'header.received_literal_helo', description: 'share of Received hops whose HELO is an IP literal or a bare word' },
  { name: 'header.from_missing', description: 'no parsable From address' },
  { name: 'header.from_multiple', description: 'more than one From address' },
  { name: 'header.reply_to_present', description: 'a Reply-To header' },
  { name: 'header.reply_to_domain_mismatch', description: 'Reply-To organisational domain differs from From' },
  { name: 'header.return_path_domain_mismatch', description: 'Return-Path organisational domain differs from From' },
  { name: 'header.sender_domain_mismatch', description: 'Sender organisational domain differs from From' },
  { name: 'header.display_name_has_address', description: 'From display name contains an email address' },
  { name: 'header.display_name_address_mismatch', description: 'address in the From display name differs from the From address' },
  { name: 'header.display_name_lookalike', description: 'From display name mixes scripts or uses look-alike characters' },
  { name: 'header.mailer_present', description: 'an X-Mailer or User-Agent header' },
  { name: 'header.recipient_count', description: 'log1p of To and Cc addresses' },
  { name: 'header.recipients_undisclosed', description: 'To missing, empty or undisclosed-recipients' },
  { name: 'header.encoded_words', description: 'log1p of RFC 2047 encoded-words across headers' },
  { name: 'header.encoded_words_needless', description: 'an encoded-word whose decoded text is plain ASCII' },
  { name: 'header.raw_non_ascii', description: 'raw 8-bit characters in header fields' },
  { name: 'header.subject_missing', description: 'no or empty Subject' },
  { name: 'header.subject_length', description: 'log1p of the Subject length' },
  { name: 'header.subject_caps_ratio', description: 'share of upper-case letters in the Subject' },
  { name: 'header.subject_exclamations', description: 'log1p of ! and ? in the Subject' },
  { name: 'header.subject_money', description: 'currency sign, amount or percent in the Subject' },
  { name: 'header.subject_reply', description: 'Subject starts with Re: or Fwd:' },
  { name: 'header.in_reply_to_present', description: 'In-Reply-To or References header' },
  { name: 'header.list_headers', description: 'List-Id or List-Unsubscribe header' },
  { name: 'header.precedence_bulk', description: 'Precedence: bulk or junk' },
  { name: 'header.count', description: 'log1p of the number of header fields' },
  // Content
  { name: 'content.text_length', description: 'log1p of plain text length' },
  { name: 'content.html_present', description: 'an HTML body' },
  { name: 'content.html_only', description: 'HTML body without a text/plain part' },
  { name: 'content.html_text_ratio', description: 'visible text length over HTML length' },
  { name: 'content.hidden_text_ratio', description: 'share of HTML text that is hidden by CSS or colour' },
  { name: 'content.images', description: 'log1p of <img> tags' },
  { name: 'content.forms_or_scripts', description: '<form> or <script> in the HTML' },
  { name: 'content.zero_width', description: 'log1p of zero-width characters in text and Subject' },
  { name: 'content.caps_ratio', description: 'share of upper-case letters in the text' },
  { name: 'content.exclamation_density', description: '! per 100 characters of text' },
  { name: 'content.money_density', description: 'currency amounts per 1,000 characters of text' },
  { name: 'content.non_latin_ratio', description: 'share of letters outside the Latin script' },
  { name: 'content.token_count', description: 'log1p of distinct tokens' },
  { name: 'content.token_spamicity', description: 'Robinson-Fisher combined token spamicity, 0 to 1' },
  { name: 'content.token_spam_evidence', description: 'Fisher spam evidence 1 - P, 0 to 1' },
  { name: 'content.token_ham_evidence', description: 'Fisher ham evidence 1 - Q, 0 to 1' },
  { name: 'content.token_strong_spam', description: 'log1p of tokens with spam probability at least 0.9' },
  { name: 'content.token_strong_ham', description: 'log1p of tokens with spam probability at most 0.1' },
  { name: 'content.token_known_ratio', description: 'share of tokens seen in training' },
  // URLs
  { name: 'url.count', description: 'log1p of links' },
  { name: 'url.distinct_hosts', description: 'log1p of distinct link hosts' },
  { name: 'url.ip_literal', description: 'log1p of links to an IP literal host' },
  { name: 'url.shortener', description: 'log1p of links through a URL shortener' },
  { name: 'url.anchor_mismatch', description: 'log1p of anchors whose text names another host than the href' },
  { name: 'url.punycode', description: 'log1p of links to punycode (xn--) hosts' },
  { name: 'url.from_domain_share', description: 'share of links whose host is in the From organisational domain' },
  // MIME and attachments
  { name: 'mime.part_count', description: 'log1p of MIME entities' },
  { name: 'mime.max_depth', description: 'deepest multipart nesting' },
  { name: 'mime.attachments', description: 'log1p of attachments' },
  { name: 'mime.risky_extension', description: 'an attachment with an executable or script extension' },
  { name: 'mime.double_extension', description: 'an attachment name with a document extension before an executable one' },
  { name: 'mime.rtl_override', description: 'a right-to-left override character in an attachment name' },
  { name: 'mime.type_mismatch', description: 'an attachment whose sniffed type contradicts the declared type' },
  { name: 'mime.text_base64', description: 'text body sent in base64' },
  { name: 'mime.missing_charset', description: 'a text part with 8-bit content and no charset' },
  // Parse
  { name: 'parse.limits_hit', description: 'log1p of parser limits hit' },
  { name: 'parse.warnings', description: 'log1p of structural warnings' },
  // Sender behaviour from the behaviour store, before this message
  { name: 'behaviour.unknown', description: 'behaviour store unavailable or not used' },
  ...Object.entries(BEHAVIOUR_KIND_NAMES).flatMap(([kind, kindName]) =>
    Object.entries(BEHAVIOUR_MEASURE_DESCRIPTIONS).map(([measure, description]) => ({ name: `behaviour.${kind}_${measure}`, description: `${kindName}: ${description}` })),
  ),
  // Authentication: four states per mechanism, exactly one set
  ...AUTH_MECHANISMS.flatMap((mechanism) =>
    AUTH_STATES.map((state) => ({ name: `auth.${mechanism}_${state}`, description: `${mechanism.toUpperCase()} result is ${state}` })),
  ),
];

export const FEATURES: readonly FeatureDefinition[] = Object.freeze(DEFINITIONS);
export const FEATURE_NAMES: readonly string[] = Object.freeze(DEFINITIONS.map((definition) => definition.name));
export const FEATURE_COUNT = FEATURE_NAMES.length;

const INDEX = new Map<string, number>(FEATURE_NAMES.map((name, index) => [name, index]));

/** Returns the position of a feature, or throws for a name outside the schema (a programming error). */
export function featureIndex(name: string): number {
  const index = INDEX.get(name);
  if (index === undefined) throw new Error(`Unknown feature "${name}"`);
  return index;
}

/** sha256 over the version and the ordered names: what a model records and is checked against. */
export const FEATURE_SCHEMA_DIGEST = createHash('sha256')
  .update(`spamward-features/${FEATURE_SCHEMA_VERSION}\n${FEATURE_NAMES.join('\n')}`)
  .digest('hex');

export { AUTH_MECHANISMS, AUTH_STATES };
