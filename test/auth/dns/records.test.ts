import * as packet from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { encodeQuery, mismatchOf, normaliseName, readResponse, type Question } from '../../../src/auth/dns/records.js';

const QUESTION: Question = { name: 'mail.test', type: 'A' };

/** Encodes and decodes a response, so the reader sees what dns-packet produces from the wire. */
function response(fields: Partial<packet.Packet> & { rcode?: number }): packet.DecodedPacket {
  const { rcode = 0, ...rest } = fields;
  return packet.decode(
    packet.encode({ type: 'response', id: 1, flags: rcode, questions: [{ type: QUESTION.type, name: QUESTION.name }], answers: [], ...rest }),
  );
}

describe('normaliseName', () => {
  it('lower-cases and drops the trailing dot', () => {
    expect(normaliseName('Mail.Test.')).toEqual({ name: 'mail.test' });
  });

  it('accepts printable ASCII labels', () => {
    expect(normaliseName('a+b_c.test')).toEqual({ name: 'a+b_c.test' });
  });

  it.each(['', '.', 'a..test', `${'x'.repeat(64)}.test`, `${'abc.'.repeat(64)}test`, 'tab\tname.test', 'bücher.test'])('rejects %j', (name) => {
    expect(normaliseName(name)).toHaveProperty('problem');
  });
});

describe('encodeQuery', () => {
  it('asks recursively with EDNS0', () => {
    const query = packet.decode(encodeQuery(QUESTION, 4242));
    expect(query.id).toBe(4242);
    expect(query.flag_rd).toBe(true);
    expect(query.questions).toEqual([{ name: 'mail.test', type: 'A', class: 'IN' }]);
    expect(query.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 })]);
  });
});

describe('mismatchOf', () => {
  it('accepts the same question in another case', () => {
    expect(mismatchOf(response({ questions: [{ type: 'A', name: 'MAIL.test' }] }), QUESTION)).toBeNull();
  });

  it('rejects another question', () => {
    expect(mismatchOf(response({ questions: [{ type: 'TXT', name: 'mail.test' }] }), QUESTION)).toContain('instead of A mail.test');
  });

  it('rejects a response without question', () => {
    expect(mismatchOf(response({ questions: [] }), QUESTION)).toContain('0 questions');
  });
});

describe('readResponse', () => {
  it('keeps the smallest TTL', () => {
    const reading = readResponse(
      response({
        answers: [
          { type: 'A', name: 'mail.test', ttl: 300, data: '192.0.2.1' },
          { type: 'A', name: 'mail.test', ttl: 100, data: '192.0.2.2' },
        ],
      }),
      QUESTION,
    );
    expect(reading).toEqual({ kind: 'records', records: ['192.0.2.1', '192.0.2.2'], ttl: 100 });
  });

  it('ignores records of other owners', () => {
    const reading = readResponse(response({ answers: [{ type: 'A', name: 'elsewhere.test', ttl: 300, data: '192.0.2.9' }] }), QUESTION);
    expect(reading).toEqual({ kind: 'nodata', ttl: null });
  });

  it('stops at a CNAME loop', () => {
    const reading = readResponse(
      response({
        answers: [
          { type: 'CNAME', name: 'mail.test', ttl: 300, data: 'loop.test' },
          { type: 'CNAME', name: 'loop.test', ttl: 300, data: 'mail.test' },
        ],
      }),
      QUESTION,
    );
    expect(reading).toEqual({ kind: 'nodata', ttl: null });
  });

  it('reads the SOA for negative TTLs', () => {
    const soa: packet.Answer = {
      type: 'SOA',
      name: 'test',
      ttl: 900,
      data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 },
    };
    expect(readResponse(response({ rcode: 3, authorities: [soa] }), QUESTION)).toEqual({ kind: 'nxdomain', ttl: 60 });
  });

  it('maps an extended response code to servfail', () => {
    const opt = { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as packet.Answer;
    const reading = readResponse(response({ additionals: [opt] }), QUESTION);
    expect(reading).toMatchObject({ kind: 'failure', status: 'servfail' });
  });

  it('turns a null MX into an empty exchange', () => {
    const reading = readResponse(
      response({ questions: [{ type: 'MX', name: 'mail.test' }], answers: [{ type: 'MX', name: 'mail.test', ttl: 60, data: { preference: 0, exchange: '.' } }] }),
      { name: 'mail.test', type: 'MX' },
    );
    expect(reading).toEqual({ kind: 'records', records: [{ exchange: '', priority: 0 }], ttl: 60 });
  });

  it('keeps TXT bytes as latin1', () => {
    const reading = readResponse(
      response({ questions: [{ type: 'TXT', name: 'mail.test' }], answers: [{ type: 'TXT', name: 'mail.test', ttl: 60, data: [Buffer.from([0x76, 0xe9])] }] }),
      { name: 'mail.test', type: 'TXT' },
    );
    expect(reading).toEqual({ kind: 'records', records: [['v\u00e9']], ttl: 60 });
  });
});
