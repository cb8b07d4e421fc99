/**
 * A DNS server on 127.0.0.1 for the setups benchmark, over UDP only, running
 * in a worker thread so that its work does not land on the thread being
 * measured. It either responds to every query at once from a wildcard zone,
 * or never responds (a black-holed resolver).
 *
 * The module is both the entry point of the worker and the API that starts
 * it: loaded in a worker started by startLocalDns, it serves; imported
 * anywhere else, it only exports.
 */

import { createSocket } from 'node:dgram';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as packet from 'dns-packet';

/** TTL of every record served, in seconds. */
const RECORD_TTL_SECONDS = 300;
/** Milliseconds to wait for the worker to bind its socket before giving up. */
const START_TIMEOUT_MS = 10_000;
/** Milliseconds to wait for the worker to close its socket before terminating it. */
const STOP_TIMEOUT_MS = 2_000;
/** Marks the worker data, so that a worker started by other code never starts a server. */
const WORKER_ROLE = 'spamward-bench-dns';
/** Response codes, as the low four bits of the DNS header flags (RFC 1035 section 4.1.1). */
const RCODE_FORMERR = 1;
const RCODE_NXDOMAIN = 3;

/**
 * The addresses and names of the wildcard zone. The client IP of the
 * benchmark envelope falls inside the SPF record, and its reverse name
 * points to a host name whose address is that client IP again.
 */
export const WILDCARD_ZONE = Object.freeze({
  address: '192.0.2.10',
  hostName: 'mail.example.net',
  spf: 'v=spf1 ip4:192.0.2.0/24 -all',
  dmarc: 'v=DMARC1; p=none',
});

/** `answer` serves the wildcard zone; `silent` reads each query and drops it. */
export type LocalDnsMode = 'answer' | 'silent';

export interface LocalDns {
  /** `127.0.0.1:port`, as the `resolvers` option takes it. */
  readonly address: string;
  readonly mode: LocalDnsMode;
  /** Closes the socket, ends the worker and returns how many queries the server received. */
  stop(): Promise<{ queries: number }>;
}

interface WorkerSettings {
  role: typeof WORKER_ROLE;
  mode: LocalDnsMode;
}

type WorkerMessage = { kind: 'listening'; port: number } | { kind: 'stopped'; queries: number };

/**
 * Builds the answer of the wildcard zone. Every name has TXT, A and PTR
 * records: DKIM key names (`*._domainkey.*`) are NXDOMAIN, DMARC names
 * (`_dmarc.*`) contain a `p=none` policy, other names the SPF record.
 * Other record types get NODATA.
 */
function wildcardAnswer(query: packet.DecodedPacket): packet.Packet {
  const flags = packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE;
  const base = { type: 'response' as const, id: query.id ?? 0, questions: query.questions ?? [] };
  const question = query.questions?.[0];
  if (question === undefined) return { ...base, flags: flags | RCODE_FORMERR };

  const name = question.name.toLowerCase();
  const ttl = RECORD_TTL_SECONDS;
  if (name.includes('._domainkey.')) return { ...base, flags: flags | RCODE_NXDOMAIN };
  switch (question.type) {
    case 'TXT': {
      const text = name.startsWith('_dmarc.') ? WILDCARD_ZONE.dmarc : WILDCARD_ZONE.spf;
      return { ...base, flags, answers: [{ type: 'TXT', name: question.name, ttl, data: text }] };
    }
    case 'A':
      return { ...base, flags, answers: [{ type: 'A', name: question.name, ttl, data: WILDCARD_ZONE.address }] };
    case 'PTR':
      return { ...base, flags, answers: [{ type: 'PTR', name: question.name, ttl, data: WILDCARD_ZONE.hostName }] };
    default:
      return { ...base, flags, answers: [] };
  }
}

/** Binds a UDP socket on 127.0.0.1 in the worker, posts its port, and serves until the main thread posts a message. */
function serve(mode: LocalDnsMode): void {
  const port = parentPort;
  if (port === null) return;
  const socket = createSocket('udp4');
  let queries = 0;

  socket.on('message', (message, remote) => {
    queries += 1;
    if (mode === 'silent') return;
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(message);
    } catch {
      return;
    }
    socket.send(packet.encode(wildcardAnswer(query)), remote.port, remote.address);
  });
  port.on('message', () => {
    socket.close(() => {
      port.postMessage({ kind: 'stopped', queries } satisfies WorkerMessage);
      port.close();
    });
  });
  socket.bind(0, '127.0.0.1', () => {
    port.postMessage({ kind: 'listening', port: socket.address().port } satisfies WorkerMessage);
  });
}

function waitForMessage<K extends WorkerMessage['kind']>(worker: Worker, kind: K, timeoutMs: number): Promise<Extract<WorkerMessage, { kind: K }>> {
  return new Promise((resolve, reject) => {
    const cleanUp = (): void => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: WorkerMessage): void => {
      if (message.kind !== kind) return;
      cleanUp();
      resolve(message as Extract<WorkerMessage, { kind: K }>);
    };
    const onError = (error: Error): void => {
      cleanUp();
      reject(error);
    };
    const onExit = (code: number): void => {
      cleanUp();
      reject(new Error(`local DNS server worker exited with code ${code} before sending "${kind}"`));
    };
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`local DNS server worker sent no "${kind}" within ${timeoutMs} ms`));
    }, timeoutMs);
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
}

/** Starts a DNS server in a worker thread on a free 127.0.0.1 port and waits until it listens. */
export async function startLocalDns(mode: LocalDnsMode): Promise<LocalDns> {
  const settings: WorkerSettings = { role: WORKER_ROLE, mode };
  const worker = new Worker(new URL(import.meta.url), { workerData: settings });
  let listening: { port: number };
  try {
    listening = await waitForMessage(worker, 'listening', START_TIMEOUT_MS);
  } catch (error) {
    await worker.terminate();
    throw error;
  }

  let stopped: Promise<{ queries: number }> | null = null;
  const stop = async (): Promise<{ queries: number }> => {
    const reply = waitForMessage(worker, 'stopped', STOP_TIMEOUT_MS);
    worker.postMessage('stop');
    try {
      const { queries } = await reply;
      return { queries };
    } finally {
      await worker.terminate();
    }
  };
  return {
    address: `127.0.0.1:${listening.port}`,
    mode,
    stop() {
      stopped ??= stop();
      return stopped;
    },
  };
}

if (!isMainThread && (workerData as Partial<WorkerSettings> | null)?.role === WORKER_ROLE) {
  serve((workerData as WorkerSettings).mode);
}
