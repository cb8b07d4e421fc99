/**
 * Starts throw-away redis-server processes on 127.0.0.1 for tests, and stops
 * them by pid. Requires `redis-server` on PATH (CI's .ci/run installs it);
 * without it, startRedisServer throws so the tests fail instead of skipping.
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from '../../benchmarks/ports.js';

export { freePort };

/** Maximum wait for a server to accept connections, in milliseconds. */
const START_TIMEOUT_MS = 10_000;
/** Maximum wait for a server to exit after a signal, in milliseconds. */
const STOP_TIMEOUT_MS = 5_000;

export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>/0` */
  readonly url: string;
  /** Pid of the running process, or null when stopped. */
  readonly pid: number | null;
  /** Stops the server with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL (a crash) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts a new, empty server on the same port. */
  restart(): Promise<void>;
}

/** Throws a clear error when redis-server is missing. */
export function requireRedisServer(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed or not on PATH: the store tests need it. ' +
        'Install it with `apt-get update && apt-get install -y redis-server` (CI\'s .ci/run does this).',
    );
  }
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server pid ${child.pid} did not exit within ${STOP_TIMEOUT_MS} ms`)), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function spawnServer(port: number, directory: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', directory, '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const failed = await Promise.race([spawnError, new Promise<null>((resolve) => setTimeout(() => resolve(null), 50))]);
    if (failed !== null) throw new Error(`Could not start redis-server: ${failed.message}`);
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with code ${child.exitCode}: ${stderr.trim()}`);
    if (await canConnect(port)) return child;
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not accept connections within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`);
}

/** Starts redis-server on a free port (or the given one) and waits until it accepts connections. */
export async function startRedisServer(port?: number): Promise<RedisServer> {
  requireRedisServer();
  const chosenPort = port ?? (await freePort());
  const directory = mkdtempSync(join(tmpdir(), 'spamward-redis-'));
  let child: ChildProcess | null = await spawnServer(chosenPort, directory);

  const signal = async (name: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    if (child === null) return;
    const running = child;
    child = null;
    if (running.pid !== undefined && running.exitCode === null && running.signalCode === null) process.kill(running.pid, name);
    await waitForExit(running);
  };

  return {
    port: chosenPort,
    url: `redis://127.0.0.1:${chosenPort}/0`,
    get pid() {
      return child?.pid ?? null;
    },
    async stop() {
      await signal('SIGTERM');
      rmSync(directory, { recursive: true, force: true });
    },
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM');
      child = await spawnServer(chosenPort, directory);
    },
  };
}
