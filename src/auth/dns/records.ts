/**
 * Query packets and the reading of responses: name checks, CNAME chains,
 * record conversion to Node's shapes, and TTLs for the cache.
 */

import * as packet from 'dns-packet';
import { meaningOfRcode } from './errors.js';
import type { DnsFailureStatus, DnsRecordsByType, DnsRecordType, MxRecord } from './types.js';

/**
 * UDP payload size advertised with EDNS0. 1232 bytes fits the IPv6 minimum
 * MTU without fragmentation (the DNS Flag Day 2020 value); larger answers
 * come back truncated and are asked again over TCP.
 */
const EDNS_UDP_PAYLOAD_SIZE = 1232;
/** Maximum length of a domain name in text form, without the trailing dot (RFC 1035 section 2.3.4). */
const MAX_NAME_LENGTH = 253;
/** Maximum length of one label in bytes (RFC 1035 section 2.3.4). */
const MAX_LABEL_LENGTH = 63;

/** A response read for one question. TTLs are in seconds, before the client's clamps. */
export type ResponseReading =
  | { kind: 'records'; records: DnsRecordsByType[DnsRecordType]; ttl: number }
  | { kind: 'nxdomain' | 'nodata'; ttl: number | null }
  | { kind: 'failure'; status: DnsFailureStatus; reason: string };

export interface Question {
  /** Lower-case name without the trailing dot. */
  name: string;
  type: DnsRecordType;
}

/** A record as dns-packet decodes it, narrowed to the fields read here. */
interface DecodedRecord {
  type: string;
  name: string;
  ttl?: number;
  data?: unknown;
}

/**
 * Normalises a name for a query, or returns why it cannot be sent: names are
 * ASCII (callers convert IDNs to punycode), at most 253 characters, with
 * labels of 1 to 63 bytes. Any printable ASCII is allowed in a label because
 * SPF macros and DKIM selectors can produce names outside host-name syntax.
 */
export function normaliseName(name: string): { name: string } | { problem: string } {
  if (typeof name !== 'string') return { problem: 'the name is not a string' };
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return { problem: 'the name is empty' };
  if (trimmed.length > MAX_NAME_LENGTH) return { problem: `the name is longer than ${MAX_NAME_LENGTH} characters` };
  if (!/^[\x21-\x7e]+$/.test(trimmed)) return { problem: 'the name contains spaces, control or non-ASCII characters' };
  for (const label of trimmed.split('.')) {
    if (label === '') return { problem: 'the name has an empty label' };
    if (label.length > MAX_LABEL_LENGTH) return { problem: `the label "${label.slice(0, 20)}..." is longer than ${MAX_LABEL_LENGTH} bytes` };
  }
  return { name: trimmed.toLowerCase() };
}

/** Encodes a recursive query with an EDNS0 OPT record. */
export function encodeQuery(question: Question, id: number): Buffer {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type: question.type, name: question.name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_PAYLOAD_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  });
}

/** Returns why a decoded response does not answer the question, or null when it does. */
export function mismatchOf(response: packet.DecodedPacket, question: Question): string | null {
  const echoed = response.questions?.[0];
  if (response.questions?.length !== 1 || echoed === undefined) return `the response has ${response.questions?.length ?? 0} questions instead of 1`;
  if (echoed.type !== question.type || echoed.name.toLowerCase() !== question.name) {
    return `the response answers ${echoed.type} ${echoed.name} instead of ${question.type} ${question.name}`;
  }
  return null;
}

function sameName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Converts one record's data to Node's shape, or returns null when it does not have the expected form. */
function convertRecord(type: DnsRecordType, data: unknown): DnsRecordsByType[DnsRecordType][number] | null {
  switch (type) {
    case 'TXT': {
      const chunks = Array.isArray(data) ? data : [data];
      if (!chunks.every((chunk) => Buffer.isBuffer(chunk) || typeof chunk === 'string')) return null;
      // latin1 keeps one character per byte, as Node's resolveTxt does, so
      // callers see the exact bytes and can reject non-ASCII themselves.
      return chunks.map((chunk: Buffer | string) => (typeof chunk === 'string' ? chunk : chunk.toString('latin1')));
    }
    case 'MX': {
      const mx = data as { exchange?: unknown; preference?: unknown } | null;
      if (typeof mx?.exchange !== 'string' || typeof mx.preference !== 'number') return null;
      const record: MxRecord = { exchange: mx.exchange === '.' ? '' : mx.exchange, priority: mx.preference };
      return record;
    }
    default:
      return typeof data === 'string' ? data : null;
  }
}

/** Returns the negative TTL of RFC 2308 section 5: the smaller of the SOA record's TTL and its MINIMUM field. */
function negativeTtlOf(response: packet.DecodedPacket): number | null {
  for (const record of (response.authorities ?? []) as DecodedRecord[]) {
    if (record.type !== 'SOA') continue;
    const minimum = (record.data as { minimum?: unknown } | undefined)?.minimum;
    const ttl = record.ttl ?? 0;
    return typeof minimum === 'number' ? Math.min(ttl, minimum) : ttl;
  }
  return null;
}

/**
 * Reads the answer to a question from a response. Follows the CNAME chain
 * that starts at the question name, as a recursive resolver returns it, and
 * keeps the records of the requested type at the end of it. The TTL is the
 * smallest along the chain, because the answer expires with its first link.
 */
export function readResponse(response: packet.DecodedPacket, question: Question): ResponseReading {
  // dns-packet decodes the response code as `rcode`, which its type definitions omit.
  const rcode = String((response as { rcode?: unknown }).rcode ?? 'NOERROR');
  const meaning = meaningOfRcode(rcode);
  if (meaning.kind === 'failure') {
    return { kind: 'failure', status: meaning.status, reason: `the resolver returned ${rcode}` };
  }
  // EDNS0 carries the upper 8 bits of a 12-bit response code in the OPT record
  // (RFC 6891 section 6.1.3); any of them set means an error such as BADVERS.
  const opt = (response.additionals ?? []).find((record) => record.type === 'OPT') as { extendedRcode?: number } | undefined;
  if (opt?.extendedRcode) {
    return { kind: 'failure', status: 'servfail', reason: `the resolver returned an extended response code (upper bits ${opt.extendedRcode}, lower ${rcode})` };
  }
  if (meaning.kind === 'nxdomain') return { kind: 'nxdomain', ttl: negativeTtlOf(response) };

  const answers = (response.answers ?? []) as DecodedRecord[];
  const records: DnsRecordsByType[DnsRecordType][number][] = [];
  let ttl = Number.POSITIVE_INFINITY;
  let owner = question.name;
  const visited = new Set<string>();

  while (!visited.has(owner.toLowerCase())) {
    visited.add(owner.toLowerCase());
    let next: string | null = null;
    for (const record of answers) {
      if (!sameName(record.name, owner)) continue;
      if (record.type === question.type) {
        const converted = convertRecord(question.type, record.data);
        if (converted === null) {
          return { kind: 'failure', status: 'malformed', reason: `a ${record.type} record for ${record.name} has unexpected data` };
        }
        records.push(converted);
        ttl = Math.min(ttl, record.ttl ?? 0);
      } else if (record.type === 'CNAME' && typeof record.data === 'string') {
        next = record.data;
        ttl = Math.min(ttl, record.ttl ?? 0);
      }
    }
    if (records.length > 0 || next === null) break;
    owner = next;
  }

  if (records.length === 0) return { kind: 'nodata', ttl: negativeTtlOf(response) };
  return { kind: 'records', records: records as DnsRecordsByType[DnsRecordType], ttl };
}
