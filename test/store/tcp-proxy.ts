/**
 * A TCP proxy on 127.0.0.1 for Redis tests: counts request round trips and
 * can hold traffic back to make the server look slow.
 */

import { createServer, Socket, type Server } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /**
   * Client-to-server bursts: data from the client that arrives after the
   * server last replied (or first on a connection). Sequential calls that
   * each send one batch and wait for the reply count one each.
   */
  readonly roundTrips: number;
  /** Holds client data back until resume(), as a stalled server would. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

export function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let roundTrips = 0;
  let paused = false;
  const held: { upstream: Socket; chunk: Buffer }[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    let awaitingReply = false;
    upstream.connect(targetPort, '127.0.0.1');
    client.on('data', (chunk: Buffer) => {
      if (!awaitingReply) {
        roundTrips += 1;
        awaitingReply = true;
      }
      if (paused) held.push({ upstream, chunk });
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      awaitingReply = false;
      client.write(chunk);
    });
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve({
        port,
        get roundTrips() {
          return roundTrips;
        },
        pause() {
          paused = true;
        },
        resume() {
          paused = false;
          for (const { upstream, chunk } of held.splice(0)) upstream.write(chunk);
        },
        close() {
          for (const socket of sockets) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}
