import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/parse/index.js';

describe('mailparser guard', () => {
  // mailparser 3.14.5 never settles on an inline message/rfc822 whose header block runs to the end.
  it('returns the headers when mailparser hangs', async () => {
    const parsed = await parseMessage('From: alice@example.com\r\nSubject: stuck\r\nContent-Type: message/rfc822\r\nContent-Disposition: inline\r\n');
    expect(parsed.warnings.join(' ')).toMatch(/did not finish within 10000 ms/);
    expect(parsed.from[0]?.address).toBe('alice@example.com');
    expect(parsed.subject).toBe('stuck');
  }, 30_000);
});
