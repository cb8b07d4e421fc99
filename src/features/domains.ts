/**
 * Domain helpers shared by features and rules.
 *
 * NOTE: organisationalDomain approximates the public-suffix rule with a short
 * list of common two-label suffixes. It is good enough to compare From with
 * Reply-To or Return-Path, but it is not a DMARC-grade implementation.
 */

const TWO_LABEL_SUFFIXES = new Set([
  'co.uk', 'org.uk', 'ac.uk', 'gov.uk', 'me.uk', 'ltd.uk', 'plc.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au',
  'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp',
  'co.nz', 'org.nz', 'co.za', 'org.za', 'co.in', 'net.in', 'org.in',
  'com.br', 'net.br', 'org.br', 'com.cn', 'net.cn', 'org.cn', 'com.tw', 'com.hk',
  'com.mx', 'com.ar', 'com.tr', 'com.sg', 'com.my', 'co.kr', 'or.kr', 'co.il',
  'com.pl', 'com.ru', 'com.ua', 'co.id', 'or.id', 'com.vn', 'com.ph',
]);

/** Returns the lower-case registrable domain of a host name, or the input when it has fewer labels. */
export function organisationalDomain(domain: string): string {
  const labels = domain.toLowerCase().replace(/\.$/, '').split('.').filter((label) => label.length > 0);
  if (labels.length <= 2) return labels.join('.');
  const lastTwo = labels.slice(-2).join('.');
  if (TWO_LABEL_SUFFIXES.has(lastTwo)) return labels.slice(-3).join('.');
  return lastTwo;
}

/** Returns the domain part of an address, lower case, or an empty string. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at === -1 ? '' : address.slice(at + 1).toLowerCase().replace(/[>\s]+$/, '');
}

export function isIpLiteral(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(bare)) return true;
  if (/^\d+$/.test(bare)) return true; // a decimal-encoded IPv4 address, as in http://3232235777/
  if (/^0x[0-9a-f]+$/i.test(bare)) return true;
  return bare.includes(':') && /^[0-9a-f:.]+$/i.test(bare);
}

/** Host names of common URL shorteners. */
export const URL_SHORTENERS: ReadonlySet<string> = new Set([
  'bit.ly', 'tinyurl.com', 'goo.gl', 't.co', 'ow.ly', 'is.gd', 'buff.ly', 'rebrand.ly', 'cutt.ly',
  'shorturl.at', 'tiny.cc', 'rb.gy', 'bl.ink', 'lnkd.in', 't.ly', 'v.gd', 'qrco.de', 's.id',
  'shorte.st', 'adf.ly', 'x.co', 'snip.ly', 'soo.gd', 'clck.ru', 'u.to', 'surl.li', 'tinu.be',
]);

export function isShortener(host: string): boolean {
  return URL_SHORTENERS.has(host.replace(/^www\./, ''));
}
