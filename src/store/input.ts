/**
 * Checks and normalises the arguments of store calls, so every store accepts
 * and rejects the same input. Bad parts of a call are dropped and reported
 * in `degraded` instead of failing the message.
 */

import { OptionsError } from '../errors.js';
import type { BehaviourEvent, BehaviourLabel, Clock, PendingWrite } from './types.js';

/** Limits applied to each call, shared by all stores. */
export interface StoreLimits {
  /** Maximum behaviour keys per call; the rest are dropped. Default 32 (`behaviourKeys` returns at most 7). */
  maxKeysPerCall: number;
  /** Maximum key length in characters; longer keys are dropped. Default 512. */
  maxKeyLength: number;
  /** Maximum recipients counted per message; the rest are ignored. Default 1000. */
  maxRecipientsPerEvent: number;
  /**
   * Maximum pending writes applied per observe() call: the first ones are
   * applied, and the rest are dropped and reported in `degraded`. Default 64.
   * 0 drops every pending write. Each write may name up to `maxKeysPerCall`
   * keys, and costs Redis three or four commands per key in the pipeline.
   */
  maxPendingWritesPerCall: number;
}

export const DEFAULT_STORE_LIMITS: Readonly<StoreLimits> = {
  maxKeysPerCall: 32,
  maxKeyLength: 512,
  maxRecipientsPerEvent: 1000,
  maxPendingWritesPerCall: 64,
};

/** Latest accepted event time: 2100-01-01T00:00:00Z, so times in seconds fit in 32 bits. */
const MAX_TIME_MS = 4_102_444_800_000;
/** Maximum recipient address length kept, in characters (RFC 5321 limits a path to 256 octets). */
const MAX_RECIPIENT_LENGTH = 320;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export interface NormalisedCall {
  keys: string[];
  nowMs: number;
  degraded: string[];
}

/** A checked pending write: it has at least one key and at least one label. */
export interface NormalisedPendingWrite {
  keys: string[];
  nowMs: number;
  verdict: BehaviourLabel | undefined;
  report: BehaviourLabel | undefined;
}

export interface NormalisedEvent extends NormalisedCall {
  recipients: string[];
  verdict: BehaviourLabel | undefined;
  /** Pending writes to apply before the observe, in order. */
  pending: NormalisedPendingWrite[];
}

/** Returns `value` when it is an integer of at least `minimum`, or the default when undefined; throws OptionsError otherwise. */
export function integerOption(name: string, value: number | undefined, fallback: number, minimum = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new OptionsError(`Invalid option ${name}: expected an integer of at least ${minimum}, got ${String(value)}.`, {
      input: name,
    });
  }
  return value;
}

export function resolveStoreLimits(overrides: Partial<StoreLimits> = {}): StoreLimits {
  return {
    maxKeysPerCall: integerOption('maxKeysPerCall', overrides.maxKeysPerCall, DEFAULT_STORE_LIMITS.maxKeysPerCall),
    maxKeyLength: integerOption('maxKeyLength', overrides.maxKeyLength, DEFAULT_STORE_LIMITS.maxKeyLength),
    maxRecipientsPerEvent: integerOption(
      'maxRecipientsPerEvent',
      overrides.maxRecipientsPerEvent,
      DEFAULT_STORE_LIMITS.maxRecipientsPerEvent,
      0,
    ),
    maxPendingWritesPerCall: integerOption(
      'maxPendingWritesPerCall',
      overrides.maxPendingWritesPerCall,
      DEFAULT_STORE_LIMITS.maxPendingWritesPerCall,
      0,
    ),
  };
}

/** Returns a short, safe description of an unexpected value for a message. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return `of type ${typeof value}`;
}

export function isLabel(value: unknown): value is BehaviourLabel {
  return value === 'ham' || value === 'spam';
}

/**
 * Validates keys and the time of one call. Duplicate keys are merged.
 * `subject` (such as `pending[2]: `) is inserted after the `behaviour-store: `
 * prefix of each degraded entry, to name the part of the call it is about.
 */
export function normaliseCall(
  keys: readonly string[],
  now: number | undefined,
  clock: Clock,
  limits: StoreLimits,
  subject = '',
): NormalisedCall {
  const prefix = `behaviour-store: ${subject}`;
  const degraded: string[] = [];
  const accepted = new Set<string>();
  let rejected = 0;
  const list: readonly unknown[] = Array.isArray(keys) ? keys : [];
  if (!Array.isArray(keys)) degraded.push(`${prefix}keys is not an array, nothing recorded`);
  for (const key of list) {
    const valid = typeof key === 'string' && key.length > 0 && key.length <= limits.maxKeyLength && !CONTROL_CHARACTERS.test(key);
    if (!valid) rejected += 1;
    else if (accepted.size < limits.maxKeysPerCall) accepted.add(key);
    else if (!accepted.has(key)) rejected += 1;
  }
  if (rejected > 0) {
    degraded.push(
      `${prefix}${rejected} key(s) dropped (empty, longer than ${limits.maxKeyLength} characters, ` +
        `control characters, or past ${limits.maxKeysPerCall} keys per call)`,
    );
  }
  let nowMs: number;
  if (now === undefined) {
    nowMs = clock();
  } else if (typeof now === 'number' && Number.isFinite(now) && now >= 0 && now < MAX_TIME_MS) {
    nowMs = now;
  } else {
    nowMs = clock();
    degraded.push(`${prefix}invalid event time ${describeValue(now)}, used the store clock`);
  }
  return { keys: [...accepted], nowMs: Math.floor(nowMs), degraded };
}

/** Returns a valid optional label, or undefined after adding a degraded entry for an invalid one. */
function optionalLabel(value: unknown, kind: 'verdict' | 'report', prefix: string, degraded: string[]): BehaviourLabel | undefined {
  if (value === undefined) return undefined;
  if (isLabel(value)) return value;
  degraded.push(`${prefix}invalid ${kind} ${describeValue(value)} ignored`);
  return undefined;
}

/**
 * Validates the pending writes of an observe() call. Writes past
 * `maxPendingWritesPerCall` are dropped, and so are writes left with no valid
 * key or label. Each problem gets a degraded entry naming the write by its
 * index, such as `behaviour-store: pending[2]: invalid verdict "maybe" ignored`.
 */
export function normalisePending(pending: unknown, clock: Clock, limits: StoreLimits): { writes: NormalisedPendingWrite[]; degraded: string[] } {
  const writes: NormalisedPendingWrite[] = [];
  const degraded: string[] = [];
  if (pending === undefined) return { writes, degraded };
  if (!Array.isArray(pending)) {
    degraded.push('behaviour-store: pending is not an array, no pending writes applied');
    return { writes, degraded };
  }

  const limit = Math.min(pending.length, limits.maxPendingWritesPerCall);
  // An index loop, not forEach, so that holes in a sparse array are reported too.
  for (let index = 0; index < limit; index += 1) {
    const entry: unknown = pending[index];
    if (typeof entry !== 'object' || entry === null) {
      degraded.push(`behaviour-store: pending[${index}] is not an object, ignored`);
      continue;
    }
    const write = entry as { [field in keyof PendingWrite]?: unknown };
    const subject = `pending[${index}]: `;
    const call = normaliseCall(write.keys as readonly string[], write.now as number | undefined, clock, limits, subject);
    degraded.push(...call.degraded);
    const verdict = optionalLabel(write.verdict, 'verdict', `behaviour-store: ${subject}`, degraded);
    const report = optionalLabel(write.report, 'report', `behaviour-store: ${subject}`, degraded);
    if (write.verdict === undefined && write.report === undefined) {
      degraded.push(`behaviour-store: pending[${index}] has no verdict or report, nothing recorded`);
    }
    if (call.keys.length > 0 && (verdict !== undefined || report !== undefined)) {
      writes.push({ keys: call.keys, nowMs: call.nowMs, verdict, report });
    }
  }

  if (pending.length > limit) {
    degraded.push(`behaviour-store: ${pending.length - limit} pending write(s) dropped past ${limits.maxPendingWritesPerCall} per call`);
  }
  return { writes, degraded };
}

/** Validates a whole observe() call: keys, time, recipients, verdict and pending writes. */
export function normaliseEvent(
  keys: readonly string[],
  event: BehaviourEvent | undefined,
  clock: Clock,
  limits: StoreLimits,
): NormalisedEvent {
  const call = normaliseCall(keys, event?.now, clock, limits);
  const recipients: string[] = [];
  const given: readonly unknown[] = Array.isArray(event?.recipients) ? event.recipients : [];
  if (event !== undefined && !Array.isArray(event.recipients)) {
    call.degraded.push('behaviour-store: recipients is not an array, no recipients counted');
  }
  for (const recipient of given) {
    if (recipients.length >= limits.maxRecipientsPerEvent) {
      call.degraded.push(`behaviour-store: only the first ${limits.maxRecipientsPerEvent} recipients counted`);
      break;
    }
    if (typeof recipient !== 'string') continue;
    const address = recipient.trim().toLowerCase();
    if (address.length > 0 && address.length <= MAX_RECIPIENT_LENGTH) recipients.push(address);
  }
  let verdict: BehaviourLabel | undefined;
  if (isLabel(event?.verdict)) verdict = event.verdict;
  else if (event?.verdict !== undefined) call.degraded.push(`behaviour-store: invalid verdict ${describeValue(event.verdict)} ignored`);
  const pending = normalisePending(event?.pending, clock, limits);
  call.degraded.push(...pending.degraded);
  return { ...call, recipients, verdict, pending: pending.writes };
}

/** Returns a degraded entry for an invalid label, or null when the label is valid. */
export function checkLabel(label: unknown, kind: 'verdict' | 'report label'): string | null {
  if (isLabel(label)) return null;
  return `behaviour-store: invalid ${kind} ${describeValue(label)}, nothing recorded`;
}
