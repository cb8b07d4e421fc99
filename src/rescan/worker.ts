/**
 * Entry point of a rescan worker thread: builds its own scorer from the
 * ScorerOptions in workerData and scores the messages the pool sends, one
 * at a time. The message bytes are transferred both ways, so the main
 * thread gets them back for the release without a copy.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { describeError, SpamwardError } from '../errors.js';
import { createScorer, type ScorerOptions } from '../pipeline/scorer.js';
import { scoreMessage, type JobOutcome } from './job.js';

/** Marks workerData as meant for this module, so importing it in another worker thread does nothing. */
export const RESCAN_WORKER_MARKER = 'spamward-rescan-worker';

export interface RescanWorkerData {
  marker: typeof RESCAN_WORKER_MARKER;
  /** Plain data only: functions such as `logger` cannot cross threads, so warnings are posted to the pool instead. */
  scorer: ScorerOptions;
  topSymbols: number;
}

export interface ScoreRequest {
  type: 'score';
  id: number;
  bytes: ArrayBuffer;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'init-failed'; error: { name: string; code: string; message: string } }
  | { type: 'warning'; message: string }
  | { type: 'result'; id: number; outcome: JobOutcome; bytes: ArrayBuffer };

function isRescanWorkerData(value: unknown): value is RescanWorkerData {
  return typeof value === 'object' && value !== null && (value as { marker?: unknown }).marker === RESCAN_WORKER_MARKER;
}

async function serve(port: MessagePort, data: RescanWorkerData): Promise<void> {
  let scorer;
  try {
    scorer = await createScorer({
      ...data.scorer,
      store: null,
      logger: { warn: (message) => port.postMessage({ type: 'warning', message } satisfies WorkerReply) },
    });
  } catch (error) {
    const code = error instanceof SpamwardError ? error.code : 'SPAMWARD_ERROR';
    const name = error instanceof Error ? error.name : 'Error';
    port.postMessage({ type: 'init-failed', error: { name, code, message: describeError(error) } } satisfies WorkerReply);
    port.close();
    return;
  }
  const loaded = scorer;
  port.on('message', (request: ScoreRequest) => {
    void scoreMessage(loaded, Buffer.from(request.bytes), data.topSymbols).then((outcome) => {
      const reply: WorkerReply = { type: 'result', id: request.id, outcome, bytes: request.bytes };
      port.postMessage(reply, [request.bytes]);
    });
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

if (parentPort !== null && isRescanWorkerData(workerData)) void serve(parentPort, workerData);
