import { isIP } from 'node:net';
import { getDomain } from 'tldts';

/**
 * Domain helpers shared by features, rules and the behaviour store, for
 * comparing senders, reply addresses and link hosts. They compare
 * organisational domains ("mail.example.co.uk" and "example.co.uk" are the
 * same sender) rather than exact host names.
 */

/** Host forms that browsers resolve as IPv4 although they are not dotted quads: 3221225985, 0xc0000201, 0300.0.2.1. */
const NUMERIC_HOST = /^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$/i;

/** Removes the brackets of an IPv6 literal and a trailing dot. */
export function bareHost(host: string): string {
  const trimmed = host.trim().toLowerCase().replace(/\.$/, '');
  if (trimmed.startsWith('[') && trimmed.endsWith(']')) return trimmed.slice(1, -1);
  return trimmed;
}

/**
 * Returns true when a host is an IP address rather than a name: a dotted
 * quad, a bracketed or bare IPv6 address, or a numeric IPv4 form such as
 * `0xc0000201` that browsers accept.
 */
export function isIpHost(host: string): boolean {
  const bare = bareHost(host);
  if (bare === '') return false;
  if (isIP(bare) !== 0) return true;
  if (bare.startsWith('ipv6:') && isIP(bare.slice(5)) === 6) return true;
  return NUMERIC_HOST.test(bare);
}

/**
 * Returns the organisational domain of a host: the public suffix plus one
 * label, from the Public Suffix List that tldts ships (ICANN section only,
 * so `github.io` hosts count as one organisation, as DMARC does). IP
 * addresses and names without a known suffix are returned unchanged.
 */
export function organisationalDomain(host: string): string {
  const bare = bareHost(host);
  if (bare === '' || isIpHost(bare)) return bare;
  return getDomain(bare, { allowPrivateDomains: false }) ?? bare;
}

/** Returns the domain of `local@domain`, lower case, or an empty string. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  if (at === -1) return '';
  return address.slice(at + 1).trim().toLowerCase().replace(/[>\s].*$/, '');
}

/** Returns true when both hosts belong to the same organisational domain. Empty hosts never match. */
export function sameOrganisation(left: string, right: string): boolean {
  if (left === '' || right === '') return false;
  return organisationalDomain(left) === organisationalDomain(right);
}

/** Host names of common URL shorteners. */
export const URL_SHORTENERS: ReadonlySet<string> = new Set([
  'bit.ly', 'tinyurl.com', 'goo.gl', 't.co', 'ow.ly', 'is.gd', 'buff.ly', 'rebrand.ly', 'cutt.ly',
  'shorturl.at', 'tiny.cc', 'rb.gy', 'bl.ink', 'lnkd.in', 't.ly', 'v.gd', 'qrco.de', 's.id',
  'shorte.st', 'adf.ly', 'x.co', 'snip.ly', 'soo.gd', 'clck.ru', 'u.to', 'surl.li', 'tinu.be',
]);

export function isShortener(host: string): boolean {
  return URL_SHORTENERS.has(bareHost(host).replace(/^www\./, ''));
}
