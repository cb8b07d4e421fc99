import { describe, expect, it } from 'vitest';
import { contentFingerprint, MIN_FINGERPRINT_WORDS } from '../../src/features/fingerprint.js';

const BODY = `Dear NAME,
Your mailbox storage is almost full and incoming messages will be rejected
from today. Verify your account within the next hours to keep receiving
mail. Visit https://example.com/verify?id=NUMBER and confirm your password
on the secure page. Reference number NUMBER. Thank you for your cooperation,
the helpdesk team of your organisation.`;

function message(name: string, number: string, subject = 'Mailbox storage warning') {
  return { subject, text: BODY.replaceAll('NAME', name).replaceAll('NUMBER', number) };
}

describe('contentFingerprint', () => {
  it('matches copies with varied details', () => {
    const first = contentFingerprint(message('alice@example.com', '48213'));
    const second = contentFingerprint(message('bob@example.org', '99017'));
    expect(first).toMatch(/^content:[0-9a-f]{32}$/);
    expect(second).toBe(first);
  });

  it('gives different mail a different key', () => {
    const other = { subject: 'Minutes of the board meeting', text: 'The board met on Tuesday and agreed the budget for next year, the hiring plan for the support team, and the dates of the spring conference. Minutes follow below with the action items for each member of the committee.' };
    expect(contentFingerprint(other)).not.toBe(contentFingerprint(message('alice', '1')));
  });

  it('has no key for a message with too few words', () => {
    const words = Array.from({ length: MIN_FINGERPRINT_WORDS - 1 }, (_, index) => `word${String.fromCharCode(97 + (index % 26))}${String.fromCharCode(97 + Math.floor(index / 26))}`);
    expect(contentFingerprint({ subject: '', text: words.join(' ') })).toBeNull();
    expect(contentFingerprint({ subject: '', text: '' })).toBeNull();
  });
});
