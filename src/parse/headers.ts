import type { AddressObject } from 'mailparser';
import libmime from 'libmime';
import type { ParseLimits } from './limits.js';
import type { Address, HeaderField } from './types.js';

/** The top-level header fields, read with the header count and length limits applied. */
export interface HeaderScan {
  fields: HeaderField[];
  countLimitHit: boolean;
  lengthLimitHit: boolean;
  /**
   * The block must be replaced by one built from `fields` before mailparser
   * reads it: a limit was hit, or it has more lines than `maxHeaders`.
   */
  rebuild: boolean;
}

/** Headers that an upstream filter adds with its own verdict; never features. */
const UPSTREAM_FILTER_HEADER = /^x-spam/i;
/** Subject tags that upstream filters prepend, such as `[SPAM]`, `***SPAM***` or `{Spam?}`. */
const UPSTREAM_SUBJECT_TAG = /^\s*(?:\[\s*spam\s*\]|\*{2,3}\s*spam\s*\*{2,3}|\{\s*spam\??\s*\}|spam\s*:)\s*/i;

function decodeHeaderValue(raw: string): string {
  if (!raw.includes('=?')) return raw;
  try {
    return libmime.decodeWords(raw);
  } catch {
    return raw;
  }
}

/**
 * Reads the top-level header block into fields. Fields past `maxHeaders` are
 * dropped; names and unfolded values longer than `maxHeaderLength` are cut.
 *
 * NOTE: raw 8-bit header text (UTF-8 without RFC 2047 encoding) is read as
 * latin1, so `Subject: Café` comes out as `CafÃ©`. Decoding it as UTF-8
 * changes features, so it waits for the next retrain of the shipped model.
 */
export function scanHeaders(block: string, limits: Readonly<ParseLimits>): HeaderScan {
  const scan: HeaderScan = { fields: [], countLimitHit: false, lengthLimitHit: false, rebuild: false };
  if (block === '') return scan;
  const lines = block.split(/\r?\n/);
  let current: string | null = null;

  const flush = (): void => {
    if (current === null) return;
    const colon = current.indexOf(':');
    if (colon <= 0) {
      // A line that is neither a field nor a continuation is dropped, but a huge one still counts.
      if (current.length > limits.maxHeaderLength) scan.lengthLimitHit = true;
    } else if (scan.fields.length >= limits.maxHeaders) {
      scan.countLimitHit = true;
    } else {
      let name = current.slice(0, colon).trim().toLowerCase();
      let raw = current.slice(colon + 1).trim();
      if (name.length > limits.maxHeaderLength) {
        name = name.slice(0, limits.maxHeaderLength);
        scan.lengthLimitHit = true;
      }
      if (raw.length > limits.maxHeaderLength) {
        raw = raw.slice(0, limits.maxHeaderLength);
        scan.lengthLimitHit = true;
      }
      scan.fields.push({ name, raw, value: decodeHeaderValue(raw) });
    }
    current = null;
  };

  for (const line of lines) {
    const first = line.charCodeAt(0);
    if ((first === 0x20 || first === 0x09) && current !== null) {
      // Stop growing a folded field far past the limit instead of joining megabytes.
      if (current.length <= limits.maxHeaderLength * 2) current += ` ${line.trim()}`;
      else scan.lengthLimitHit = true;
    } else {
      flush();
      // The mbox separator line ("From sender date") is not a header field.
      if (scan.fields.length === 0 && current === null && line.startsWith('From ')) continue;
      current = line;
    }
  }
  flush();
  scan.rebuild = scan.countLimitHit || scan.lengthLimitHit || lines.length > limits.maxHeaders;
  return scan;
}

/** Builds a header block with one line per field, for mailparser to read in place of the original. */
export function rebuildHeaderBlock(fields: readonly HeaderField[]): string {
  return fields.map((field) => `${field.name}: ${field.raw}`).join('\r\n');
}

/** Splits fields into those kept for features and the upstream filter headers (X-Spam-*). */
export function separateUpstreamHeaders(fields: readonly HeaderField[]): { kept: HeaderField[]; stripped: HeaderField[] } {
  const kept: HeaderField[] = [];
  const stripped: HeaderField[] = [];
  for (const field of fields) (UPSTREAM_FILTER_HEADER.test(field.name) ? stripped : kept).push(field);
  return { kept, stripped };
}

/** Removes one upstream filter tag such as `[SPAM]` from the start of a subject. */
export function stripSubjectTag(subject: string): string {
  return subject.replace(UPSTREAM_SUBJECT_TAG, '');
}

/** Flattens mailparser's address objects, groups included, into lower-case addresses. */
export function toAddresses(value: AddressObject | AddressObject[] | undefined): Address[] {
  if (!value) return [];
  const objects = Array.isArray(value) ? value : [value];
  const addresses: Address[] = [];
  for (const object of objects) {
    for (const entry of object.value) {
      const members = entry.group ?? [entry];
      for (const member of members) {
        const address = (member.address ?? '').toLowerCase();
        const at = address.lastIndexOf('@');
        addresses.push({ name: member.name ?? '', address, domain: at === -1 ? '' : address.slice(at + 1) });
      }
    }
  }
  return addresses;
}

/** Returns the address inside angle brackets, lower case, or the trimmed value when it has none. */
export function angleAddress(value: string): string {
  const open = value.indexOf('<');
  const close = open === -1 ? -1 : value.indexOf('>', open + 1);
  return (close === -1 ? value : value.slice(open + 1, close)).trim().toLowerCase();
}

export function firstValue(fields: readonly HeaderField[], name: string): string {
  return fields.find((field) => field.name === name)?.value ?? '';
}

/** Parses a Date header value the way mailparser does, or returns null when it is missing or invalid. */
export function parseDate(value: string): Date | null {
  if (value.trim() === '') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
