/**
 * Latency and throughput of `score()` in the authentication and
 * behaviour-store setups a gateway can run. Three setups check with DNS:
 * against a resolver that responds at once, against resolvers that never
 * respond, and with the DNS circuit breaker open. The others read results
 * from a trusted Authentication-Results header, run no authentication, or
 * keep the behaviour store in memory or on Redis. Every server runs on
 * 127.0.0.1, started and stopped by this script.
 * Prints a Markdown section on stdout and, with --write, adds it at the top
 * of benchmarks/RESULTS.md. See benchmarks/README.md for the setups.
 */
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_AUTH_DEADLINE_MS } from '../src/auth/defaults.js';
import { createDnsClient, type DnsClient } from '../src/auth/dns/index.js';
import { describeError, ModelLoadError, OptionsError } from '../src/errors.js';
import { defaultModelDir } from '../src/model/index.js';
import type { Envelope } from '../src/parse/types.js';
import { createScorer, type Scorer, type ScorerOptions } from '../src/pipeline/scorer.js';
import type { ScoreResult } from '../src/pipeline/types.js';
import { loadSpamAssassin, type CorpusMessage } from '../training/corpus.js';
import { startLocalDns } from './local-dns.js';
import { startLocalRedis } from './local-redis.js';
import { formatSection, type Measurement, type RunReport } from './setups-report.js';
import { RESULTS_FILE, writeResults } from './results-file.js';
import { parseBenchmarkArgs } from './args.js';

/** Messages used with --quick, picked evenly across the corpus so ham and spam both appear. */
const QUICK_MESSAGES = 1000;
/** Default for --blackhole-messages: each of these messages waits for the auth deadline, so the setup takes about 200 × 0.8 s. */
const DEFAULT_BLACKHOLE_MESSAGES = 200;
/** Messages scored by every setup before the measured pass, for JIT compilation and lazy loading. */
const WARM_UP_MESSAGES = 500;
/** Milliseconds between progress lines during a pass. */
const PROGRESS_INTERVAL_MS = 10_000;
/** Messages a setup scores in a row before the next setup takes its turn. */
const BLOCK_MESSAGES = 50;
/** Default for --concurrency: `score()` calls in flight in the concurrent pass of the store setups. */
const DEFAULT_CONCURRENCY = 8;
/** Maximum wait for the black-holed resolvers to open the breaker of setup (c), in milliseconds. */
const BREAKER_OPEN_TIMEOUT_MS = 15_000;
/** Cool-down of the breaker of setup (c), in milliseconds: a day, so that it stays open for the whole run. */
const BREAKER_COOLDOWN_MS = 24 * 60 * 60 * 1000;

/** The envelope every message is scored with. The local DNS server's zone authorises this client IP for SPF. */
const ENVELOPE: Envelope = Object.freeze({ clientIp: '192.0.2.10', helo: 'mail.example.net', mailFrom: 'sender@example.net' });
const TRUSTED_AUTHSERV_ID = 'mx.example.com';
const TRUSTED_RESULTS_HEADER =
  `Authentication-Results: ${TRUSTED_AUTHSERV_ID}; spf=pass smtp.mailfrom=sender@example.net; ` +
  'dkim=pass header.d=example.net; dmarc=pass header.from=example.net';


const USAGE = `Usage: node dist/benchmarks/setups.js [--model DIR] [--quick] [--write] [--blackhole-messages N] [--concurrency N]

  --model DIR               model folder (default: models/default)
  --quick                   use ${QUICK_MESSAGES} messages instead of the whole corpus
  --write                   add the results at the top of benchmarks/RESULTS.md
  --blackhole-messages N    messages scored with black-holed resolvers, each waiting up to
                            the ${DEFAULT_AUTH_DEADLINE_MS} ms auth deadline (default: ${DEFAULT_BLACKHOLE_MESSAGES})
  --concurrency N           score() calls in flight in the concurrent pass of the store
                            setups (f) and (g), as a gateway scores one message per
                            SMTP connection (default: ${DEFAULT_CONCURRENCY})
`;

export interface SetupsOptions {
  modelDir: string;
  quick: boolean;
  write: boolean;
  blackholeMessages: number;
  /** `score()` calls in flight in the concurrent pass of (f) and (g). */
  concurrency: number;
}

interface Setup {
  id: string;
  title: string;
  scorer: Scorer;
  /** The outcome (see outcomeOf) every message should get; other outcomes are counted and shown. */
  expected: string | null;
  /** Rewrites each message before the pass; the rewriting is not timed. */
  rewrite?: (raw: Buffer) => Buffer;
}

/** One setup's inputs and figures during a pass. */
interface Lane {
  setup: Setup;
  inputs: Buffer[];
  latencies: number[];
  /** `timings.auth` of each call that returned, in milliseconds. */
  authLatencies: number[];
  /** CPU time of the process during the calls, in milliseconds. */
  cpuMs: number;
  failures: number;
  outcomes: Map<string, number>;
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

function parseOptions(argv: string[]): SetupsOptions {
  const values = parseBenchmarkArgs(
    argv,
    {
    model: { type: 'string' },
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    'blackhole-messages': { type: 'string' },
    concurrency: { type: 'string' },
    },
    USAGE,
  );
  const countText = values['blackhole-messages'];
  const blackholeMessages = countText === undefined ? DEFAULT_BLACKHOLE_MESSAGES : Number(countText);
  if (!Number.isInteger(blackholeMessages) || blackholeMessages < 1) {
    throw new OptionsError(`--blackhole-messages must be a positive integer, got "${countText}".`, { input: '--blackhole-messages' });
  }
  const concurrencyText = values.concurrency;
  const concurrency = concurrencyText === undefined ? DEFAULT_CONCURRENCY : Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new OptionsError(`--concurrency must be a positive integer, got "${concurrencyText}".`, { input: '--concurrency' });
  }
  return {
    modelDir: resolve(values.model ?? defaultModelDir()),
    quick: values.quick,
    write: values.write,
    blackholeMessages,
    concurrency,
  };
}

/** Picks `count` messages spread evenly over `all`, or all of them when there are fewer. */
function pickEvenly(all: CorpusMessage[], count: number): CorpusMessage[] {
  if (all.length <= count) return all;
  const picked: CorpusMessage[] = [];
  for (let i = 0; i < count; i++) {
    const message = all[Math.floor((i * all.length) / count)];
    if (message) picked.push(message);
  }
  return picked;
}

/** Inserts the trusted header as the first header field, after the mbox `From ` line when there is one. */
function addTrustedHeader(raw: Buffer): Buffer {
  const firstLineEnd = raw.indexOf(0x0a);
  const newline = firstLineEnd > 0 && raw[firstLineEnd - 1] === 0x0d ? '\r\n' : '\n';
  const header = Buffer.from(`${TRUSTED_RESULTS_HEADER}${newline}`);
  const hasMboxLine = raw.subarray(0, 5).toString('latin1') === 'From ';
  if (!hasMboxLine || firstLineEnd === -1) return Buffer.concat([header, raw]);
  return Buffer.concat([raw.subarray(0, firstLineEnd + 1), header, raw.subarray(firstLineEnd + 1)]);
}

/**
 * Summarises what a result shows about the setup: where the authentication
 * results came from, the kind of the first `auth:` degradation (`timeout`,
 * `skipped`, ...), and whether the behaviour store was degraded.
 */
function outcomeOf(result: ScoreResult): string {
  const parts = [`auth ${result.auth.source}`];
  const authLine = result.degraded.find((line) => line.startsWith('auth: '));
  if (authLine !== undefined) parts.push(authLine.slice('auth: '.length).split(' (')[0] ?? '');
  if (result.degraded.some((line) => line.startsWith('behaviour-store:'))) parts.push('store degraded');
  return parts.join(', ');
}

function newLane(setup: Setup, messages: CorpusMessage[]): Lane {
  return {
    setup,
    inputs: messages.map((message) => (setup.rewrite ? setup.rewrite(message.raw) : message.raw)),
    latencies: [],
    authLatencies: [],
    cpuMs: 0,
    failures: 0,
    outcomes: new Map<string, number>(),
  };
}

function toMeasurement({ setup, latencies, authLatencies, cpuMs, failures, outcomes }: Lane): Measurement {
  return {
    id: setup.id,
    title: setup.title,
    expected: setup.expected,
    latencies: latencies.sort((a, b) => a - b),
    authLatencies: authLatencies.sort((a, b) => a - b),
    cpuMs,
    failures,
    outcomes,
  };
}

/** Returns the CPU milliseconds of the process since `before`, a `process.cpuUsage()` value. */
function cpuMsSince(before: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(before);
  return (cpu.user + cpu.system) / 1000;
}

/** Times one `score()` call and records its latency, CPU time and outcome in the lane. */
async function scoreOne(lane: Lane, raw: Buffer): Promise<void> {
  const cpuBefore = process.cpuUsage();
  await scoreAndRecord(lane, raw);
  lane.cpuMs += cpuMsSince(cpuBefore);
}

/** Times one `score()` call and records its latency and outcome in the lane, but not its CPU time. */
async function scoreAndRecord(lane: Lane, raw: Buffer): Promise<void> {
  let result: ScoreResult | Error;
  const before = performance.now();
  try {
    result = await lane.setup.scorer.score(raw, ENVELOPE);
  } catch (error) {
    result = error instanceof Error ? error : new Error(String(error));
  }
  lane.latencies.push(performance.now() - before);
  if (result instanceof Error) lane.failures++;
  else lane.authLatencies.push(result.timings.auth);
  const outcome = result instanceof Error ? `failed: ${result.message.slice(0, 80)}` : outcomeOf(result);
  lane.outcomes.set(outcome, (lane.outcomes.get(outcome) ?? 0) + 1);
}

/**
 * Scores every message with every setup, one call at a time. The setups take
 * turns in blocks of BLOCK_MESSAGES messages, so that they all see the same
 * machine load while each block's garbage is mostly collected within the
 * block. The order rotates from block to block, so that no setup always goes
 * first. A call that throws counts as a failure and the pass goes on.
 */
async function measure(label: string, setups: Setup[], messages: CorpusMessage[]): Promise<Measurement[]> {
  const lanes: Lane[] = setups.map((setup) => newLane(setup, messages));
  let lastProgress = performance.now();
  for (let start = 0; start < messages.length; start += BLOCK_MESSAGES) {
    const end = Math.min(messages.length, start + BLOCK_MESSAGES);
    const block = start / BLOCK_MESSAGES;
    for (let step = 0; step < lanes.length; step++) {
      const lane = lanes[(block + step) % lanes.length];
      if (lane === undefined) continue;
      for (const raw of lane.inputs.slice(start, end)) await scoreOne(lane, raw);
    }
    if (performance.now() - lastProgress >= PROGRESS_INTERVAL_MS && end < messages.length) {
      progress(`  ${label}: ${end}/${messages.length}`);
      lastProgress = performance.now();
    }
  }
  progress(`  ${label}: ${messages.length} messages`);
  return lanes.map(toMeasurement);
}

/**
 * Scores every message with every setup, `concurrency` calls in flight at a
 * time, as a gateway scores one message per SMTP connection. The setups take
 * turns in blocks as in `measure`. Calls overlap, so CPU and wall time are
 * measured per block rather than per call, and the throughput is messages
 * per second of block wall time.
 */
async function measureConcurrent(label: string, setups: Setup[], messages: CorpusMessage[], concurrency: number): Promise<Measurement[]> {
  const lanes = setups.map((setup) => ({ ...newLane(setup, messages), wallMs: 0 }));
  for (let start = 0; start < messages.length; start += BLOCK_MESSAGES) {
    const end = Math.min(messages.length, start + BLOCK_MESSAGES);
    const block = start / BLOCK_MESSAGES;
    for (let step = 0; step < lanes.length; step++) {
      const lane = lanes[(block + step) % lanes.length];
      if (lane === undefined) continue;
      const inputs = lane.inputs.slice(start, end);
      let next = 0;
      const worker = async (): Promise<void> => {
        for (let input = inputs[next++]; input !== undefined; input = inputs[next++]) await scoreAndRecord(lane, input);
      };
      const cpuBefore = process.cpuUsage();
      const before = performance.now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      lane.wallMs += performance.now() - before;
      lane.cpuMs += cpuMsSince(cpuBefore);
    }
  }
  progress(`  ${label}: ${messages.length} messages, ${concurrency} in flight`);
  return lanes.map((lane) => ({ ...toMeasurement(lane), concurrency, wallMs: lane.wallMs }));
}

/**
 * Looks up new names through `client` until its breaker opens. Each lookup
 * fails because no resolver responds. A run of failures makes the client send
 * a health check, and its failure opens the breaker.
 */
async function openBreaker(client: DnsClient): Promise<void> {
  const deadline = Date.now() + BREAKER_OPEN_TIMEOUT_MS;
  for (let probe = 0; client.stats().breaker.state !== 'open'; probe++) {
    if (Date.now() > deadline) {
      throw new Error(`the DNS circuit breaker did not open within ${BREAKER_OPEN_TIMEOUT_MS} ms of lookups to black-holed resolvers (state: ${client.stats().breaker.state})`);
    }
    await client.lookup(`breaker-probe-${probe}.example.net`, 'TXT');
  }
}

/** Cleanup steps, run in reverse order of registration, each once, whatever the others do. */
class Cleanup {
  readonly #steps: { name: string; run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.#steps.push({ name, run });
  }

  async runAll(): Promise<void> {
    for (let step = this.#steps.pop(); step !== undefined; step = this.#steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        progress(`cleanup: ${step.name} failed: ${describeError(error)}`);
      }
    }
  }
}

async function run(options: SetupsOptions, cleanup: Cleanup): Promise<string> {
  const started = performance.now();
  const date = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? NaN;

  progress('Loading the SpamAssassin corpus');
  const sample = pickEvenly(loadSpamAssassin().messages, options.quick ? QUICK_MESSAGES : Number.POSITIVE_INFINITY);
  const warmUpSample = pickEvenly(sample, WARM_UP_MESSAGES);
  const blackholeSample = pickEvenly(sample, options.blackholeMessages);

  progress('Starting the DNS servers and redis-server on 127.0.0.1');
  const healthyDns = await startLocalDns('answer');
  cleanup.add('stopping the answering DNS server', () => healthyDns.stop());
  const silentAddresses: string[] = [];
  for (let i = 0; i < 2; i++) {
    const silent = await startLocalDns('silent');
    cleanup.add(`stopping silent DNS server ${silent.address}`, () => silent.stop());
    silentAddresses.push(silent.address);
  }
  const redis = await startLocalRedis();
  cleanup.add(`stopping redis-server pid ${redis.pid}`, () => redis.stop());
  progress(`  answering DNS ${healthyDns.address}, silent DNS ${silentAddresses.join(' and ')}, redis-server pid ${redis.pid} at ${redis.url}`);

  // Setup (b) keeps the breaker closed and remembers no failures, so every message waits for the deadline.
  const heldClosedClient = createDnsClient({
    resolvers: silentAddresses,
    deadlineMs: DEFAULT_AUTH_DEADLINE_MS,
    breakerFailureThreshold: Number.MAX_SAFE_INTEGER,
    failureCacheMs: 0,
  });
  const breakerClient = createDnsClient({ resolvers: silentAddresses, deadlineMs: DEFAULT_AUTH_DEADLINE_MS, breakerCooldownMs: BREAKER_COOLDOWN_MS });

  progress(`Loading the model from ${options.modelDir} into one scorer per setup`);
  const newScorer = async (id: string, extra: ScorerOptions): Promise<Scorer> => {
    const logger = { warn: (message: string) => progress(`  (${id}) ${message}`) };
    const scorer = await createScorer({ modelDir: options.modelDir, requireModel: true, logger, ...extra });
    cleanup.add('closing a scorer', () => scorer.close());
    return scorer;
  };
  const healthy: Setup = {
    id: 'a',
    title: 'DNS checks, local resolver answers at once',
    expected: 'auth dns',
    scorer: await newScorer('a', { auth: { resolvers: [healthyDns.address] } }),
  };
  const blackholed: Setup = {
    id: 'b',
    title: 'DNS checks, resolvers black-holed, breaker held closed',
    expected: 'auth dns, timeout',
    scorer: await newScorer('b', { auth: { dnsClient: heldClosedClient } }),
  };
  const blackholedDefaults: Setup = {
    id: 'b2',
    title: 'DNS checks, resolvers black-holed, default DNS client',
    expected: null,
    scorer: await newScorer('b2', { auth: { resolvers: silentAddresses } }),
  };
  const breakerOpen: Setup = {
    id: 'c',
    title: 'DNS checks, circuit breaker open',
    expected: 'auth dns, skipped',
    scorer: await newScorer('c', { auth: { dnsClient: breakerClient } }),
  };
  const trusted: Setup = {
    id: 'd',
    title: 'Trusted Authentication-Results header, no DNS',
    expected: 'auth trusted-header',
    scorer: await newScorer('d', { auth: { trustAuthservIds: [TRUSTED_AUTHSERV_ID] } }),
    rewrite: addTrustedHeader,
  };
  const baseline: Setup = { id: 'e', title: 'No authentication (default options)', expected: 'auth none', scorer: await newScorer('e', {}) };
  const memoryStore: Setup = { id: 'f', title: 'Behaviour store in memory (same options as e)', expected: 'auth none', scorer: await newScorer('f', { store: 'memory' }) };
  const redisStore: Setup = { id: 'g', title: 'Behaviour store on Redis', expected: 'auth none', scorer: await newScorer('g', { store: redis.url }) };

  progress('Opening the circuit breaker of setup (c)');
  await openBreaker(breakerClient);
  const breakerBefore = breakerClient.stats().breaker;

  const interleaved = [healthy, breakerOpen, trusted, baseline, memoryStore, redisStore];
  progress(`Warm-up: ${warmUpSample.length} messages through setups ${interleaved.map((setup) => setup.id).join(', ')}`);
  await measure('warm-up', interleaved, warmUpSample);
  progress(`Measured pass: ${sample.length} messages through setups ${interleaved.map((setup) => setup.id).join(', ')}`);
  const measured = await measure('measured', interleaved, sample);
  const breakerAfter = breakerClient.stats().breaker;

  // The same two scorers, so (f) and (g) in both passes differ only in the calls in flight.
  const concurrentSetups: Setup[] = [
    { ...memoryStore, id: 'fc', title: `Behaviour store in memory, ${options.concurrency} messages in flight` },
    { ...redisStore, id: 'gc', title: `Behaviour store on Redis, ${options.concurrency} messages in flight` },
  ];
  progress(`Concurrent pass: ${sample.length} messages through setups fc and gc, ${options.concurrency} in flight, after a warm-up`);
  await measureConcurrent('concurrent warm-up', concurrentSetups, warmUpSample, options.concurrency);
  const concurrent = await measureConcurrent('concurrent', concurrentSetups, sample, options.concurrency);

  progress(`Setup (b): ${blackholeSample.length} messages, each waiting up to the ${DEFAULT_AUTH_DEADLINE_MS} ms deadline`);
  const [blackholedResult] = await measure('b', [blackholed], blackholeSample);
  progress(`Setup (b2): ${blackholeSample.length} messages`);
  const [blackholedDefaultsResult] = await measure('b2', [blackholedDefaults], blackholeSample);
  if (blackholedResult === undefined || blackholedDefaultsResult === undefined) throw new Error('a black-holed pass returned no measurement');

  const healthyQueries = (await healthyDns.stop()).queries;
  const report: RunReport = {
    command: `node dist/benchmarks/setups.js${process.argv.slice(2).map((argument) => ` ${argument}`).join('')}`,
    date,
    quick: options.quick,
    loadAtStart,
    loadAtEnd: loadavg()[0] ?? NaN,
    runSeconds: (performance.now() - started) / 1000,
    modelDir: options.modelDir,
    modelVersion: baseline.scorer.modelVersion ?? 'none',
    sampleSize: sample.length,
    warmUpSize: warmUpSample.length,
    blackholeSize: blackholeSample.length,
    envelope: ENVELOPE,
    deadlineMs: DEFAULT_AUTH_DEADLINE_MS,
    concurrency: options.concurrency,
    measurements: [...measured.slice(0, 1), blackholedResult, blackholedDefaultsResult, ...measured.slice(1), ...concurrent],
    dns: {
      healthyQueries,
      healthy: healthy.scorer.dnsStats(),
      heldClosed: heldClosedClient.stats(),
      blackholedDefaults: blackholedDefaults.scorer.dnsStats(),
      breakerBefore,
      breakerAfter,
      breakerClient: breakerClient.stats(),
    },
  };
  return formatSection(report);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const cleanup = new Cleanup();
  const stopOnSignal = (signal: NodeJS.Signals, exitCode: number): void => {
    process.once(signal, () => {
      progress(`Stopped by ${signal}; stopping the servers`);
      void cleanup.runAll().finally(() => process.exit(exitCode));
    });
  };
  stopOnSignal('SIGINT', 130);
  stopOnSignal('SIGTERM', 143);

  let section: string;
  try {
    section = await run(options, cleanup);
  } finally {
    await cleanup.runAll();
  }
  process.stdout.write(section);
  if (options.write) {
    writeResults(section);
    progress(`Added the run to ${RESULTS_FILE}`);
  }
}

main().catch((error: unknown) => {
  const hint = error instanceof ModelLoadError ? '\nPass a trained model folder with --model DIR.' : '';
  process.stderr.write(`setups: ${describeError(error)}${hint}\n`);
  process.exitCode = error instanceof OptionsError ? 2 : 1;
});
