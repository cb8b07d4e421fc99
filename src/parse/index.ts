import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { describeError, ParseError } from '../errors.js';
import { parseFast } from './fast.js';
import { finishBody, prepareMessage } from './prepare.js';
import { angleAddress, firstValue, parseDate, separateUpstreamHeaders, stripSubjectTag, toAddresses } from './headers.js';
import { hostOf, scanHtml } from './html.js';
import { readRaw, type RawMessage } from './input.js';
import { DEFAULT_PARSE_LIMITS, LIMIT_SYMBOLS, resolveParseLimits, type ParseLimits } from './limits.js';
import { splitHeaderBlock } from './mime.js';
import { sniffContentType } from './sniff.js';
import type { ParsedMessage } from './types.js';

export type { Address, Attachment, Envelope, HeaderField, HtmlStats, Link, MimePart, ParsedMessage } from './types.js';
export { DEFAULT_PARSE_LIMITS, LIMIT_SYMBOLS, resolveParseLimits, type ParseLimits } from './limits.js';
export { readRaw, type RawMessage } from './input.js';

/**
 * Minimum cost of one header line against mailsplit's `maxHeadSize`
 * (HEADER_LINE_MIN_COST in @zone-eu/mailsplit 5.4 lib/mime-node.js).
 */
const MAILSPLIT_HEADER_LINE_COST = 64;

/** Mapping from mailparser's own limit errors (code EMAXLEN) to our limits. */
const MAILPARSER_LIMIT_ERRORS: ReadonlyArray<{ pattern: RegExp; limit: keyof ParseLimits; option: string }> = [
  { pattern: /child nodes/i, limit: 'maxParts', option: 'maxChildNodes' },
  { pattern: /header size/i, limit: 'maxHeaders', option: 'maxHeadSize' },
];

interface ParseFailure {
  code?: unknown;
  message?: unknown;
}

/**
 * Runs mailparser with options derived from our limits. The walk has already
 * cut the message to `maxParts` entities with at most `maxHeaders` lines per
 * header block, so mailparser's child-node and header-size limits sit just
 * above ours and only matter if its splitter and the walk disagree.
 */
function runMailparser(text: string, limits: Readonly<ParseLimits>): Promise<ParsedMail> {
  return simpleParser(Buffer.from(text, 'latin1'), {
    skipImageLinks: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    checksumAlgo: false,
    maxHtmlLengthToParse: limits.maxHtmlLength,
    // mailsplit creates the node of a message embedded in an inline message/rfc822 part even when
    // the walk cut that message off at a limit, so it may count one node more than the walk.
    maxChildNodes: limits.maxParts + 1,
    // A header block costs at most its bytes plus the per-line minimum for each of its lines.
    maxHeadSize: limits.maxMessageBytes + MAILSPLIT_HEADER_LINE_COST * (limits.maxHeaders + 2) + 4,
  });
}

/**
 * Milliseconds mailparser gets per message. mailparser 3.14.5 never settles
 * when an inline message/rfc822 part's header block runs to the end of the
 * input without an empty line, so this bound turns that hang into a warning.
 */
const MAILPARSER_TIMEOUT_MS = 10_000;

class MailparserTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // Not unref'd: a hung mailparser keeps no handle open, so this timer is what keeps the process alive to report it.
    timer = setTimeout(() => reject(new MailparserTimeout('mailparser timed out')), MAILPARSER_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Parses with mailparser. When mailparser stops at one of its own limits
 * anyway, parses the top-level header block alone, so the headers and
 * addresses survive, and reports the limit.
 */
async function parseWithFallback(text: string, limits: Readonly<ParseLimits>, limitsHit: Set<string>, warnings: string[]): Promise<ParsedMail> {
  try {
    return await withTimeout(runMailparser(text, limits));
  } catch (error) {
    if (error instanceof MailparserTimeout) {
      warnings.push(`mailparser did not finish within ${MAILPARSER_TIMEOUT_MS} ms; only the top-level headers were read`);
      // The top-level Content-Type may itself be what hangs mailparser, so the retry reads the other fields only.
      const { header } = splitHeaderBlock(text);
      const headerOnly = `${header.replace(/^content-type[ \t]*:[^\n]*(?:\n[ \t][^\n]*)*\n?/gim, '')}\r\n\r\n`;
      return withTimeout(runMailparser(headerOnly, limits)).catch((retryError: unknown) => {
        throw new ParseError(`mailparser could not parse the message headers: ${describeError(retryError)}`, { cause: retryError });
      });
    }
    const failure = (typeof error === 'object' && error !== null ? error : {}) as ParseFailure;
    const mapped = failure.code === 'EMAXLEN' ? MAILPARSER_LIMIT_ERRORS.find((entry) => entry.pattern.test(String(failure.message))) : undefined;
    if (mapped === undefined) throw new ParseError(`mailparser could not parse the message: ${describeError(error)}`, { cause: error });

    limitsHit.add(LIMIT_SYMBOLS[mapped.limit]);
    warnings.push(`mailparser stopped at its ${mapped.option} limit (set from ${mapped.limit}: ${describeError(error)}); only the top-level headers were read`);
    const { bodyStart } = splitHeaderBlock(text);
    try {
      return await runMailparser(text.slice(0, bodyStart), limits);
    } catch (retryError) {
      throw new ParseError(`mailparser could not parse the message headers: ${describeError(retryError)}`, { cause: retryError });
    }
  }
}

/**
 * Parses a raw message. Limits that are hit truncate the input and are
 * listed in `limitsHit`, and malformed structure is listed in `warnings`.
 * Throws an OptionsError for invalid limits, a SourceError when a stream
 * cannot be read, and a ParseError only when mailparser itself rejects the
 * bytes.
 */
export async function parseMessage(raw: RawMessage, limitOverrides: Partial<ParseLimits> = {}): Promise<ParsedMessage> {
  const limits = limitOverrides === DEFAULT_PARSE_LIMITS ? DEFAULT_PARSE_LIMITS : resolveParseLimits(limitOverrides);
  const { bytes, size } = await readRaw(raw, limits.maxMessageBytes);
  return parseBytes(bytes, size, limits);
}

/**
 * Parses bytes already read by readRaw. `size` is the size of the whole
 * message; when it exceeds `bytes.length` the message was truncated.
 */
/**
 * Parses bytes already read; `size` is the full message size. It takes the
 * fast path (parseFast), which gives the same ParsedMessage without
 * mailparser, and falls back to mailparser for the messages parseFast hands
 * back (inline message/rfc822 parts and structures past mailparser's own
 * limits). test/parse/fast-corpus.test.ts checks that both paths agree.
 */
export async function parseBytes(bytes: Buffer, size: number, limits: Readonly<ParseLimits>): Promise<ParsedMessage> {
  return parseFast(bytes, size, limits) ?? parseWithMailparser(bytes, size, limits);
}

/** Parses with mailparser: the reference path that the fast path is tested against. */
export async function parseWithMailparser(bytes: Buffer, size: number, limits: Readonly<ParseLimits>): Promise<ParsedMessage> {
  const { text, headerScan, walk, limitsHit, warnings } = prepareMessage(bytes, size, limits);

  const mail = await parseWithFallback(text, limits, limitsHit, warnings);

  // mailparser leaves the text of HTML it did not convert empty; finishBody fills it in.
  const conversionError = mail.textConversionError ? describeError(mail.textConversionError) : '';
  const { html, text: plain, links } = finishBody(typeof mail.html === 'string' ? mail.html : '', mail.text ?? '', conversionError, limits, limitsHit, warnings);

  const { kept, stripped } = separateUpstreamHeaders(headerScan.fields);
  const originalSubject = firstValue(kept, 'subject');
  const dateRaw = firstValue(kept, 'date');

  return {
    headers: kept,
    strippedHeaders: stripped,
    from: toAddresses(mail.from),
    replyTo: toAddresses(mail.replyTo),
    sender: toAddresses(mail.headers.get('sender') as AddressObject | undefined),
    to: toAddresses(mail.to),
    cc: toAddresses(mail.cc),
    returnPath: angleAddress(firstValue(kept, 'return-path')),
    subject: stripSubjectTag(originalSubject),
    originalSubject,
    messageId: (mail.messageId ?? '').trim(),
    date: parseDate(dateRaw),
    dateRaw,
    text: plain,
    html,
    htmlStats: scanHtml(html),
    links,
    attachments: mail.attachments.map((attachment) => ({
      filename: typeof attachment.filename === 'string' ? attachment.filename : '',
      declaredType: typeof attachment.contentType === 'string' ? attachment.contentType.toLowerCase() : '',
      sniffedType: sniffContentType(attachment.content),
      size: attachment.size ?? attachment.content.length,
    })),
    parts: walk.parts,
    size,
    limitsHit: [...limitsHit],
    warnings,
  };
}

export { hostOf };
