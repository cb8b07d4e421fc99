/**
 * Starts a throw-away redis-server on a free 127.0.0.1 port for the setups
 * benchmark, and stops it by pid. Requires `redis-server` on PATH. It keeps
 * no data on disk: saving and the append-only file are off, and its working
 * folder is a temporary folder removed on stop.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freePort } from './ports.js';

/** Maximum wait for the server to accept connections, in milliseconds. */
const START_TIMEOUT_MS = 10_000;
/** Maximum wait for the server to exit after SIGTERM, in milliseconds, before it gets SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;
/** Interval between connection attempts while the server starts, in milliseconds. */
const POLL_INTERVAL_MS = 50;
/** Characters of the server's stderr kept for error messages. */
const STDERR_TAIL_CHARS = 2_000;

export interface LocalRedis {
  /** `redis://127.0.0.1:<port>/0` */
  readonly url: string;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Waits up to `timeoutMs` for the child to exit; returns whether it did. */
function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || hasExited(child)) return;
  process.kill(pid, 'SIGTERM');
  if (await waitForExit(child, STOP_TIMEOUT_MS)) return;
  if (!hasExited(child)) process.kill(pid, 'SIGKILL');
  await waitForExit(child, STOP_TIMEOUT_MS);
}

/** Starts redis-server and waits until it accepts connections; throws with its stderr when it does not. */
export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'spamward-setups-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', directory, '--loglevel', 'warning'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  let spawnError: Error | null = null;
  child.once('error', (error) => {
    spawnError = error;
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= stopChild(child).finally(() => rmSync(directory, { recursive: true, force: true }));
    return stopping;
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  const startProblem = (): string | null => {
    const failure: Error | null = spawnError;
    if (failure !== null) return `could not start redis-server (is it installed and on PATH?): ${failure.message}`;
    if (hasExited(child)) return `redis-server on port ${port} exited with code ${child.exitCode}`;
    if (Date.now() > deadline) return `redis-server on port ${port} did not accept connections within ${START_TIMEOUT_MS} ms`;
    return null;
  };
  while (!(await canConnect(port))) {
    const problem = startProblem();
    if (problem !== null) {
      await stop();
      throw new Error(`${problem}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  if (child.pid === undefined) {
    await stop();
    throw new Error('redis-server started without a pid');
  }
  return { url: `redis://127.0.0.1:${port}/0`, pid: child.pid, stop };
}
