import libmime from 'libmime';
import { parseAddressHeader } from 'mailparser';
import addressparser, { type Address as ParsedAddress } from 'nodemailer/lib/addressparser';
import { toAddresses } from './headers.js';
import type { Address } from './types.js';

/**
 * Address headers for the fast parse path, read as mailparser 3.14 reads
 * them. They go through nodemailer's addressparser (the copy mailparser
 * imports), then through mailparser's decoding of display names and of
 * encoded words in the address, then through the flattening of parseBytes.
 * The decoding is done here without the HTML and text formats that
 * parseAddressHeader also builds, which took about as long as the parsing
 * itself in a micro-benchmark on Node 20.
 * A header with a punycode domain goes through parseAddressHeader itself,
 * because mailparser decodes that domain with punycode.js.
 */

/** An RFC 2047 encoded word, the pattern mailparser checks address parts for. */
const ENCODED_WORD = /[=]\?[^?]+\?[BbQq]\?[^?]*\?[=]/;
/** A domain that mailparser decodes from punycode. */
const PUNYCODE_DOMAIN = /@xn--/;
/** A plain `local@domain` that an encoded word in an address part must decode to, or the part is dropped. */
const PLAIN_ADDRESS = /^[^\s@]+@[^\s@]+$/;

/** Runs libmime.decodeWords where it can change the value, keeping the value when it throws. */
function decodeWords(value: string): string {
  // Without these, decodeWords returns its input unchanged.
  if (!value.includes('=?') && !value.includes('\x00')) return value;
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

/** Decodes an address part as mailparser does: an encoded word must decode to a plain address, or the part is dropped. */
function decodeAddressPart(address: string): string {
  if (!ENCODED_WORD.test(address)) return address;
  try {
    const decoded = libmime.decodeWords(address);
    return PLAIN_ADDRESS.test(decoded) && !/[=]\?/.test(decoded) ? decoded : '';
  } catch {
    return '';
  }
}

function toAddress(name: string, address: string): Address {
  const lower = address.toLowerCase();
  const at = lower.lastIndexOf('@');
  return { name, address: lower, domain: at === -1 ? '' : lower.slice(at + 1) };
}

/** Appends the mailboxes of `entries`, groups flattened. Returns false when one has a punycode domain. */
function appendMailboxes(entries: readonly ParsedAddress[], output: Address[]): boolean {
  for (const entry of entries) {
    if (entry.group !== undefined) {
      if (!appendMailboxes(entry.group, output)) return false;
      continue;
    }
    const name = (entry.name || '').trim();
    const address = entry.address ? decodeAddressPart(entry.address) : '';
    if (PUNYCODE_DOMAIN.test(address)) return false;
    output.push(toAddress(name === '' ? '' : decodeWords(name), address));
  }
  return true;
}

/** Returns the addresses of one header value, as parseBytes reports them for the value mailparser read. */
export function readAddressHeader(value: string): Address[] {
  if (value === '') return [];
  const output: Address[] = [];
  if (appendMailboxes(addressparser(value), output)) return output;
  return toAddresses(parseAddressHeader(value));
}
