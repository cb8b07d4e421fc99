import { describe, expect, it } from 'vitest';
import { behaviourKeys, ipKeys, organisationalDomain } from '../../src/store/keys.js';

describe('behaviourKeys', () => {
  it('returns every key in order', () => {
    const keys = behaviourKeys({
      envelopeSender: '<Alice@Mail.Example.COM>',
      fromDomain: 'Mail.Example.com.',
      dkimDomain: 'example.com',
      clientIp: '192.0.2.77',
      helo: 'MX1.Example.com',
    });
    expect(keys).toEqual([
      'sender:alice@mail.example.com',
      'from:mail.example.com',
      'org:example.com',
      'dkim:example.com',
      'ip:192.0.2.77',
      'net:192.0.2.0/24',
      'helo:mx1.example.com',
    ]);
  });

  it('returns no keys for empty input', () => {
    expect(behaviourKeys({})).toEqual([]);
  });

  it('skips the null sender', () => {
    expect(behaviourKeys({ envelopeSender: '<>' })).toEqual([]);
    expect(behaviourKeys({ envelopeSender: '' })).toEqual([]);
  });

  it('skips malformed values', () => {
    const keys = behaviourKeys({
      envelopeSender: 'no-at-sign',
      fromDomain: 'bad..domain',
      dkimDomain: '-leading-hyphen.com',
      clientIp: '999.1.1.1',
      helo: 'two words',
    });
    expect(keys).toEqual([]);
  });

  it('skips an address with whitespace', () => {
    expect(behaviourKeys({ envelopeSender: 'a b@example.com' })).toEqual([]);
  });

  it('uses an explicit orgDomain', () => {
    expect(behaviourKeys({ fromDomain: 'a.example.com', orgDomain: 'Example.NET' })).toEqual(['from:a.example.com', 'org:example.net']);
  });

  it('converts domains to punycode', () => {
    expect(behaviourKeys({ fromDomain: 'Bücher.de' })).toEqual(['from:xn--bcher-kva.de', 'org:xn--bcher-kva.de']);
  });

  it('rejects an IP written as a domain', () => {
    expect(behaviourKeys({ fromDomain: '192.0.2.1' })).toEqual([]);
  });

  it('skips oversized values', () => {
    const label = 'a'.repeat(63);
    const longDomain = [label, label, label, label, 'com'].join('.');
    expect(behaviourKeys({ fromDomain: longDomain, helo: 'h'.repeat(300) })).toEqual([]);
  });
});

describe('ipKeys', () => {
  const cases: [string, string, string][] = [
    ['192.0.2.1', '192.0.2.1', '192.0.2.0/24'],
    ['10.1.2.255', '10.1.2.255', '10.1.2.0/24'],
    ['2001:db8::1', '2001:db8::1', '2001:db8::/64'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1', '2001:db8::/64'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:aaaa:bbbb::1', '2001:db8:aaaa:bbbb::1', '2001:db8:aaaa:bbbb::/64'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', '2001:db8::/64'],
    ['2001:0:0:1::', '2001:0:0:1::', '2001:0:0:1::/64'],
    ['::1', '::1', '::/64'],
    ['::', '::', '::/64'],
    ['1::', '1::', '1::/64'],
    ['fe80::1%eth0', 'fe80::1', 'fe80::/64'],
    ['[2001:db8::5]', '2001:db8::5', '2001:db8::/64'],
    ['::ffff:192.0.2.5', '192.0.2.5', '192.0.2.0/24'],
    ['::FFFF:c000:0205', '192.0.2.5', '192.0.2.0/24'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221', '64:ff9b::/64'],
  ];

  it.each(cases)('normalises %s', (input, ip, net) => {
    expect(ipKeys(input)).toEqual({ ip, net });
  });

  it.each(['', ' ', 'abc', '1.2.3', '256.1.1.1', '01.2.3.4', '2001:db8::1::2', '2001:db8:1:2:3:4:5:6:7', 'gggg::1', '1.2.3.4/24'])(
    'rejects %j',
    (input) => {
      expect(ipKeys(input)).toBeNull();
    },
  );
});

describe('organisationalDomain', () => {
  it.each([
    ['example.com', 'example.com'],
    ['a.b.example.com', 'example.com'],
    ['mail.example.co.uk', 'example.co.uk'],
    ['example.co.uk', 'example.co.uk'],
    ['shop.example.com.au', 'example.com.au'],
    ['localhost', 'localhost'],
    ['WWW.EXAMPLE.ORG.', 'example.org'],
  ])('maps %s', (domain, expected) => {
    expect(organisationalDomain(domain)).toBe(expected);
  });

  it('returns null for invalid names', () => {
    expect(organisationalDomain('')).toBeNull();
    expect(organisationalDomain('a..b')).toBeNull();
  });
});
