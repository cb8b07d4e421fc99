import { isIP } from 'node:net';
import type { HeaderField } from '../parse/types.js';
import type { AuthResultName } from '../features/index.js';

/**
 * Reading RFC 8601 Authentication-Results headers, and choosing the ones a
 * gateway may trust: written by one of its own authserv-ids, by one of its
 * own hops. An MTA prepends its Authentication-Results above the Received
 * header it adds for the incoming connection, so trusted results are those
 * above the first Received header that came from outside the trusted hosts.
 * Anything below that line was written before the message reached us, and a
 * spammer can write whatever they like there.
 */

export type Mechanism = 'spf' | 'dkim' | 'dmarc' | 'arc';
export const MECHANISMS: readonly Mechanism[] = ['spf', 'dkim', 'dmarc', 'arc'];

export interface MethodResult {
  method: Mechanism;
  result: AuthResultName;
  /** The comment and properties after the result, shortened, for the result's reason. */
  details: string;
}

export interface AuthenticationResultsHeader {
  authservId: string;
  results: MethodResult[];
}

const RESULT_NAMES: Record<string, AuthResultName> = {
  pass: 'pass',
  fail: 'fail',
  softfail: 'softfail',
  neutral: 'neutral',
  none: 'none',
  temperror: 'temperror',
  permerror: 'permerror',
  // RFC 7001 and older writers
  hardfail: 'fail',
  policy: 'fail',
  error: 'temperror',
};
const MAX_DETAILS = 120;
/** Comments and white space, as they may stand between the tokens of a statement. */
const CFWS = String.raw`(?:\s|\((?:\\.|[^\\)])*\))*`;
/** The `method[/version]=result` at the start of a statement, comments included. */
const METHOD_AND_RESULT = new RegExp(String.raw`^${CFWS}[a-z0-9-]+${CFWS}(?:/${CFWS}\d+${CFWS})?=${CFWS}[a-z]+\b`, 'i');

/**
 * Splits a value at the semicolons outside comments and quoted strings, and
 * returns each statement with its comments replaced by a space as `bare`.
 * A backslash escapes the next character in both. A `(` inside a comment
 * does not nest, although RFC 5322 lets comments nest. The reason is that
 * mailauth 4.13.3 escapes `)` but not `(` in the comments it writes, and
 * those comments carry text the sender chose (the MAIL FROM address). With
 * nesting, a sender could hide the statements that follow.
 */
function splitStatements(value: string): { text: string; bare: string }[] {
  const statements: { text: string; bare: string }[] = [];
  let text = '';
  let bare = '';
  let inComment = false;
  let inQuotes = false;
  let escaped = false;
  for (const character of value) {
    const wasInComment = inComment;
    if (escaped) escaped = false;
    else if (character === '\\' && (inComment || inQuotes)) escaped = true;
    else if (inComment) inComment = character !== ')';
    else if (inQuotes) inQuotes = character !== '"';
    else if (character === '"') inQuotes = true;
    else if (character === '(') inComment = true;
    else if (character === ';') {
      statements.push({ text, bare });
      text = '';
      bare = '';
      continue;
    }
    text += character;
    if (!wasInComment && !inComment) bare += character;
    else if (!bare.endsWith(' ')) bare += ' ';
  }
  statements.push({ text, bare });
  return statements;
}

/**
 * Maps a result name as RFC 8601 or an older writer spells it to ours, or
 * returns undefined for a name that is not a known result.
 */
export function resultNameOf(name: string): AuthResultName | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(RESULT_NAMES, key) ? RESULT_NAMES[key] : undefined;
}

/**
 * Parses one Authentication-Results value. Returns null when it has no
 * authserv-id, that is when the first statement is empty or a `method=result`.
 */
export function parseAuthenticationResults(value: string): AuthenticationResultsHeader | null {
  const statements = splitStatements(value);
  const authservId = statements[0]?.bare.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  if (authservId === '' || authservId.includes('=')) return null;
  const results: MethodResult[] = [];
  for (const statement of statements.slice(1)) {
    const match = /^\s*([a-z0-9-]+)(?:\s*\/\s*\d+)?\s*=\s*([a-z]+)\b/i.exec(statement.bare);
    if (!match) continue;
    const method = (match[1] ?? '').toLowerCase();
    const result = resultNameOf(match[2] ?? '');
    if (!result || !(MECHANISMS as readonly string[]).includes(method)) continue;
    const details = statement.text.replace(METHOD_AND_RESULT, '');
    results.push({ method: method as Mechanism, result, details: details.replace(/\s+/g, ' ').trim().slice(0, MAX_DETAILS) });
  }
  return { authservId, results };
}

/**
 * Returns the identities of the connecting host that the receiving MTA
 * recorded in a Received header, in lower case. These are the host name and
 * address in the comment after `from`, as Postfix and Sendmail write
 * `from HELO (rDNS [IP])` and Exim `from rDNS ([IP] helo=HELO)`. When the
 * comment has no address, the bracketed address of Exim's
 * `from [IP] (helo=HELO)` is used. The HELO name is left out because the
 * client chooses it, and so are `key=value` items and names that Sendmail
 * marks "may be forged".
 */
function receivedFrom(value: string): string[] {
  const match = /^\s*from\s+(\S+)(?:\s+\(([^)]*))?/i.exec(value);
  if (!match) return [];
  const comment = match[2] ?? '';
  const mayBeForged = /may be forged/i.test(comment);
  const addresses: string[] = [];
  const names: string[] = [];
  for (const token of comment.split(/\s+/)) {
    if (token === '' || token.includes('=')) continue;
    const bracketed = /^\[(?:ipv6:)?([^\]]+)\](?::\d+)?$/i.exec(token);
    const candidate = (bracketed?.[1] ?? token).toLowerCase();
    if (isIP(candidate) !== 0) addresses.push(candidate);
    else if (!bracketed && !mayBeForged && /^[a-z0-9][a-z0-9.-]*$/.test(candidate)) names.push(candidate);
  }
  if (addresses.length === 0) {
    const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(match[1] ?? '');
    if (literal?.[1] && isIP(literal[1]) !== 0) addresses.push(literal[1].toLowerCase());
  }
  return [...names, ...addresses];
}

export interface TrustOptions {
  /** authserv-ids written by the gateway's own MTAs, compared case-insensitively. */
  authservIds: readonly string[];
  /** Host names and IP addresses of the gateway's own MTAs, whose Received headers count as inside. */
  trustedHosts: readonly string[];
}

/**
 * Returns the Authentication-Results headers the gateway may trust, topmost
 * first: those with a configured authserv-id that sit above the first
 * Received header whose sending host is not a trusted host.
 */
export function trustedAuthenticationResults(headers: readonly HeaderField[], options: TrustOptions): AuthenticationResultsHeader[] {
  const ids = new Set(options.authservIds.map((id) => id.toLowerCase()));
  const hosts = new Set(options.trustedHosts.map((host) => host.toLowerCase()));
  const trusted: AuthenticationResultsHeader[] = [];
  if (ids.size === 0) return trusted;
  for (const field of headers) {
    if (field.name === 'received') {
      const from = receivedFrom(field.raw);
      if (!from.some((name) => hosts.has(name))) break;
      continue;
    }
    if (field.name !== 'authentication-results') continue;
    const parsed = parseAuthenticationResults(field.raw);
    if (parsed && ids.has(parsed.authservId)) trusted.push(parsed);
  }
  return trusted;
}

/**
 * Returns the topmost Authentication-Results header whatever its authserv-id.
 * Training uses it for corpora whose results were written by the receiving
 * system at delivery time, treating that system as if it were the gateway.
 */
export function topmostAuthenticationResults(headers: readonly HeaderField[]): AuthenticationResultsHeader | null {
  for (const field of headers) {
    if (field.name !== 'authentication-results') continue;
    const parsed = parseAuthenticationResults(field.raw);
    if (parsed && parsed.results.length > 0) return parsed;
  }
  return null;
}

/**
 * Merges the results of the trusted headers into one result per mechanism.
 * The topmost header wins per mechanism; among several DKIM results one
 * pass is enough, because any valid signature authenticates the message.
 */
export function resultsByMechanism(headers: readonly AuthenticationResultsHeader[]): Partial<Record<Mechanism, MethodResult>> {
  const merged: Partial<Record<Mechanism, MethodResult>> = {};
  for (const header of headers) {
    for (const result of header.results) {
      const existing = merged[result.method];
      if (!existing) merged[result.method] = result;
      else if (result.method === 'dkim' && existing.result !== 'pass' && result.result === 'pass') merged.dkim = result;
    }
    // Only the topmost header of our own hops counts once it has results.
    if (Object.keys(merged).length > 0) break;
  }
  return merged;
}
