/**
 * Date parsing for Received timestamps and the Date header check. The
 * parser is written out instead of using `Date.parse`, because `Date.parse`
 * reads a timestamp without a zone in the local time zone of the host, and
 * rules must give the same result on every host.
 */

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

/** Zone names allowed by RFC 5322 section 4.3 (obsolete syntax), as minutes east of UTC. */
const ZONE_NAMES: Readonly<Record<string, number>> = {
  ut: 0, utc: 0, gmt: 0, z: 0,
  est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420,
};

/** `day month year hour:minute[:second] [zone]`, with an optional weekday before it. */
const DATE_TIME = /(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([+-]\d{4}|[a-z]{1,5})\b)?/i;

/**
 * The RFC 5322 date-time form, including the obsolete two-digit years and
 * alphabetic zones that section 4.3 still allows readers to accept, followed
 * by an optional comment such as `(PDT)`.
 */
const RFC5322_DATE = /^\s*(?:(?:mon|tue|wed|thu|fri|sat|sun)\s*,\s*)?\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?\s+(?:[+-]\d{4}|ut|utc|gmt|[ecmp][sd]t|[a-ik-z])\s*(?:\([^()]*\)\s*)?$/i;

function expandYear(year: number, digits: number): number {
  // RFC 5322 section 4.3: two-digit years below 50 are 20xx, the rest 19xx.
  if (digits === 2) return year < 50 ? 2000 + year : 1900 + year;
  if (digits === 3) return 1900 + year;
  return year;
}

function zoneOffsetMinutes(zone: string | undefined): number {
  if (zone === undefined) return 0;
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const sign = zone.startsWith('-') ? -1 : 1;
    const hours = Number.parseInt(zone.slice(1, 3), 10);
    const minutes = Number.parseInt(zone.slice(3, 5), 10);
    return sign * (hours * 60 + minutes);
  }
  // Unknown names, military zones included, count as UTC as RFC 5322 section 4.3 recommends.
  return ZONE_NAMES[zone.toLowerCase()] ?? 0;
}

/**
 * Finds the first RFC 5322-style date-time in `text` and returns it in
 * milliseconds since the epoch, or null when there is none or it names an
 * impossible date. A missing zone is read as UTC.
 */
export function parseMailDate(text: string): number | null {
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const month = MONTHS[(match[2] ?? '').toLowerCase()];
  if (month === undefined) return null;
  const yearText = match[3] ?? '';
  const year = expandYear(Number.parseInt(yearText, 10), yearText.length);
  const day = Number.parseInt(match[1] ?? '', 10);
  const hour = Number.parseInt(match[4] ?? '', 10);
  const minute = Number.parseInt(match[5] ?? '', 10);
  const second = match[6] === undefined ? 0 : Number.parseInt(match[6], 10);
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const utc = Date.UTC(year, month, day, hour, minute, second);
  return utc - zoneOffsetMinutes(match[7]) * 60_000;
}

/** Returns true when `value` is a date-time in the RFC 5322 form (obsolete forms allowed). */
export function isRfc5322Date(value: string): boolean {
  return RFC5322_DATE.test(value);
}
