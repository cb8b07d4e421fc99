import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../src/errors.js';
import { rescan, RescanWorkerError, resolveWorkerUrl, WORKER_FAILED_CODE } from '../../src/rescan/index.js';
import { readRows } from '../helpers/rescan.js';

const BUILT_WORKER = fileURLToPath(new URL('../../dist/src/rescan/worker.js', import.meta.url));
// `npm ci` builds dist through the prepare script, so in CI a missing build is a failure, not a skip.
const skipWithoutBuild = !existsSync(BUILT_WORKER) && process.env.CI === undefined;
const HEURISTICS_ONLY = { modelDir: null };
const MESSAGES = 24;

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'spamward-rescan-pool-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function message(n: number, extra = ''): string {
  return `From: sender${n}@example.com\nTo: bob@example.com\nSubject: Offer ${n}\nMessage-ID: <offer-${n}@example.com>\n${extra}\nHello, this is offer ${n}. ${'FREE MONEY!!! '.repeat(n % 4)}\n`;
}

function mboxOf(bodies: string[]): string {
  return bodies.map((body) => `From sender@example.com Fri Dec  4 10:00:00 2026\n${body}\n`).join('');
}

async function quarantine(name: string): Promise<string> {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  for (let i = 0; i < MESSAGES; i += 1) await writeFile(path.join(folder, `${String(i).padStart(3, '0')}.eml`), message(i));
  await writeFile(path.join(folder, 'box.mbox'), mboxOf([message(100), message(101, 'X-Spam-Status: Yes, score=7.5 required=5.0\n')]));
  await writeFile(path.join(folder, 'empty.eml'), '');
  return folder;
}

/** Writes a worker script that stops its thread on messages containing `marker`, and otherwise runs the built worker. */
async function crashingWorker(name: string, marker: string, how: 'exit' | 'throw' | 'hang'): Promise<URL> {
  const script = path.join(root, `${name}.mjs`);
  const stops = { exit: 'process.exit(7);', throw: "throw new Error('worker test failure');", hang: 'for (;;) {}' };
  const stop = stops[how];
  await writeFile(
    script,
    `import { parentPort } from 'node:worker_threads';
parentPort.on('message', (request) => { if (Buffer.from(request.bytes).includes(${JSON.stringify(marker)})) { ${stop} } });
await import(${JSON.stringify(pathToFileURL(BUILT_WORKER).href)});
`,
  );
  return pathToFileURL(script);
}

describe('worker script', () => {
  it('resolves the built worker from .ts', () => {
    const url = resolveWorkerUrl('file:///repo/src/rescan/pool.ts');
    expect(url.href).toBe('file:///repo/dist/src/rescan/worker.js');
  });

  it('resolves the sibling worker from .js', () => {
    const url = resolveWorkerUrl('file:///repo/dist/src/rescan/pool.js');
    expect(url.href).toBe('file:///repo/dist/src/rescan/worker.js');
  });

  it('rejects a missing worker script', async () => {
    const run = rescan({ inputs: [], report: path.join(root, 'missing.jsonl'), scorer: HEURISTICS_ONLY, workers: 2, workerUrl: pathToFileURL(path.join(root, 'none.js')) });
    await expect(run).rejects.toThrow(RescanWorkerError);
  });
});

describe.skipIf(skipWithoutBuild)('worker pool', () => {
  it('gives the rows of one thread', async () => {
    const folder = await quarantine('same');
    const single = path.join(root, 'single.jsonl');
    const pooled = path.join(root, 'pooled.jsonl');
    const one = await rescan({ inputs: [folder], report: single, scorer: HEURISTICS_ONLY, workers: 1 });
    const two = await rescan({ inputs: [folder], report: pooled, scorer: HEURISTICS_ONLY, workers: 2, maxInFlight: 3 });

    expect(await readRows(pooled)).toEqual(await readRows(single));
    expect(two).toEqual(one);
    expect((await readRows(pooled)).length).toBe(MESSAGES + 3);
  });

  it('runs the built worker under vitest', async () => {
    const folder = await quarantine('default-url');
    const report = path.join(root, 'default-url.jsonl');
    await rescan({ inputs: [folder], report, scorer: HEURISTICS_ONLY, workers: 2 });
    const rows = await readRows(report);

    const flagged = rows.find((row) => row.messageId === 'offer-101@example.com');
    expect(flagged?.previousScore).toBe(7.5);
    expect(flagged?.previousFlagged).toBe(true);
    expect(rows.filter((row) => row.error === null)).toHaveLength(MESSAGES + 2);
  });

  for (const how of ['exit', 'throw', 'hang'] as const) {
    it(`replaces a worker that stops (${how})`, async () => {
      const folder = await quarantine(`crash-${how}`);
      await writeFile(path.join(folder, '005.eml'), message(5, 'X-Crash: CRASH-ME\n'));
      const report = path.join(root, `crash-${how}.jsonl`);
      const warnings: string[] = [];
      const workerUrl = await crashingWorker(`crash-${how}`, 'CRASH-ME', how);
      const scorer = { ...HEURISTICS_ONLY, logger: { warn: (line: string) => warnings.push(line) } };
      const summary = await rescan({ inputs: [folder], report, scorer, workers: 2, workerUrl, messageTimeoutMs: 1000 });
      const rows = await readRows(report);

      const crashed = rows.find((row) => row.source === path.join(folder, '005.eml'));
      expect(crashed?.error?.code).toBe(WORKER_FAILED_CODE);
      if (how === 'hang') expect(crashed?.error?.message).toContain('longer than 1000 ms');
      expect(crashed?.sha256).toHaveLength(64);
      expect(rows).toHaveLength(MESSAGES + 3);
      expect(rows.filter((row) => row.error === null)).toHaveLength(MESSAGES + 1);
      expect(summary.errors).toBe(2);
      expect(warnings.some((line) => line.includes('worker thread stopped'))).toBe(true);
    });
  }

  it('stops on abort and resumes', async () => {
    const folder = await quarantine('abort');
    const report = path.join(root, 'abort.jsonl');
    const controller = new AbortController();
    const first = await rescan({
      inputs: [folder],
      report,
      scorer: HEURISTICS_ONLY,
      workers: 2,
      signal: controller.signal,
      onMessage: () => {
        controller.abort();
      },
    });
    const written = (await readRows(report)).length;
    const second = await rescan({ inputs: [folder], report, scorer: HEURISTICS_ONLY, workers: 2 });
    const rows = await readRows(report);

    expect(first.interrupted).toBe(true);
    expect(written).toBeLessThan(MESSAGES + 3);
    expect(second.interrupted).toBe(false);
    expect(second.resumed).toBe(written);
    expect(rows).toHaveLength(MESSAGES + 3);
    expect(new Set(rows.map((row) => row.source)).size).toBe(MESSAGES + 3);
  });

  it('rejects a required model that fails', async () => {
    const run = rescan({ inputs: [], report: path.join(root, 'model.jsonl'), scorer: { modelDir: path.join(root, 'no-model'), requireModel: true }, workers: 2 });
    await expect(run).rejects.toThrow(ModelLoadError);
  });

  it('passes worker warnings on once', async () => {
    const warnings: string[] = [];
    await rescan({ inputs: [], report: path.join(root, 'warn.jsonl'), scorer: { modelDir: path.join(root, 'no-model'), logger: { warn: (line) => warnings.push(line) } }, workers: 2 });

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('heuristics only');
  });
});

describe('in-flight bound', () => {
  it('stops reading while messages wait', async () => {
    const total = 50;
    const maxInFlight = 3;
    let pulled = 0;
    async function* mbox(): AsyncGenerator<Buffer> {
      for (let i = 0; i < total; i += 1) {
        pulled += 1;
        yield Buffer.from(`From sender@example.com Fri Dec  4 10:00:00 2026\n${message(i)}\n`);
      }
    }
    let openGate = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let pulledWhileBlocked = -1;
    const { createScorer } = await import('../../src/pipeline/scorer.js');
    const blockingScorer = async (options: Parameters<typeof createScorer>[0]) => {
      const real = await createScorer(options);
      let first = true;
      return {
        ...real,
        modelVersion: real.modelVersion,
        modelError: real.modelError,
        score: async (raw: Parameters<typeof real.score>[0]) => {
          if (first) {
            first = false;
            await gate;
          }
          return real.score(raw);
        },
        close: () => real.close(),
        dnsStats: () => real.dnsStats(),
      };
    };
    const { Readable } = await import('node:stream');
    const stdin = Readable.from(mbox(), { objectMode: true, highWaterMark: 1 });
    const run = rescan({ inputs: ['-'], stdin, report: path.join(root, 'bound.jsonl'), scorer: HEURISTICS_ONLY, createScorer: blockingScorer, maxInFlight });
    // Lets the reader run as far as it can while the first message is held: until the count stays put for 10 polls, at most 10 s.
    let stable = 0;
    for (let poll = 0; poll < 1000 && stable < 10; poll += 1) {
      const before = pulled;
      await new Promise((resolve) => setTimeout(resolve, 10));
      stable = pulled === before && pulled > 0 ? stable + 1 : 0;
    }
    pulledWhileBlocked = pulled;
    openGate();
    const summary = await run;

    expect(summary.ham + summary.suspect + summary.spam).toBe(total);
    // The window keeps maxInFlight messages, and the stream and the mbox splitter keep at most one chunk each beyond it.
    expect(pulledWhileBlocked).toBeGreaterThanOrEqual(maxInFlight);
    expect(pulledWhileBlocked).toBeLessThanOrEqual(maxInFlight + 3);
  });
});
