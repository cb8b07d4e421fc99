/**
 * Queries to one upstream resolver: UDP first, TCP when the UDP answer is
 * truncated.
 *
 * The queries are built and read with dns-packet over our own sockets rather
 * than with Node's `dns.promises.Resolver`, for three reasons:
 * - TTLs: the cache needs the TTL of every record type, but Node returns
 *   TTLs only from resolve4/resolve6 (`{ ttl: true }`), not for TXT or MX,
 *   and never the SOA of a negative answer.
 * - Cancellation: `Resolver#cancel()` cancels every query of that resolver,
 *   while here each query has its own socket, closed when its own timeout or
 *   abort signal fires.
 * - Outcomes: reading the response code ourselves separates SERVFAIL,
 *   REFUSED and undecodable bytes, which c-ares folds into fewer codes.
 */

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as packet from 'dns-packet';
import { statusOfSocketError } from './errors.js';
import type { Upstream } from './options.js';
import { encodeQuery, mismatchOf, type Question } from './records.js';
import type { DnsFailureStatus } from './types.js';

/** Bytes of the length prefix of a DNS message over TCP (RFC 1035 section 4.2.2). */
const TCP_LENGTH_PREFIX_BYTES = 2;

/** What one exchange with one resolver produced. */
export type UpstreamResult =
  | { kind: 'response'; response: packet.DecodedPacket }
  | { kind: 'failure'; status: DnsFailureStatus; reason: string }
  | { kind: 'aborted' };

type UdpResult = UpstreamResult | { kind: 'truncated' };

/** Hooks the client uses to count what the transport did. */
export interface UpstreamEvents {
  querySent(): void;
  timedOut(): void;
  tcpFallback(): void;
}

export interface UpstreamQueryOptions {
  /** Milliseconds the UDP exchange, and the TCP exchange after truncation, each get. */
  timeoutMs: number;
  /** Closes the socket and resolves with `aborted` when aborted. */
  signal: AbortSignal;
  events: UpstreamEvents;
}

function malformed(upstream: Upstream, problem: string): UpstreamResult {
  return { kind: 'failure', status: 'malformed', reason: `${upstream.label} sent an invalid response: ${problem}` };
}

function timedOut(upstream: Upstream, timeoutMs: number, transport: string): UpstreamResult {
  return { kind: 'failure', status: 'timeout', reason: `${upstream.label} did not answer over ${transport} within ${timeoutMs} ms` };
}

function socketFailure(upstream: Upstream, error: Error, transport: string): UpstreamResult {
  return { kind: 'failure', status: statusOfSocketError(error), reason: `${upstream.label} over ${transport}: ${error.message}` };
}

/** Reads a decoded response: returns the result, or null when the packet is not the answer to this query. */
function checkResponse(upstream: Upstream, response: packet.DecodedPacket, question: Question, id: number): UdpResult | null {
  if (response.type !== 'response' || response.id !== id) return null;
  const mismatch = mismatchOf(response, question);
  if (mismatch !== null) return malformed(upstream, mismatch);
  if (response.flag_tc) return { kind: 'truncated' };
  return { kind: 'response', response };
}

/**
 * Sends one query over UDP on its own connected socket, so the kernel drops
 * datagrams from other addresses and reports ICMP port-unreachable as
 * ECONNREFUSED. A datagram with another id is ignored as a late or stray
 * answer; one that does not decode at all is a malformed answer.
 */
function exchangeUdp(upstream: Upstream, question: Question, timeoutMs: number, signal: AbortSignal): Promise<UdpResult> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    const id = randomInt(0, 65_536);
    const query = encodeQuery(question, id);
    const socket = createSocket(upstream.family === 6 ? 'udp6' : 'udp4');
    let settled = false;

    const finish = (result: UdpResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      try {
        socket.close();
      } catch {
        // The socket was never bound or is already closed.
      }
      resolve(result);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish(timedOut(upstream, timeoutMs, 'UDP')), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });

    socket.on('error', (error) => finish(socketFailure(upstream, error, 'UDP')));
    socket.on('message', (message) => {
      let response: packet.DecodedPacket;
      try {
        response = packet.decode(message);
      } catch (error) {
        finish(malformed(upstream, error instanceof Error ? error.message : String(error)));
        return;
      }
      const result = checkResponse(upstream, response, question, id);
      if (result !== null) finish(result);
    });
    socket.connect(upstream.port, upstream.host, () => {
      if (settled) return;
      socket.send(query, (error) => {
        if (error) finish(socketFailure(upstream, error, 'UDP'));
      });
    });
  });
}

/** Sends one query over TCP, for answers too large for UDP. */
function exchangeTcp(upstream: Upstream, question: Question, timeoutMs: number, signal: AbortSignal): Promise<UpstreamResult> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ kind: 'aborted' });
      return;
    }
    const id = randomInt(0, 65_536);
    const query = encodeQuery(question, id);
    const prefix = Buffer.alloc(TCP_LENGTH_PREFIX_BYTES);
    prefix.writeUInt16BE(query.length);
    const socket = connect({ host: upstream.host, port: upstream.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const finish = (result: UpstreamResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish({ kind: 'aborted' });
    const timer = setTimeout(() => finish(timedOut(upstream, timeoutMs, 'TCP')), timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });

    socket.on('connect', () => socket.write(Buffer.concat([prefix, query])));
    socket.on('error', (error) => finish(socketFailure(upstream, error, 'TCP')));
    socket.on('close', () => finish(malformed(upstream, `the TCP connection closed after ${received} bytes, before a whole message`)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < TCP_LENGTH_PREFIX_BYTES) return;
      const whole = Buffer.concat(chunks);
      // The 2-byte prefix caps a message at 65,535 bytes, which bounds what is buffered.
      const length = whole.readUInt16BE(0);
      if (whole.length < TCP_LENGTH_PREFIX_BYTES + length) return;

      let response: packet.DecodedPacket;
      try {
        response = packet.decode(whole.subarray(TCP_LENGTH_PREFIX_BYTES, TCP_LENGTH_PREFIX_BYTES + length));
      } catch (error) {
        finish(malformed(upstream, error instanceof Error ? error.message : String(error)));
        return;
      }
      const result = checkResponse(upstream, response, question, id);
      if (result === null) finish(malformed(upstream, `the TCP response has id ${response.id ?? 'none'} instead of ${id}`));
      else if (result.kind === 'truncated') finish(malformed(upstream, 'the TCP response is truncated'));
      else finish(result);
    });
  });
}

/** Asks one resolver one question: over UDP, then over TCP when the UDP answer has the TC bit set. */
export async function queryUpstream(upstream: Upstream, question: Question, options: UpstreamQueryOptions): Promise<UpstreamResult> {
  const { timeoutMs, signal, events } = options;

  events.querySent();
  const udp = await exchangeUdp(upstream, question, timeoutMs, signal);
  if (udp.kind !== 'truncated') {
    if (udp.kind === 'failure' && udp.status === 'timeout') events.timedOut();
    return udp;
  }

  events.tcpFallback();
  events.querySent();
  const tcp = await exchangeTcp(upstream, question, timeoutMs, signal);
  if (tcp.kind === 'failure' && tcp.status === 'timeout') events.timedOut();
  return tcp;
}
