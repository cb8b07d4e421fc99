/**
 * A DNS server for tests, on 127.0.0.1 with a random port, over UDP and TCP.
 * It answers from a declarative zone, records every query, and can be set
 * per test (or per query) to misbehave: stay silent, answer late, return an
 * error code, send garbage, or truncate UDP answers.
 */

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { performance } from 'node:perf_hooks';
import * as packet from 'dns-packet';

/** One record in a zone. TTL in seconds, default 300. */
export type ZoneRecord =
  | { type: 'A' | 'AAAA' | 'PTR' | 'CNAME' | 'NS'; data: string; ttl?: number }
  | { type: 'TXT'; data: string | string[]; ttl?: number }
  | { type: 'MX'; data: { exchange: string; priority: number }; ttl?: number };

/**
 * Records by owner name (lower case, no trailing dot). A listed name without
 * records of the asked type gets NODATA; a name not listed gets NXDOMAIN.
 */
export type Zone = Record<string, ZoneRecord[]>;

/** How the server treats a query. */
export type Behaviour =
  | { kind: 'answer' }
  | { kind: 'silent' }
  | { kind: 'rcode'; rcode: 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP' }
  | { kind: 'delay'; ms: number }
  | { kind: 'garbage'; bytes?: Buffer }
  | { kind: 'truncate' };

export interface RecordedQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  /** `performance.now()` when the query arrived. */
  at: number;
}

export interface DnsServerOptions {
  zone?: Zone;
  /** SOA put in the authority section of negative answers; none when omitted. */
  soa?: { ttl: number; minimum: number };
  behaviour?: Behaviour | ((query: RecordedQuery) => Behaviour);
}

export interface TestDnsServer {
  /** `127.0.0.1:port`, as the client's `resolvers` option takes it. */
  readonly address: string;
  readonly port: number;
  readonly queries: RecordedQuery[];
  setZone(zone: Zone): void;
  setBehaviour(behaviour: Behaviour | ((query: RecordedQuery) => Behaviour)): void;
  close(): Promise<void>;
}

const DEFAULT_TTL = 300;
const GARBAGE = Buffer.from('this is not a DNS message');
/** Attempts at finding a port free for both UDP and TCP. */
const BIND_ATTEMPTS = 10;

function toAnswer(name: string, record: ZoneRecord): packet.Answer {
  const ttl = record.ttl ?? DEFAULT_TTL;
  switch (record.type) {
    case 'TXT':
      // dns-packet replaces the strings of a TXT array with Buffers while encoding, so it gets a copy.
      return { type: 'TXT', name, ttl, data: Array.isArray(record.data) ? [...record.data] : record.data };
    case 'MX':
      return { type: 'MX', name, ttl, data: { exchange: record.data.exchange, preference: record.data.priority } };
    default:
      return { type: record.type, name, ttl, data: record.data };
  }
}

function rcodeFlag(rcode: string): number {
  const codes: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
  return codes[rcode] ?? 2;
}

/** Builds the zone's answer to a query, following CNAMEs inside the zone as a recursive resolver would. */
function answerFrom(zone: Zone, options: DnsServerOptions, query: packet.DecodedPacket, rcode?: string): packet.Packet {
  const question = query.questions?.[0];
  const base = { type: 'response' as const, id: query.id ?? 0, questions: query.questions ?? [] };
  const flagsFor = (code: string): number => packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | rcodeFlag(code);
  if (rcode !== undefined || question === undefined) return { ...base, flags: flagsFor(rcode ?? 'FORMERR') };

  const answers: packet.Answer[] = [];
  let owner = question.name.toLowerCase();
  for (let hops = 0; hops < 8; hops += 1) {
    const records = zone[owner];
    if (records === undefined) break;
    const matching = records.filter((record) => record.type === question.type);
    answers.push(...matching.map((record) => toAnswer(owner, record)));
    const cname = records.find((record) => record.type === 'CNAME');
    if (matching.length > 0 || cname === undefined || question.type === 'CNAME') break;
    answers.push(toAnswer(owner, cname));
    owner = String(cname.data).toLowerCase();
  }

  const exists = zone[owner] !== undefined;
  const authorities: packet.Answer[] = [];
  if (answers.every((answer) => answer.type === 'CNAME') && options.soa) {
    authorities.push({
      type: 'SOA',
      name: owner.split('.').slice(-2).join('.'),
      ttl: options.soa.ttl,
      data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: options.soa.minimum },
    });
  }
  return { ...base, flags: flagsFor(exists ? 'NOERROR' : 'NXDOMAIN'), answers, authorities };
}

async function bindPair(): Promise<{ udp: Socket; tcp: Server; port: number }> {
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt += 1) {
    const udp = createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const tcp = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return { udp, tcp, port };
    udp.close();
  }
  throw new Error(`test DNS server: no port free for UDP and TCP after ${BIND_ATTEMPTS} attempts`);
}

/** Starts a test DNS server; close it in afterEach. */
export async function startDnsServer(options: DnsServerOptions = {}): Promise<TestDnsServer> {
  let zone = options.zone ?? {};
  let behaviour = options.behaviour ?? { kind: 'answer' };
  const queries: RecordedQuery[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const connections = new Set<TcpSocket>();
  const { udp, tcp, port } = await bindPair();

  /** Records one query and sends back what the current behaviour calls for. */
  const respond = (message: Buffer, transport: 'udp' | 'tcp', send: (bytes: Buffer) => void): void => {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    const question = query.questions?.[0];
    const recorded: RecordedQuery = { name: question?.name ?? '', type: question?.type ?? '', transport, at: performance.now() };
    queries.push(recorded);
    const chosen = typeof behaviour === 'function' ? behaviour(recorded) : behaviour;

    switch (chosen.kind) {
      case 'silent':
        return;
      case 'garbage':
        send(chosen.bytes ?? GARBAGE);
        return;
      case 'rcode':
        send(packet.encode(answerFrom(zone, options, query, chosen.rcode)));
        return;
      case 'truncate': {
        const full = answerFrom(zone, options, query);
        if (transport === 'tcp') send(packet.encode(full));
        else send(packet.encode({ ...full, flags: (full.flags ?? 0) | packet.TRUNCATED_RESPONSE, answers: [], authorities: [] }));
        return;
      }
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(packet.encode(answerFrom(zone, options, query)));
        }, chosen.ms);
        timers.add(timer);
        return;
      }
      case 'answer':
        send(packet.encode(answerFrom(zone, options, query)));
    }
  };

  udp.on('message', (message, remote) => {
    respond(message, 'udp', (bytes) => udp.send(bytes, remote.port, remote.address));
  });

  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        respond(message, 'tcp', (bytes) => {
          const prefix = Buffer.alloc(2);
          prefix.writeUInt16BE(bytes.length);
          if (!socket.destroyed) socket.write(Buffer.concat([prefix, bytes]));
        });
      }
    });
  });

  return {
    address: `127.0.0.1:${port}`,
    port,
    queries,
    setZone(next) {
      zone = next;
    },
    setBehaviour(next) {
      behaviour = next;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
