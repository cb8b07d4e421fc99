/**
 * Behaviour-store benchmark: observe() throughput for the memory store and
 * Redis, and the memory used by the memory store per number of keys.
 *
 *   npm run build && node --expose-gc dist/benchmarks/store.js [--redis redis://127.0.0.1:6379/0] [--keys N] [--no-memory]
 *
 * Without --redis it starts its own redis-server on 127.0.0.1 (which must be
 * installed). --keys sets the behaviour keys per message, 1 to 8, default 4:
 * the scorer's `sender:`, `org:` and `net:` keys and a `content:` fingerprint,
 * then `from:`, `ip:`, `helo:` and `dkim:`. --no-memory skips the memory
 * table. Every loop has a fixed size, so a run takes about a minute on a
 * 2-core machine (most of it filling 1,000,000 keys). Memory is measured in child processes, one per row, so
 * each row starts from a fresh heap. Prints a markdown table.
 */

import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseRedisUrl } from '../src/store/create.js';
import { behaviourKeys } from '../src/store/keys.js';
import { MemoryBehaviourStore } from '../src/store/memory.js';
import { RedisBehaviourStore } from '../src/store/redis.js';
import type { BehaviourStore } from '../src/store/types.js';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.js';

const MEMORY_MESSAGES = 50_000;
const REDIS_SEQUENTIAL_MESSAGES = 5_000;
const REDIS_CONCURRENT_MESSAGES = 20_000;
const REDIS_CONCURRENCY = 32;
/** Distinct senders per message pool, so keys repeat as they do for real traffic. */
const SENDER_POOL = 10_000;
/** Recipients per key in the sketch rows: above the 8 counted exactly, so every key gets a sketch. */
const SKETCH_RECIPIENTS = 40;
/** Key counts: 100,000 and 1,000,000 distinct senders, and the default maxKeys (200,000). */
const MEMORY_ROWS: { keys: number; recipients: number }[] = [
  { keys: 100_000, recipients: 1 },
  { keys: 200_000, recipients: 1 },
  { keys: 1_000_000, recipients: 1 },
  { keys: 100_000, recipients: SKETCH_RECIPIENTS },
  { keys: 200_000, recipients: SKETCH_RECIPIENTS },
  { keys: 1_000_000, recipients: SKETCH_RECIPIENTS },
];
/** Default for --keys: the keys the scorer observes per message (sender, org, net and the content fingerprint). */
const DEFAULT_KEYS_PER_MESSAGE = 4;
/** Distinct content fingerprints per message pool. */
const CONTENT_POOL = 2_000;
const T0 = Date.UTC(2024, 0, 1);
const MB = 1024 * 1024;

interface MemoryRow {
  keys: number;
  recipients: number;
  rssBeforeMb: number;
  rssMb: number;
  heapMb: number;
  externalMb: number;
  bytesPerKey: number;
  seconds: number;
}

/** Key kinds in the order --keys takes them: first the kinds the scorer observes, then the other kinds of `behaviourKeys`. */
const KEY_ORDER = ['sender:', 'org:', 'net:', 'content:', 'from:', 'ip:', 'helo:', 'dkim:'];

/** Returns the first `count` keys of message `index`, in KEY_ORDER. */
function messageKeys(index: number, count: number): string[] {
  const sender = index % SENDER_POOL;
  const keys = behaviourKeys({
    envelopeSender: `user${sender}@sender${sender % 500}.example.com`,
    fromDomain: `sender${sender % 500}.example.com`,
    dkimDomain: `sender${sender % 500}.example.com`,
    clientIp: `198.51.${sender % 256}.${(sender >> 8) % 256}`,
    helo: `mx${sender % 50}.example.com`,
  });
  keys.push(`content:${(index % CONTENT_POOL).toString(16).padStart(16, '0')}`);
  const ordered: string[] = [];
  for (const kind of KEY_ORDER.slice(0, count)) {
    const key = keys.find((candidate) => candidate.startsWith(kind));
    if (key !== undefined) ordered.push(key);
  }
  return ordered;
}

async function sequentialRate(store: BehaviourStore, messages: number, keysPerMessage: number): Promise<number> {
  const started = performance.now();
  for (let index = 0; index < messages; index += 1) {
    await store.observe(messageKeys(index, keysPerMessage), { now: T0 + index, recipients: [`r${index % 7}@example.net`] });
  }
  return messages / ((performance.now() - started) / 1000);
}

async function concurrentRate(store: BehaviourStore, messages: number, concurrency: number, keysPerMessage: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < messages) {
      const index = next;
      next += 1;
      await store.observe(messageKeys(index, keysPerMessage), { now: T0 + index, recipients: [`r${index % 7}@example.net`] });
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return messages / ((performance.now() - started) / 1000);
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('Run with node --expose-gc to measure memory.');
  gc();
}

/** Child mode: fills a memory store with `keys` distinct senders and prints a MemoryRow as JSON. */
async function measureMemory(keys: number, recipients: number): Promise<void> {
  collectGarbage();
  const before = process.memoryUsage();
  const started = performance.now();
  const store = new MemoryBehaviourStore({ maxKeys: keys });
  const addresses = Array.from({ length: recipients }, (_, index) => `rcpt${index}@example.net`);
  for (let index = 0; index < keys; index += 1) {
    await store.observe([`sender:user${index}@example.com`], { now: T0, recipients: addresses });
  }
  const seconds = (performance.now() - started) / 1000;
  collectGarbage();
  const after = process.memoryUsage();
  if (store.size !== keys) throw new Error(`expected ${keys} keys in the store, found ${store.size}`);
  const row: MemoryRow = {
    keys,
    recipients,
    rssBeforeMb: before.rss / MB,
    rssMb: after.rss / MB,
    heapMb: (after.heapUsed - before.heapUsed) / MB,
    externalMb: (after.external - before.external) / MB,
    bytesPerKey: (after.rss - before.rss) / keys,
    seconds,
  };
  process.stdout.write(JSON.stringify(row));
}

function runMemoryChild(keys: number, recipients: number): MemoryRow {
  const script = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, ['--expose-gc', script, '--memory-child', String(keys), String(recipients)], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`memory child for ${keys} keys failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as MemoryRow;
}

function argument(name: string): string | undefined {
  const position = process.argv.indexOf(name);
  return position === -1 ? undefined : process.argv[position + 1];
}

async function main(): Promise<void> {
  const child = argument('--memory-child');
  if (child !== undefined) {
    await measureMemory(Number(child), Number(process.argv[process.argv.indexOf('--memory-child') + 2]));
    return;
  }

  const lines: string[] = [];
  const cpu = cpus();
  lines.push(`Command: \`node --expose-gc dist/benchmarks/store.js${process.argv.slice(2).map((arg) => ` ${arg}`).join('')}\``);
  lines.push(`Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}`);
  lines.push(`Date: ${new Date().toISOString()}`);
  lines.push('');
  lines.push('| store | mode | messages | keys per message | observe() per second |');
  lines.push('| --- | --- | ---: | ---: | ---: |');

  const keysText = argument('--keys');
  const keysPerMessage = keysText === undefined ? DEFAULT_KEYS_PER_MESSAGE : Number(keysText);
  if (!Number.isInteger(keysPerMessage) || keysPerMessage < 1 || keysPerMessage > KEY_ORDER.length) {
    throw new Error(`--keys must be an integer from 1 to ${KEY_ORDER.length}, got ${JSON.stringify(keysText)}.`);
  }
  const memory = new MemoryBehaviourStore();
  const memoryRate = await sequentialRate(memory, MEMORY_MESSAGES, keysPerMessage);
  lines.push(`| memory | sequential | ${MEMORY_MESSAGES} | ${keysPerMessage} | ${memoryRate.toFixed(0)} |`);
  await memory.close();

  let server: RedisServer | undefined;
  let url = argument('--redis');
  if (url === undefined) {
    server = await startRedisServer();
    url = server.url;
  }
  const target = parseRedisUrl(url);
  const redis = new RedisBehaviourStore({
    redis: { host: target.host, port: target.port, db: target.db, username: target.username, password: target.password },
    keyPrefix: 'spamward-bench:',
    timeoutMs: 5000,
  });
  try {
    await redis.observe(['warmup'], { now: T0, recipients: [] });
    const sequential = await sequentialRate(redis, REDIS_SEQUENTIAL_MESSAGES, keysPerMessage);
    lines.push(`| redis | sequential (one call at a time) | ${REDIS_SEQUENTIAL_MESSAGES} | ${keysPerMessage} | ${sequential.toFixed(0)} |`);
    const concurrent = await concurrentRate(redis, REDIS_CONCURRENT_MESSAGES, REDIS_CONCURRENCY, keysPerMessage);
    lines.push(`| redis | ${REDIS_CONCURRENCY} calls in flight | ${REDIS_CONCURRENT_MESSAGES} | ${keysPerMessage} | ${concurrent.toFixed(0)} |`);
  } finally {
    await redis.close();
    await server?.stop();
  }

  if (process.argv.includes('--no-memory')) {
    console.log(lines.join('\n'));
    return;
  }
  lines.push('');
  lines.push('Memory store, one key per distinct sender (maxKeys set to the key count), measured in a fresh process per row:');
  lines.push('');
  lines.push('| keys | recipients per key | RSS before (MB) | RSS after (MB) | heap growth (MB) | external growth (MB) | RSS growth per key (bytes) | fill time (s) |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const { keys, recipients } of MEMORY_ROWS) {
    const row = runMemoryChild(keys, recipients);
    lines.push(
      `| ${row.keys} | ${row.recipients} | ${row.rssBeforeMb.toFixed(0)} | ${row.rssMb.toFixed(0)} | ${row.heapMb.toFixed(0)} | ${row.externalMb.toFixed(0)} | ` +
        `${row.bytesPerKey.toFixed(0)} | ${row.seconds.toFixed(1)} |`,
    );
  }
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
