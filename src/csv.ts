/** Quotes a CSV field when it contains a comma, a double quote, CR or LF, doubling inner quotes (RFC 4180). */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
