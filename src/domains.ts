import { isIP } from 'node:net';

/**
 * Domain helpers for comparing senders, reply addresses and link hosts.
 * Rules compare organisational domains ("mail.example.co.uk" and
 * "example.co.uk" are the same sender) rather than exact host names.
 */

/** Second-level labels that, under a two-letter country code, are public suffixes (co.uk, com.au, ne.jp, ...). */
const COUNTRY_SECOND_LEVEL = new Set(['ac', 'co', 'com', 'edu', 'gen', 'go', 'gob', 'gov', 'gv', 'ltd', 'mil', 'ne', 'net', 'nic', 'or', 'org', 'plc', 'sch']);

/** Host forms that browsers resolve as IPv4 although they are not dotted quads: 3221225985, 0xc0000201, 0300.0.2.1. */
const NUMERIC_HOST = /^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$/i;

/** Removes the brackets of an IPv6 literal and a trailing dot. */
function bareHost(host: string): string {
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
 * label. IP addresses are returned unchanged.
 *
 * NOTE: without the Public Suffix List this is an approximation. It covers
 * generic TLDs and the `co.uk`-style second level under two-letter country
 * codes, so it treats private suffixes such as `github.io` as one organisation.
 */
export function organisationalDomain(host: string): string {
  const bare = bareHost(host);
  if (bare === '' || isIpHost(bare)) return bare;
  const labels = bare.split('.');
  if (labels.length <= 2) return bare;
  const tld = labels[labels.length - 1] ?? '';
  const second = labels[labels.length - 2] ?? '';
  const keep = tld.length === 2 && COUNTRY_SECOND_LEVEL.has(second) ? 3 : 2;
  return labels.slice(-keep).join('.');
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
