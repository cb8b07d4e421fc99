/** The parsed form of one message, as every later stage sees it. */

export interface HeaderField {
  /** Lower-case field name, such as `received`. */
  name: string;
  /** The field as it appeared, unfolded, without the name and colon. */
  raw: string;
  /** The value with RFC 2047 encoded-words decoded. */
  value: string;
}

export interface Address {
  /** Display name, decoded. Empty when the address has none. */
  name: string;
  /** Lower-case `local@domain`, or an empty string when the field held no parsable address. */
  address: string;
  /** Lower-case domain part, or an empty string. */
  domain: string;
}

export interface MimePart {
  /** Lower-case `type/subtype`. */
  contentType: string;
  /** Nesting depth: 0 for the top-level entity. */
  depth: number;
  /** Size of the body in bytes as transmitted, before transfer decoding (0 for multipart containers). */
  size: number;
  charset: string;
  transferEncoding: string;
  disposition: string;
  filename: string;
}

export interface Attachment {
  /** Decoded file name, or an empty string. */
  filename: string;
  /** Content-Type as declared by the sender. */
  declaredType: string;
  /** Type found from the content's first bytes, or an empty string when unknown. */
  sniffedType: string;
  size: number;
}

export interface Link {
  /** The href or the URL found in plain text, as written. */
  url: string;
  /** Lower-case host name, or an empty string when the URL has none. */
  host: string;
  /** Visible anchor text for HTML links; empty for URLs found in plain text. */
  text: string;
  fromHtml: boolean;
}

export interface HtmlStats {
  /** Total length of the HTML bodies in characters. */
  length: number;
  /** Length of the text visible in the HTML. */
  visibleTextLength: number;
  /** Count of elements hidden with CSS (display:none, visibility:hidden, font-size 0, ...). */
  hiddenElements: number;
  /** Characters of text inside hidden elements. */
  hiddenTextLength: number;
  images: number;
  forms: number;
  scripts: number;
  /** Text colour equal or nearly equal to its background. */
  invisibleColourText: number;
}

export interface ParsedMessage {
  /** Headers in their original order; filter headers from upstream (X-Spam-*) are removed. */
  headers: HeaderField[];
  /** Upstream filter headers that were removed before features, kept for reports. */
  strippedHeaders: HeaderField[];
  from: Address[];
  replyTo: Address[];
  sender: Address[];
  to: Address[];
  cc: Address[];
  /** Address in Return-Path, lower case, or an empty string. */
  returnPath: string;
  /** Subject, decoded, with an upstream `[SPAM]`-style tag removed. */
  subject: string;
  /** Subject as received, decoded. */
  originalSubject: string;
  messageId: string;
  /** Date header parsed, or null when it is missing or invalid. */
  date: Date | null;
  /** Date header as written. */
  dateRaw: string;
  /** Plain text of the message: text parts, or HTML converted to text. */
  text: string;
  /** Concatenated HTML bodies, or an empty string. */
  html: string;
  htmlStats: HtmlStats;
  links: Link[];
  attachments: Attachment[];
  parts: MimePart[];
  /** Raw size of the message in bytes before any truncation. */
  size: number;
  /** Limits that were hit while parsing, as symbol names (for example `PARSE_LIMIT_SIZE`). */
  limitsHit: string[];
  /** Problems found in the structure that did not stop parsing. */
  warnings: string[];
}

/** What the receiving MTA knows about the SMTP transaction. All fields are optional. */
export interface Envelope {
  clientIp?: string;
  helo?: string;
  mailFrom?: string;
  rcptTo?: string[];
  /** When the gateway received the message; default now. Behaviour windows count from it, so replays of old mail see their own time. */
  receivedAt?: Date;
}
