/** The Markdown section that benchmarks/setups.ts prints and adds to RESULTS.md. */
import { relative } from 'node:path';
import { cpus } from 'node:os';
import type { DnsStats } from '../src/auth/dns/index.js';
import type { Envelope } from '../src/parse/types.js';

/** Setup (b) meets its target when its p99 is at most the auth deadline plus this many milliseconds. */
const DEADLINE_SLACK_MS = 10;
/** Setup (c) meets its target when its throughput is at least this share of the baseline (e). */
const BREAKER_MIN_SHARE = 0.9;
/** Setup (g) meets its target when Redis costs at most this share of the throughput of (f). */
const REDIS_MAX_COST = 0.15;

/** Figures of one setup over one pass. */
export interface Measurement {
  id: string;
  title: string;
  /** The outcome every message should get, or null when mixed outcomes are expected. */
  expected: string | null;
  /** Milliseconds per `score()` call, sorted ascending. */
  latencies: number[];
  /**
   * `result.timings.auth` of each call that returned, sorted ascending: the
   * time of the authentication and behaviour-store calls, which run together.
   */
  authLatencies: number[];
  /**
   * CPU time of the whole process during the calls, in milliseconds: garbage
   * collection and the DNS server's worker thread included, redis-server not.
   */
  cpuMs: number;
  failures: number;
  /** Messages per outcome (the source of the auth results, the kind of auth degradation, store degradation). */
  outcomes: Map<string, number>;
  /** Calls in flight, for a concurrent pass; absent when the calls ran one at a time. */
  concurrency?: number;
  /** Wall milliseconds of a concurrent pass, whose calls overlap so their latencies do not add up to it. */
  wallMs?: number;
}

type BreakerStats = DnsStats['breaker'];

export interface RunReport {
  command: string;
  date: string;
  quick: boolean;
  loadAtStart: number;
  loadAtEnd: number;
  runSeconds: number;
  modelDir: string;
  modelVersion: string;
  sampleSize: number;
  warmUpSize: number;
  blackholeSize: number;
  envelope: Envelope;
  deadlineMs: number;
  /** Calls in flight in the concurrent pass of the store setups (fc) and (gc). */
  concurrency: number;
  /** In table order; the ids a to g, b2, fc and gc must all be present. */
  measurements: Measurement[];
  dns: {
    /** Queries the answering server of (a) received. */
    healthyQueries: number;
    healthy: DnsStats | null;
    heldClosed: DnsStats;
    blackholedDefaults: DnsStats | null;
    /** Breaker of (c) right after it was opened, and after the measured pass. */
    breakerBefore: BreakerStats;
    breakerAfter: BreakerStats;
    breakerClient: DnsStats;
  };
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

/** Messages per second of wall time spent inside `score()`, or of the pass's wall time for a concurrent pass. */
function rateOf(measurement: Measurement): number {
  const totalMs = measurement.wallMs ?? measurement.latencies.reduce((sum, ms) => sum + ms, 0);
  const seconds = totalMs / 1000;
  return seconds > 0 ? measurement.latencies.length / seconds : NaN;
}

function mean(values: number[]): number {
  return values.length === 0 ? NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Mean CPU milliseconds per message. */
function cpuPerMessage(measurement: Measurement): number {
  return measurement.latencies.length > 0 ? measurement.cpuMs / measurement.latencies.length : NaN;
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  return ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function formatCount(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? value.toFixed(2) : 'n/a';
}

function verdict(met: boolean): string {
  return met ? 'met' : '**missed**';
}

function byId(report: RunReport, id: string): Measurement {
  const measurement = report.measurements.find((entry) => entry.id === id);
  if (measurement === undefined) throw new Error(`the report has no measurement for setup (${id})`);
  return measurement;
}

function outcomeLine(measurement: Measurement): string {
  const counts = [...measurement.outcomes.entries()].sort((a, b) => b[1] - a[1]).map(([outcome, count]) => `${formatCount(count)} \`${outcome}\``);
  const total = measurement.latencies.length;
  const matching = measurement.expected === null ? total : (measurement.outcomes.get(measurement.expected) ?? 0);
  const warning = matching < total ? ` **${formatCount(total - matching)} of ${formatCount(total)} messages did not get the expected \`${measurement.expected}\`.**` : '';
  return `- (${measurement.id}) ${counts.join(', ')}.${warning}`;
}

function breakerText(breaker: BreakerStats): string {
  return `${breaker.state} (opened ${breaker.opened}×, half-open ${breaker.halfOpened}×, ${breaker.healthChecks} health checks)`;
}

function dnsLines(report: RunReport): string[] {
  const { dns } = report;
  const lines: string[] = [];
  if (dns.healthy) {
    lines.push(`- (a) ${formatCount(dns.healthy.queries)} lookups: ${formatCount(dns.healthy.cacheHits)} from the cache, ${formatCount(dns.healthy.upstreamQueries)} queries sent; the server received ${formatCount(dns.healthyQueries)} queries, warm-up included.`);
  }
  lines.push(`- (b) ${formatCount(dns.heldClosed.queries)} lookups, ${formatCount(dns.heldClosed.timeouts)} queries timed out; breaker ${breakerText(dns.heldClosed.breaker)}.`);
  if (dns.blackholedDefaults) {
    const stats = dns.blackholedDefaults;
    lines.push(`- (b2) ${formatCount(stats.queries)} lookups, ${formatCount(stats.failures.skipped)} skipped by the breaker, ${formatCount(stats.cachedFailures)} answered from remembered failures; breaker ${breakerText(stats.breaker)}.`);
  }
  lines.push(`- (c) breaker ${breakerText(dns.breakerBefore)} before the warm-up, ${breakerText(dns.breakerAfter)} after the measured pass; ${formatCount(dns.breakerClient.failures.skipped)} lookups skipped.`);
  return lines;
}

/** Formats the run as a Markdown section starting with a level-2 heading. */
export function formatSection(report: RunReport): string {
  const cpu = cpus();
  const baselineRate = rateOf(byId(report, 'e'));
  const lines: string[] = [
    `## ${report.date}, authentication and store setups, ${report.quick ? 'quick' : 'full corpus'}`,
    '',
    `- Command: \`${report.command}\``,
    `- Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.version}, ${process.platform} ${process.arch}; 1-minute load average ${report.loadAtStart.toFixed(2)} at start, ${report.loadAtEnd.toFixed(2)} at end`,
    `- Messages: ${formatCount(report.sampleSize)} of the SpamAssassin public corpus for (a) and (c) to (g), which take turns in blocks of 50 messages after a warm-up of ${formatCount(report.warmUpSize)}; ${formatCount(report.blackholeSize)} of them, picked evenly, for (b) and (b2), each run alone.`,
    `- (fc) and (gc) are the scorers of (f) and (g) again, with ${report.concurrency} \`score()\` calls in flight, in a second pass over the same messages after another warm-up; their messages per second count the wall time of the pass, and their CPU ms the process's CPU time over it.`,
    `- Envelope: \`${JSON.stringify(report.envelope)}\`; model ${report.modelVersion} from ${relative(process.cwd(), report.modelDir) || '.'}`,
    `- The run took ${report.runSeconds.toFixed(0)} s.`,
    '',
    '| Setup | Messages | Messages/s | p50 ms | p99 ms | Ratio to (e) | CPU ms |',
    '| --- | --: | --: | --: | --: | --: | --: |',
  ];
  for (const measurement of report.measurements) {
    const rate = rateOf(measurement);
    lines.push(
      `| (${measurement.id}) ${measurement.title} | ${formatCount(measurement.latencies.length)} | ${formatCount(rate)} | ` +
        `${formatMs(percentile(measurement.latencies, 50))} | ${formatMs(percentile(measurement.latencies, 99))} | ${formatRatio(rate / baselineRate)} | ` +
        `${formatMs(cpuPerMessage(measurement))} |`,
    );
  }

  const blackholedP99 = percentile(byId(report, 'b').latencies, 99);
  const blackholedAuthP99 = percentile(byId(report, 'b').authLatencies, 99);
  const breakerShare = rateOf(byId(report, 'c')) / baselineRate;
  const redisShare = rateOf(byId(report, 'g')) / rateOf(byId(report, 'f'));
  const concurrentRedisShare = rateOf(byId(report, 'gc')) / rateOf(byId(report, 'fc'));
  const noiseShare = rateOf(byId(report, 'f')) / baselineRate;
  // Throughput of `setup` as a share of `reference`, estimated from CPU time per message.
  const cpuShare = (setup: string, reference: string): string => `${((cpuPerMessage(byId(report, reference)) / cpuPerMessage(byId(report, setup))) * 100).toFixed(0)}%`;
  lines.push(
    '',
    'Targets:',
    '',
    `- (b) p99 ${formatMs(blackholedP99)} ms, target at most ${report.deadlineMs + DEADLINE_SLACK_MS} ms (the ${report.deadlineMs} ms auth deadline plus ${DEADLINE_SLACK_MS} ms): ${verdict(blackholedP99 <= report.deadlineMs + DEADLINE_SLACK_MS)}. ` +
      `The auth stage alone, which the deadline bounds, has a p99 \`timings.auth\` of ${formatMs(blackholedAuthP99)} ms; the rest is the other stages of \`score()\`.`,
    `- (c) throughput ${(breakerShare * 100).toFixed(0)}% of (e), target at least ${(BREAKER_MIN_SHARE * 100).toFixed(0)}%: ${verdict(breakerShare >= BREAKER_MIN_SHARE)}. By CPU time per message, (c) runs at ${cpuShare('c', 'e')} of (e).`,
    `- (g) / (f) = ${formatRatio(redisShare)}, so Redis costs ${((1 - redisShare) * 100).toFixed(0)}% of the throughput, target at most ${(REDIS_MAX_COST * 100).toFixed(0)}%: ${verdict(1 - redisShare <= REDIS_MAX_COST)}. By CPU time per message of this process, (g) runs at ${cpuShare('g', 'f')} of (f).`,
    `- (gc) / (fc) = ${formatRatio(concurrentRedisShare)} with ${report.concurrency} calls in flight, so Redis costs ${((1 - concurrentRedisShare) * 100).toFixed(0)}% of the throughput, target at most ${(REDIS_MAX_COST * 100).toFixed(0)}%: ${verdict(1 - concurrentRedisShare <= REDIS_MAX_COST)}. By CPU time per message, (gc) runs at ${cpuShare('gc', 'fc')} of (fc).`,
    `- (f) / (e) = ${formatRatio(noiseShare)}, and ${cpuShare('f', 'e')} by CPU time: the two run the same options, so their difference is the noise of this run.`,
    '',
    'Outcomes per message (`result.auth.source`, then the first `auth:` entry of `result.degraded`, and whether the store was degraded):',
    '',
    ...report.measurements.map(outcomeLine),
    '',
    `Mean \`timings.auth\` per message, the time of the authentication and behaviour-store calls, which run together: ${report.measurements
      .map((measurement) => `(${measurement.id}) ${formatMs(mean(measurement.authLatencies))} ms`)
      .join(', ')}.`,
    '',
    'DNS client counters:',
    '',
    ...dnsLines(report),
  );
  const failures = report.measurements.filter((measurement) => measurement.failures > 0);
  if (failures.length > 0) {
    lines.push('', `Failures: ${failures.map((measurement) => `${measurement.failures} in (${measurement.id})`).join(', ')}; their time is included in the figures.`);
  }
  return `${lines.join('\n')}\n`;
}
