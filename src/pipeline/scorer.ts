import { createAuthenticator, DEFAULT_AUTH_DEADLINE_MS, toAuthInputs, type AuthOptions } from '../auth/index.js';
import type { DnsStats } from '../auth/dns/index.js';
import { describeError, ModelLoadError, OptionsError, SpamwardError } from '../errors.js';
import { extractFeatures, messageBehaviourKeys, writeContextFeatures } from '../features/index.js';
import { createBehaviourStore, type BehaviourStore, type KeyStats } from '../store/index.js';
import { createHeuristics, type HeuristicsConfig } from '../heuristics/index.js';
import { defaultModelDir, loadModel, type LoadedModel } from '../model/index.js';
import { LIMIT_SYMBOLS, parseBytes, readRaw, resolveParseLimits, type ParseLimits, type RawMessage } from '../parse/index.js';
import type { Envelope } from '../parse/types.js';
import { combine, HEURISTICS_ONLY_THRESHOLDS, type Thresholds } from './combine.js';
import { readMessages } from './sources.js';
import type { ScoreResult } from './types.js';

/** Model contributions listed per result. */
const DEFAULT_TOP_CONTRIBUTIONS = 5;
/** Default milliseconds for one behaviour-store call. */
const DEFAULT_STORE_TIMEOUT_MS = 50;
/** Verdicts waiting to ride along with the next store call; older ones are dropped past this. */
const MAX_PENDING_VERDICTS = 64;

export interface Logger {
  warn(message: string): void;
}

export interface ScorerOptions {
  /**
   * Model folder. Default: the model shipped in the package (models/default).
   * `null` scores with heuristics only. A model that fails to load is
   * reported once through the logger and scoring goes on with heuristics,
   * unless `requireModel` is set.
   */
  modelDir?: string | null;
  /** Throw a ModelLoadError from createScorer instead of falling back to heuristics. Default false. */
  requireModel?: boolean;
  /** Score thresholds; each defaults to the model's calibrated value, or to HEURISTICS_ONLY_THRESHOLDS without a model. */
  thresholds?: Partial<Thresholds>;
  /** Re-score or disable rules by symbol. */
  heuristics?: HeuristicsConfig;
  /** Parser limits; see DEFAULT_PARSE_LIMITS for the defaults. */
  parseLimits?: Partial<ParseLimits>;
  /**
   * Authentication (SPF, DKIM, DMARC, ARC). Default: no DNS queries and no
   * trusted headers, so every mechanism is `unknown`. Give `resolvers` for
   * DNS checks under `deadlineMs`, and `trustAuthservIds` to read the
   * gateway MTA's own Authentication-Results instead.
   */
  auth?: AuthOptions;
  /**
   * Sender-behaviour store: `'memory'` (the default, in this process),
   * `'redis://host:port/db'` to share history between gateways (falls back
   * to memory when Redis is slow or down), a BehaviourStore, or `null` to
   * turn behaviour features off.
   */
  store?: 'memory' | string | BehaviourStore | null;
  /** Milliseconds a behaviour-store call may take before scoring goes on without it. Default 50. */
  storeTimeoutMs?: number;
  /** Model feature contributions listed in each result's symbols. Default 5. */
  topContributions?: number;
  /** Receives one line per problem (a model that failed to load). Default: process.emitWarning. */
  logger?: Logger;
}

export interface ScoredItem {
  /** The path, `path:offset` for mbox messages, or the caller's source name. */
  source: string;
  result?: ScoreResult;
  error?: { code: string; message: string };
}

export interface MessageInput {
  source: string;
  raw: RawMessage;
  envelope?: Envelope;
}

export interface Scorer {
  /** Scores one message. Limits that are hit truncate the message and show in the result; it rejects only for a message that cannot be read at all. */
  score(raw: RawMessage, envelope?: Envelope): Promise<ScoreResult>;
  /** Scores many messages in order: paths (files, folders, mbox, Maildir, `-`) or an iterable of inputs. A failed message yields an item with `error` and the iteration goes on. */
  scoreMany(source: string | string[] | AsyncIterable<MessageInput> | Iterable<MessageInput>): AsyncGenerator<ScoredItem>;
  /** Version of the model in use, or null when scoring with heuristics only. */
  readonly modelVersion: string | null;
  /** The reason the model is not in use, or null. */
  readonly modelError: string | null;
  /** Counters of the DNS client (queries, timeouts, stale answers, breaker state), or null when DNS checks are off. */
  dnsStats(): DnsStats | null;
  close(): Promise<void>;
}

const defaultLogger: Logger = {
  warn(message: string) {
    process.emitWarning(message, { code: 'SPAMWARD_DEGRADED' });
  },
};

function resolveThresholds(model: LoadedModel | null, overrides: Partial<Thresholds> = {}): Thresholds {
  const base = model ? model.manifest.thresholds : HEURISTICS_ONLY_THRESHOLDS;
  const thresholds: Thresholds = { ...base };
  for (const key of ['suspect', 'spam', 'reject'] as const) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new OptionsError(`Threshold ${key} must be a finite number, got ${JSON.stringify(value)}.`, { input: `thresholds.${key}` });
    }
    thresholds[key] = value;
  }
  if (!(thresholds.suspect <= thresholds.spam && thresholds.spam <= thresholds.reject)) {
    throw new OptionsError(`Thresholds must satisfy suspect <= spam <= reject, got suspect ${thresholds.suspect}, spam ${thresholds.spam}, reject ${thresholds.reject}.`, { input: 'thresholds' });
  }
  return thresholds;
}

function limitDegradations(limitsHit: readonly string[]): string[] {
  const byKey = new Map(Object.entries(LIMIT_SYMBOLS).map(([option, symbol]) => [symbol, option]));
  return limitsHit.map((symbol) => `parse: ${symbol} (limit ${byKey.get(symbol) ?? 'unknown'} reached, message truncated)`);
}

function isMessageInputIterable(source: unknown): source is AsyncIterable<MessageInput> | Iterable<MessageInput> {
  return typeof source === 'object' && source !== null && (Symbol.asyncIterator in source || Symbol.iterator in source);
}

/** Creates a scorer: loads the model once and validates every option. */
export async function createScorer(options: ScorerOptions = {}): Promise<Scorer> {
  const logger = options.logger ?? defaultLogger;
  const parseLimits = resolveParseLimits(options.parseLimits);
  const heuristics = createHeuristics(options.heuristics);
  const authenticator = createAuthenticator(options.auth);
  const authDeadlineMs = options.auth?.deadlineMs ?? DEFAULT_AUTH_DEADLINE_MS;
  const top = options.topContributions ?? DEFAULT_TOP_CONTRIBUTIONS;
  if (!Number.isInteger(top) || top < 0) throw new OptionsError(`topContributions must be a non-negative integer, got ${JSON.stringify(top)}.`, { input: 'topContributions' });

  let model: LoadedModel | null = null;
  let modelError: string | null = null;
  if (options.modelDir !== null) {
    const dir = options.modelDir ?? defaultModelDir();
    try {
      model = await loadModel(dir);
    } catch (error) {
      if (options.requireModel) throw error;
      modelError = error instanceof ModelLoadError ? error.message : `model in "${dir}" failed to load: ${describeError(error)}`;
      logger.warn(`spamward: scoring with heuristics only because the model is unavailable. ${modelError}`);
    }
  }
  const thresholds = resolveThresholds(model, options.thresholds);
  const ruleWeight = model ? model.manifest.ruleWeight : 1;
  const modelDegradation = modelError === null ? [] : [`model: unavailable, heuristics only (${modelError})`];

  // Opened last, so an invalid option above cannot leave a Redis connection behind.
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const store: BehaviourStore | null = options.store === null
    ? null
    : createBehaviourStore(options.store ?? 'memory', { timeoutMs: storeTimeoutMs, logger });

  // The verdict of each message is written with the next message's store call, so a message costs one round trip.
  let pendingVerdicts: { keys: string[]; verdict: 'ham' | 'spam'; now: number }[] = [];

  async function observeBehaviour(keys: string[], now: number, recipients: string[]): Promise<{ stats: Record<string, KeyStats> | null; degraded: string[] }> {
    if (!store) return { stats: null, degraded: [] };
    const pending = pendingVerdicts;
    pendingVerdicts = [];
    try {
      const result = await store.observe(keys, { now, recipients, pending });
      return { stats: result.stats, degraded: result.degraded };
    } catch (error) {
      return { stats: null, degraded: [`behaviour-store: ${describeError(error)}`] };
    }
  }

  async function score(raw: RawMessage, envelope?: Envelope): Promise<ScoreResult> {
    const started = performance.now();
    const { bytes, size } = await readRaw(raw, parseLimits.maxMessageBytes);
    return scoreBytes(bytes, size, envelope, started);
  }

  /** Scores bytes already read; `size` is the full message size, larger than `bytes` when a source truncated it. */
  async function scoreBytes(bytes: Buffer, size: number, envelope: Envelope | undefined, started = performance.now()): Promise<ScoreResult> {
    const message = await parseBytes(bytes, size, parseLimits);
    const parsed = performance.now();
    const keySet = messageBehaviourKeys(message, envelope);
    const now = envelope?.receivedAt?.getTime() ?? Date.now();
    const recipients = envelope?.rcptTo ?? [...message.to, ...message.cc].map((address) => address.address).filter((address) => address !== '');
    // The I/O stages start first and run together; each resolves within its own deadline and never rejects.
    // The authentication deadline counts from the start of scoring, so parsing time comes out of it.
    const authBudget = authDeadlineMs - (performance.now() - started);
    const io = Promise.all([authenticator.authenticate(bytes, message, envelope, authBudget), observeBehaviour(keySet.keys, now, recipients)]);

    // While Redis or DNS answer, the features and rules that need no I/O are computed.
    const features = model ? extractFeatures(message, { tokens: model.tokens }) : null;
    const featured = performance.now();
    const hits = heuristics.run(message, envelope);
    const ruled = performance.now();

    const [auth, behaviour] = await io;
    const authenticated = performance.now();
    if (features) writeContextFeatures(features, { auth: toAuthInputs(auth), behaviour: { keys: keySet, stats: behaviour.stats } });
    const prediction = model && features ? model.predict(features, top) : null;
    const predicted = performance.now();

    const combined = combine(prediction, hits, ruleWeight, thresholds);
    if (store && combined.verdict !== 'suspect' && keySet.keys.length > 0) {
      pendingVerdicts.push({ keys: keySet.keys, verdict: combined.verdict, now });
      if (pendingVerdicts.length > MAX_PENDING_VERDICTS) pendingVerdicts.shift();
    }
    return {
      messageId: message.messageId.replace(/^<|>$/g, ''),
      ...combined,
      degraded: [
        ...modelDegradation,
        ...limitDegradations(message.limitsHit),
        ...message.warnings.map((warning) => `parse: ${warning}`),
        ...auth.degraded,
        ...behaviour.degraded,
      ],
      auth: { spf: auth.spf, dkim: auth.dkim, dmarc: auth.dmarc, arc: auth.arc, source: auth.source },
      modelProbability: prediction ? prediction.probability : null,
      modelVersion: model ? model.manifest.version : null,
      timings: {
        parse: parsed - started,
        auth: authenticated - ruled,
        features: featured - parsed,
        model: predicted - authenticated,
        heuristics: ruled - featured,
        total: performance.now() - started,
      },
    };
  }

  async function* scoreInputs(inputs: AsyncIterable<MessageInput> | Iterable<MessageInput>): AsyncGenerator<ScoredItem> {
    for await (const input of inputs) {
      try {
        yield { source: input.source, result: await score(input.raw, input.envelope) };
      } catch (error) {
        yield { source: input.source, error: toItemError(error) };
      }
    }
  }

  async function* scoreMany(source: string | string[] | AsyncIterable<MessageInput> | Iterable<MessageInput>): AsyncGenerator<ScoredItem> {
    if (typeof source === 'string' || Array.isArray(source)) {
      const paths = typeof source === 'string' ? [source] : source;
      for await (const item of readMessages(paths, { maxMessageBytes: parseLimits.maxMessageBytes })) {
        if ('error' in item) {
          yield { source: item.source, error: toItemError(item.error) };
          continue;
        }
        try {
          yield { source: item.source, result: await scoreBytes(item.raw, item.size, undefined) };
        } catch (error) {
          yield { source: item.source, error: toItemError(error) };
        }
      }
      return;
    }
    if (!isMessageInputIterable(source)) {
      throw new OptionsError('scoreMany expects a path, an array of paths, or an iterable of { source, raw, envelope? }.', { input: 'source' });
    }
    yield* scoreInputs(source);
  }

  return {
    score,
    scoreMany,
    modelVersion: model ? model.manifest.version : null,
    modelError,
    dnsStats: () => authenticator.dnsStats(),
    async close() {
      await store?.close();
    },
  };
}

function toItemError(error: unknown): { code: string; message: string } {
  if (error instanceof SpamwardError) return { code: error.code, message: error.message };
  return { code: 'SPAMWARD_ERROR', message: describeError(error) };
}
