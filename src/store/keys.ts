/**
 * Behaviour keys: the names under which the stores keep a message's sender
 * history, such as `sender:alice@example.com` or `net:192.0.2.0/24`.
 */

import { organisationalDomain as registrableDomain } from '../domains.js';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** Origin of a message as the gateway sees it. Every field is optional. */
export interface BehaviourKeyInput {
  /** Envelope sender (MAIL FROM), with or without angle brackets. The null sender `<>` yields no key. */
  envelopeSender?: string;
  /** Domain of the From header address. */
  fromDomain?: string;
  /** Organisational domain; derived from `fromDomain` with `organisationalDomain` when absent. */
  orgDomain?: string;
  /** `d=` domain of a DKIM signature that verified. Pass only verified domains. */
  dkimDomain?: string;
  /** SMTP client address, IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as IPv4). */
  clientIp?: string;
  /** HELO or EHLO name as sent by the client. */
  helo?: string;
}

/** Maximum address length kept, in characters: 64 for the local part, 1 for `@`, 255 for the domain. */
const MAX_ADDRESS_LENGTH = 320;
const MAX_DOMAIN_LENGTH = 253;
const MAX_HELO_LENGTH = 255;
const DOMAIN_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
// eslint-disable-next-line no-control-regex
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;

/** Returns the lower-case ASCII (punycode) form of a domain without a trailing dot, or null when it is not a valid name. */
function normaliseDomain(value: string | undefined): string | null {
  if (typeof value !== 'string') return null;
  const trimmed = value.trim().replace(/\.$/, '');
  if (trimmed.length === 0 || trimmed.length > MAX_DOMAIN_LENGTH * 4) return null;
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (ascii.length === 0 || ascii.length > MAX_DOMAIN_LENGTH) return null;
  const labels = ascii.split('.');
  if (!labels.every((label) => DOMAIN_LABEL.test(label))) return null;
  // A name made only of digits and dots is an IPv4 address written as a domain.
  if (labels.every((label) => /^\d+$/.test(label))) return null;
  return ascii;
}

function normaliseAddress(value: string | undefined): string | null {
  if (typeof value !== 'string') return null;
  let address = value.trim();
  if (address.startsWith('<') && address.endsWith('>')) address = address.slice(1, -1).trim();
  if (address.length === 0 || address.length > MAX_ADDRESS_LENGTH || WHITESPACE_OR_CONTROL.test(address)) return null;
  const at = address.lastIndexOf('@');
  if (at <= 0) return null;
  const domain = normaliseDomain(address.slice(at + 1));
  if (domain === null) return null;
  return `${address.slice(0, at).toLowerCase()}@${domain}`;
}

function normaliseHelo(value: string | undefined): string | null {
  if (typeof value !== 'string') return null;
  const helo = value.trim().toLowerCase().replace(/\.$/, '');
  if (helo.length === 0 || helo.length > MAX_HELO_LENGTH || WHITESPACE_OR_CONTROL.test(helo)) return null;
  return helo;
}

/** Expands an IPv6 address (without zone) into 8 numbers, or returns null. Handles `::` and an embedded IPv4 tail. */
function expandIPv6(address: string): number[] | null {
  let text = address;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const octets = last.split('.').map(Number);
    if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255)) return null;
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    tail = [(a << 8) | b, (c << 8) | d];
    text = `${text.slice(0, lastColon + 1)}0`;
    // The placeholder group stands for the two IPv4 groups; drop it below.
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const head = parse(halves[0] ?? '');
  const rest = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (tail.length > 0) {
    const target = halves.length === 2 ? rest : head;
    target.pop();
    target.push(...tail);
  }
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...new Array<number>(Math.max(missing, 0)).fill(0), ...rest];
  if (groups.some((group) => !Number.isInteger(group) || group < 0 || group > 0xffff)) return null;
  return groups;
}

/** Formats 8 IPv6 groups in the RFC 5952 canonical form: lower case, longest zero run (2+ groups) as `::`. */
function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * Returns the canonical address and its network (`a.b.c.0/24` for IPv4,
 * the /64 prefix for IPv6), or null for an invalid address. An IPv6 zone
 * (`%eth0`) is dropped, and an IPv4-mapped address is treated as IPv4.
 */
export function ipKeys(value: string): { ip: string; net: string } | null {
  const trimmed = value.trim().replace(/^\[(.*)\]$/, '$1');
  const address = trimmed.replace(/%[^%]*$/, '');
  const family = isIP(address);
  if (family === 4) {
    const octets = address.split('.');
    return { ip: octets.join('.'), net: `${octets.slice(0, 3).join('.')}.0/24` };
  }
  if (family !== 6) return null;
  const groups = expandIPv6(address.toLowerCase());
  if (groups === null) return null;
  const isMapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (isMapped) {
    const high = groups[6] ?? 0;
    const low = groups[7] ?? 0;
    return ipKeys(`${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`);
  }
  const network = [...groups.slice(0, 4), 0, 0, 0, 0];
  return { ip: formatIPv6(groups), net: `${formatIPv6(network)}/64` };
}

/**
 * Returns the organisational domain of a name (public suffix plus one
 * label, see src/domains.ts), or null for an invalid domain; a single-label
 * name is returned as it is.
 */
export function organisationalDomain(domain: string): string | null {
  const normalised = normaliseDomain(domain);
  return normalised === null ? null : registrableDomain(normalised);
}

/**
 * Computes the behaviour keys of one message, in a fixed order: `sender:`,
 * `from:`, `org:`, `dkim:`, `ip:`, `net:`, `helo:`. Fields that are missing
 * or invalid (an unparsable IP, a malformed domain, the null sender) yield
 * no key. Values are lower-cased, and domains are converted to punycode.
 */
export function behaviourKeys(input: BehaviourKeyInput): string[] {
  const keys: string[] = [];
  const sender = normaliseAddress(input.envelopeSender);
  if (sender !== null) keys.push(`sender:${sender}`);
  const from = normaliseDomain(input.fromDomain);
  if (from !== null) keys.push(`from:${from}`);
  let org: string | null = null;
  if (input.orgDomain !== undefined) org = normaliseDomain(input.orgDomain);
  else if (from !== null) org = organisationalDomain(from);
  if (org !== null) keys.push(`org:${org}`);
  const dkim = normaliseDomain(input.dkimDomain);
  if (dkim !== null) keys.push(`dkim:${dkim}`);
  const ip = typeof input.clientIp === 'string' ? ipKeys(input.clientIp) : null;
  if (ip !== null) keys.push(`ip:${ip.ip}`, `net:${ip.net}`);
  const helo = normaliseHelo(input.helo);
  if (helo !== null) keys.push(`helo:${helo}`);
  return keys;
}
