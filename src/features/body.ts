import type { ParsedMessage } from '../parse/types.js';
import { domainOf, isIpHost, isShortener, organisationalDomain } from '../domains.js';
import type { TokenTable } from './token-table.js';
import { messageTokens } from './tokens.js';
import type { FeatureWriter } from './writer.js';

/** Characters of text scanned for ratios and densities. */
const MAX_SCANNED_CHARS = 100_000;
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff\u00ad]/g;
const MONEY_AMOUNT = /[$€£¥]\s?\d[\d,.]*|\d[\d,.]*\s?(?:[$€£¥]|usd|eur|dollars?)\b/gi;
const LETTER = /\p{L}/u;
const LATIN = /\p{Script=Latin}/u;
const UPPER = /\p{Lu}/u;
const HOST_IN_TEXT = /(?:https?:\/\/)?((?:[a-z0-9-]+\.)+[a-z]{2,})/i;

/** Extensions that run code when opened on common desktops. */
export const RISKY_EXTENSIONS: ReadonlySet<string> = new Set([
  'exe', 'scr', 'com', 'pif', 'bat', 'cmd', 'cpl', 'msi', 'msp', 'jar', 'js', 'jse', 'vbs', 'vbe', 'wsf', 'wsh',
  'hta', 'ps1', 'lnk', 'iso', 'img', 'vhd', 'vhdx', 'reg', 'docm', 'xlsm', 'pptm', 'dotm', 'xlam', 'one', 'chm',
]);
const DOCUMENT_EXTENSIONS: ReadonlySet<string> = new Set(['pdf', 'doc', 'docx', 'xls', 'xlsx', 'txt', 'jpg', 'jpeg', 'png', 'gif', 'zip', 'rtf', 'htm', 'html']);
const EXECUTABLE_SNIFFS: ReadonlySet<string> = new Set(['application/x-msdownload', 'application/x-elf']);

export function extensions(filename: string): string[] {
  return filename.toLowerCase().replace(/[\s.]+$/, '').split('.').slice(1);
}

export function hasDoubleExtension(filename: string): boolean {
  const parts = extensions(filename);
  if (parts.length < 2) return false;
  const last = parts[parts.length - 1] ?? '';
  const before = parts[parts.length - 2] ?? '';
  return RISKY_EXTENSIONS.has(last) && DOCUMENT_EXTENSIONS.has(before);
}

/** True when the sniffed type shows executable content behind a harmless declared type or name. */
export function isTypeMismatch(declaredType: string, sniffedType: string, filename: string): boolean {
  if (sniffedType === '') return false;
  const last = extensions(filename).at(-1) ?? '';
  if (EXECUTABLE_SNIFFS.has(sniffedType)) return !RISKY_EXTENSIONS.has(last) && declaredType !== 'application/x-msdownload';
  if (declaredType.startsWith('image/') && !sniffedType.startsWith('image/')) return true;
  return declaredType === 'application/pdf' && sniffedType !== 'application/pdf';
}

/** Returns the host that anchor text names, when the visible text looks like a URL or domain. */
export function hostNamedInText(text: string): string {
  const match = HOST_IN_TEXT.exec(text.trim());
  if (!match?.[1] || match.index > 0) return '';
  return match[1].toLowerCase().replace(/^www\./, '');
}

export function writeContentFeatures(message: ParsedMessage, tokens: TokenTable | null, out: FeatureWriter): void {
  const text = message.text.length > MAX_SCANNED_CHARS ? message.text.slice(0, MAX_SCANNED_CHARS) : message.text;
  const stats = message.htmlStats;
  const hasHtml = message.html.length > 0;
  const hasPlainPart = message.parts.some((part) => part.contentType === 'text/plain' && part.disposition !== 'attachment');

  out.set('content.text_length', Math.log1p(text.length));
  out.set('content.html_present', hasHtml ? 1 : 0);
  out.set('content.html_only', hasHtml && !hasPlainPart ? 1 : 0);
  out.set('content.html_text_ratio', hasHtml && stats.length > 0 ? stats.visibleTextLength / stats.length : 0);
  out.set('content.hidden_text_ratio', stats.visibleTextLength > 0 ? Math.min(1, stats.hiddenTextLength / stats.visibleTextLength) : 0);
  out.set('content.images', Math.log1p(stats.images));
  out.set('content.forms_or_scripts', stats.forms + stats.scripts > 0 ? 1 : 0);
  const zeroWidth = (text.match(ZERO_WIDTH) ?? []).length + (message.subject.match(ZERO_WIDTH) ?? []).length;
  out.set('content.zero_width', Math.log1p(zeroWidth));

  let letters = 0;
  let upper = 0;
  let nonLatin = 0;
  let exclamations = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 128) {
      if (code === 33) exclamations += 1;
      else if (code >= 65 && code <= 90) {
        letters += 1;
        upper += 1;
      } else if (code >= 97 && code <= 122) letters += 1;
      continue;
    }
    // Outside ASCII, classify by code point; a surrogate pair counts once.
    const codePoint = text.codePointAt(index) ?? code;
    if (codePoint > 0xffff) index += 1;
    const character = String.fromCodePoint(codePoint);
    if (!LETTER.test(character)) continue;
    letters += 1;
    if (!LATIN.test(character)) nonLatin += 1;
    else if (UPPER.test(character)) upper += 1;
  }
  out.set('content.caps_ratio', letters > 20 ? upper / letters : 0);
  out.set('content.exclamation_density', text.length > 0 ? (100 * exclamations) / text.length : 0);
  out.set('content.money_density', text.length > 0 ? (1000 * (text.match(MONEY_AMOUNT) ?? []).length) / text.length : 0);
  out.set('content.non_latin_ratio', letters > 0 ? nonLatin / letters : 0);

  const messageTokenList = messageTokens(message);
  out.set('content.token_count', Math.log1p(messageTokenList.length));
  if (tokens) {
    const evidence = tokens.evidence(messageTokenList);
    out.set('content.token_spamicity', evidence.spamicity);
    out.set('content.token_spam_evidence', evidence.spamEvidence);
    out.set('content.token_ham_evidence', evidence.hamEvidence);
    out.set('content.token_strong_spam', Math.log1p(evidence.strongSpam));
    out.set('content.token_strong_ham', Math.log1p(evidence.strongHam));
    out.set('content.token_known_ratio', evidence.knownRatio);
  } else {
    out.set('content.token_spamicity', 0.5);
  }
}

export function writeUrlFeatures(message: ParsedMessage, out: FeatureWriter): void {
  const links = message.links;
  const fromOrg = organisationalDomain(domainOf(message.from[0]?.address ?? ''));
  const hosts = new Set<string>();
  let ipLiteral = 0;
  let shortener = 0;
  let mismatch = 0;
  let punycode = 0;
  let fromDomain = 0;
  for (const link of links) {
    if (link.host === '') continue;
    hosts.add(link.host);
    if (isIpHost(link.host)) ipLiteral += 1;
    if (isShortener(link.host)) shortener += 1;
    if (link.host.split('.').some((label) => label.startsWith('xn--'))) punycode += 1;
    if (fromOrg !== '' && organisationalDomain(link.host) === fromOrg) fromDomain += 1;
    if (link.fromHtml) {
      const named = hostNamedInText(link.text);
      if (named !== '' && organisationalDomain(named) !== organisationalDomain(link.host)) mismatch += 1;
    }
  }
  out.set('url.count', Math.log1p(links.length));
  out.set('url.distinct_hosts', Math.log1p(hosts.size));
  out.set('url.ip_literal', Math.log1p(ipLiteral));
  out.set('url.shortener', Math.log1p(shortener));
  out.set('url.anchor_mismatch', Math.log1p(mismatch));
  out.set('url.punycode', Math.log1p(punycode));
  out.set('url.from_domain_share', links.length > 0 ? fromDomain / links.length : 0);
}

export function writeMimeFeatures(message: ParsedMessage, out: FeatureWriter): void {
  out.set('mime.part_count', Math.log1p(message.parts.length));
  out.set('mime.max_depth', message.parts.reduce((deepest, part) => Math.max(deepest, part.depth), 0));
  out.set('mime.attachments', Math.log1p(message.attachments.length));
  let risky = 0;
  let double = 0;
  let rtl = 0;
  let mismatch = 0;
  for (const attachment of message.attachments) {
    const last = extensions(attachment.filename).at(-1) ?? '';
    if (RISKY_EXTENSIONS.has(last)) risky = 1;
    if (hasDoubleExtension(attachment.filename)) double = 1;
    if (attachment.filename.includes('\u202e')) rtl = 1;
    if (isTypeMismatch(attachment.declaredType, attachment.sniffedType, attachment.filename)) mismatch = 1;
  }
  out.set('mime.risky_extension', risky);
  out.set('mime.double_extension', double);
  out.set('mime.rtl_override', rtl);
  out.set('mime.type_mismatch', mismatch);
  const textParts = message.parts.filter((part) => part.contentType.startsWith('text/') && part.disposition !== 'attachment');
  out.set('mime.text_base64', textParts.some((part) => part.transferEncoding === 'base64') ? 1 : 0);
  out.set('mime.missing_charset', textParts.some((part) => part.charset === '' && part.transferEncoding === '8bit') ? 1 : 0);
  out.set('parse.limits_hit', Math.log1p(message.limitsHit.length));
  out.set('parse.warnings', Math.log1p(message.warnings.length));
}
