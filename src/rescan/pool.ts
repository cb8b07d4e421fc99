/**
 * Executors that score rescanned messages: one scorer in this thread, or a
 * pool of worker threads with one scorer each. Both take the bytes of
 * one message and return the outcome with the bytes, so the caller can
 * release the message afterwards.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ModelLoadError, OptionsError, SpamwardError } from '../errors.js';
import type { Scorer, ScorerOptions } from '../pipeline/scorer.js';
import { scoreMessage, type JobOutcome } from './job.js';
import { RESCAN_WORKER_MARKER, type RescanWorkerData, type ScoreRequest, type WorkerReply } from './worker.js';

/** Distinct warnings passed on from the workers; each worker repeats the same ones, such as a model that failed to load. */
const MAX_DISTINCT_WARNINGS = 100;
/** The code of the error outcome of a message whose worker thread stopped while scoring it. */
export const WORKER_FAILED_CODE = 'SPAMWARD_RESCAN_WORKER_FAILED';

/** A worker thread could not be started, or stopped while starting. */
export class RescanWorkerError extends SpamwardError {
  override readonly code = WORKER_FAILED_CODE;
}

/** The outcome with the message bytes, or `cancelled` when the run was aborted before the message was scored. */
export type ExecutorResult = { cancelled?: undefined; outcome: JobOutcome; bytes: Buffer } | { cancelled: true };

export interface ScoreExecutor {
  /** Scores one message. Rejects only when the pool as a whole has failed. */
  score(bytes: Buffer): Promise<ExecutorResult>;
  close(): Promise<void>;
}

export interface WorkerPoolOptions {
  /** Worker threads to run. */
  size: number;
  /** Passed to createScorer in each worker; must be plain data (structured-cloneable), so `logger` is left out. */
  scorer: ScorerOptions;
  topSymbols: number;
  /** The worker script; see resolveWorkerUrl. */
  workerUrl: URL;
  /** Milliseconds a worker may take for one message before it is stopped and replaced, and the message gets an error outcome. */
  messageTimeoutMs: number;
  /** Once aborted, messages not yet sent to a worker are cancelled. */
  signal?: AbortSignal;
  /** Receives scorer warnings, each distinct one once, and a line for every worker thread that stopped and was replaced. */
  onWarning: (message: string) => void;
}

interface Job {
  id: number;
  bytes: Buffer;
  resolve: (result: ExecutorResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  /** The uncaught error that stopped the worker, when there was one. */
  lastError: Error | null;
  /** Stops the worker when its message takes longer than messageTimeoutMs. */
  timer: NodeJS.Timeout | null;
  timedOut: boolean;
}

/** Returns an ArrayBuffer with exactly the bytes of `bytes`, copying them unless `bytes` covers its whole ArrayBuffer (a pooled small Buffer must never be transferred). */
function transferable(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy.buffer;
}

function initError(error: { name: string; code: string; message: string }): SpamwardError {
  if (error.code === 'SPAMWARD_MODEL_LOAD_FAILED') return new ModelLoadError(error.message);
  if (error.code === 'SPAMWARD_INVALID_OPTION') return new OptionsError(error.message);
  return new RescanWorkerError(`A rescan worker thread could not start: ${error.message}`);
}

/**
 * Returns the worker script beside `moduleUrl`. A worker thread cannot load
 * the .ts worker, so when `moduleUrl` is a .ts file (under vitest or a
 * TypeScript loader) the compiled one in dist is used. That needs
 * `npm run build`, which `npm ci` runs through `prepare`.
 */
export function resolveWorkerUrl(moduleUrl: string): URL {
  if (moduleUrl.endsWith('.ts')) return new URL('../../dist/src/rescan/worker.js', moduleUrl);
  return new URL('./worker.js', moduleUrl);
}

/** Scores in this thread, one message at a time, with a scorer from `create`. */
export async function createInProcessExecutor(
  create: (options: ScorerOptions) => Promise<Scorer>,
  scorerOptions: ScorerOptions,
  topSymbols: number,
  signal?: AbortSignal,
): Promise<ScoreExecutor> {
  const scorer = await create({ ...scorerOptions, store: null });
  let previous: Promise<unknown> = Promise.resolve();
  return {
    score(bytes: Buffer): Promise<ExecutorResult> {
      const run = previous.then(async (): Promise<ExecutorResult> => {
        if (signal?.aborted === true) return { cancelled: true };
        return { outcome: await scoreMessage(scorer, bytes, topSymbols), bytes };
      });
      previous = run.catch(() => undefined);
      return run;
    },
    close: () => scorer.close(),
  };
}

/**
 * A pool of worker threads, each with its own scorer, sent one message at a
 * time. A worker that stops while scoring (an uncaught error, process.exit,
 * a resource limit, or messageTimeoutMs passing) is reported through `onWarning` and replaced, and
 * its message gets an error outcome with the code
 * SPAMWARD_RESCAN_WORKER_FAILED. A replacement that cannot start fails the
 * pool: every later `score` call rejects with that error.
 */
export class WorkerPool implements ScoreExecutor {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private readonly warnings = new Set<string>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;

  private constructor(private readonly options: WorkerPoolOptions) {}

  /** Starts `options.size` workers and resolves when all have their scorer. Throws the first start-up error (a ModelLoadError when the model is required and fails to load). */
  static async start(options: WorkerPoolOptions): Promise<WorkerPool> {
    const script = fileURLToPath(options.workerUrl);
    if (!existsSync(script)) {
      throw new RescanWorkerError(`The rescan worker script ${script} does not exist; run "npm run build" first, or scan in one thread (workers: 1).`, { input: script });
    }
    const pool = new WorkerPool(options);
    const started = await Promise.allSettled(Array.from({ length: options.size }, () => pool.spawn()));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  score(bytes: Buffer): Promise<ExecutorResult> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise<ExecutorResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, bytes, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const job of this.queue.splice(0)) job.resolve({ cancelled: true });
    for (const slot of this.slots) if (slot.timer !== null) clearTimeout(slot.timer);
    await Promise.all([...this.slots].map((slot) => slot.worker.terminate()));
    this.slots.clear();
  }

  private warn(message: string): void {
    if (this.warnings.has(message)) return;
    if (this.warnings.size < MAX_DISTINCT_WARNINGS) this.warnings.add(message);
    this.options.onWarning(message);
  }

  private spawn(): Promise<void> {
    const data: RescanWorkerData = { marker: RESCAN_WORKER_MARKER, scorer: this.options.scorer, topSymbols: this.options.topSymbols };
    const worker = new Worker(this.options.workerUrl, { workerData: data });
    const slot: Slot = { worker, ready: false, job: null, lastError: null, timer: null, timedOut: false };
    this.slots.add(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: WorkerReply) => {
        switch (reply.type) {
          case 'ready':
            slot.ready = true;
            resolve();
            this.dispatch();
            break;
          case 'init-failed':
            reject(initError(reply.error));
            void worker.terminate();
            break;
          case 'warning':
            this.warn(reply.message);
            break;
          case 'result':
            this.finish(slot, reply);
            break;
        }
      });
      worker.on('error', (error) => {
        slot.lastError = error;
      });
      worker.on('exit', (code) => {
        this.slots.delete(slot);
        if (slot.timer !== null) clearTimeout(slot.timer);
        let reason = slot.lastError === null ? `exit code ${code}` : `${slot.lastError.message}, exit code ${code}`;
        if (slot.timedOut) reason = `it took longer than ${this.options.messageTimeoutMs} ms and was stopped`;
        if (!slot.ready) {
          reject(new RescanWorkerError(`A rescan worker thread stopped while starting (${reason}).`));
          return;
        }
        if (this.closing) return;
        this.replace(slot, reason);
      });
    });
  }

  /** Gives the job of a stopped worker an error outcome and starts a worker in its place. */
  private replace(slot: Slot, reason: string): void {
    const job = slot.job;
    slot.job = null;
    this.options.onWarning(`a rescan worker thread stopped (${reason})${job === null ? '' : ' while scoring a message'}; starting a new one.`);
    job?.resolve({
      outcome: { error: { code: WORKER_FAILED_CODE, message: `The worker thread scoring this message stopped (${reason}); the message was not scored.` } },
      bytes: Buffer.alloc(0),
    });
    this.spawn().catch((error: unknown) => {
      this.failure = error instanceof Error ? error : new RescanWorkerError(String(error));
      for (const queued of this.queue.splice(0)) queued.reject(this.failure);
    });
  }

  private finish(slot: Slot, reply: Extract<WorkerReply, { type: 'result' }>): void {
    const job = slot.job;
    if (job === null || job.id !== reply.id) return;
    slot.job = null;
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = null;
    job.resolve({ outcome: reply.outcome, bytes: Buffer.from(reply.bytes) });
    this.dispatch();
  }

  private dispatch(): void {
    if (this.options.signal?.aborted === true) {
      for (const job of this.queue.splice(0)) job.resolve({ cancelled: true });
      return;
    }
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (!slot.ready || slot.job !== null) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      slot.job = job;
      slot.timer = setTimeout(() => {
        slot.timedOut = true;
        void slot.worker.terminate();
      }, this.options.messageTimeoutMs);
      const bytes = transferable(job.bytes);
      const request: ScoreRequest = { type: 'score', id: job.id, bytes };
      slot.worker.postMessage(request, [bytes]);
    }
  }
}
