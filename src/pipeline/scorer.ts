import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createAuthenticator, DEFAULT_AUTH_DEADLINE_MS, toAuthInputs, type AuthOptions } from '../auth/index.js';
import type { DnsStats } from '../auth/dns/index.js';
import { describeError, OptionsError, SpamwardError } from '../errors.js';
import { extractFeatures, messageBehaviourKeys, writeContextFeatures } from '../features/index.js';
import { openFeedbackStore, type AddResult, type FeedbackMeta, type FeedbackStore } from '../feedback/index.js';
import { createBehaviourStore, type BehaviourStore, type KeyStats } from '../store/index.js';
import { createHeuristics, type HeuristicsConfig } from '../heuristics/index.js';
import { defaultModelDir, loadModel, type LoadedModel } from '../model/index.js';
import { ACTIVE_FILE, defaultRegistryDir, readActivePointer } from '../model/registry.js';
import { fileSignature, pollFile, type FilePoller } from '../model/watch.js';
import { LIMIT_SYMBOLS, parseBytes, readRaw, resolveParseLimits, type ParseLimits, type RawMessage } from '../parse/index.js';
import type { Envelope } from '../parse/types.js';
import { combine, HEURISTICS_ONLY_THRESHOLDS, type Thresholds } from './combine.js';
import { reportSymbols, resolveReportPoints, type ReportPoints } from './reports.js';
import { readMessages } from './sources.js';
import type { ScoreResult } from './types.js';

/** Model contributions listed per result. */
const DEFAULT_TOP_CONTRIBUTIONS = 5;
/** Default milliseconds for one behaviour-store call. */
const DEFAULT_STORE_TIMEOUT_MS = 50;
/** Verdicts waiting to ride along with the next store call; older ones are dropped past this. */
const MAX_PENDING_VERDICTS = 64;
/** Default milliseconds between checks of the registry's active.json. */
const DEFAULT_RELOAD_INTERVAL_MS = 250;
/** The maximum delay setTimeout accepts (2^31 - 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

export interface Logger {
  warn(message: string): void;
  /** Receives notices that are not problems, such as a model switch. Optional. */
  info?(message: string): void;
}

export interface ScorerOptions {
  /**
   * Model folder, used as it is, with no reloading. `null` scores with
   * heuristics only. Default: the active version of the model registry (see
   * `registry`). A model that fails to load is reported once through the
   * logger and scoring goes on with heuristics, unless `requireModel` is set.
   */
  modelDir?: string | null;
  /**
   * Model registry folder whose active version (named in its active.json)
   * is loaded and followed, when `modelDir` is not given. Default: the
   * package's models/ folder, whose active version is models/default until
   * `spamward model promote` changes it.
   */
  registry?: string;
  /**
   * Milliseconds between checks of the registry's active.json. When it
   * changes, the new model is loaded in full and then used for the messages
   * that start after it. Messages already being scored finish with the old
   * one. A model that fails to load is logged once and the current one stays.
   * 0 turns the checks off, and `reload()` still works. Default 250. Ignored
   * with `modelDir`.
   */
  reloadIntervalMs?: number;
  /** Throw the ModelLoadError (or the RegistryError for an invalid active.json) from createScorer instead of falling back to heuristics. Default false. */
  requireModel?: boolean;
  /**
   * Score thresholds; each defaults to the model's calibrated value, or to
   * HEURISTICS_ONLY_THRESHOLDS without a model. The values given here stay
   * when a reload switches the model; the others come from the new model.
   */
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
  /**
   * Points of the REPORTED_* symbols that `report()` makes possible, in
   * log-odds; see DEFAULT_REPORT_POINTS (content 10, sender 4).
   */
  reportPoints?: Partial<ReportPoints>;
  /**
   * Feedback folder (as `spamward feedback add` writes it). When given,
   * `report()` also stores each reported message there for the next
   * retrain. Default: none, so reports act only through the behaviour store.
   */
  feedbackDir?: string;
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

/** Details of a user report; see FeedbackMeta. */
export interface ReportMeta extends FeedbackMeta {
  /** The reported message's SMTP envelope, for its sender key. Default: read from its headers. */
  envelope?: Envelope;
}

export interface ReportOutcome {
  /** sha256 of the message bytes. */
  sha256: string;
  /** Behaviour keys the report was counted for: the sender and the content fingerprint, when the message has them. */
  keys: string[];
  /** Result of storing the message in the feedback folder, or null without `feedbackDir`. */
  feedback: AddResult | null;
  /** Parts of the report that did not take effect, each as `area: reason`, such as `behaviour-store: off (store: null), ...`. */
  degraded: string[];
}

export interface Scorer {
  /** Scores one message. Limits that are hit truncate the message and show in the result; it rejects only for a message that cannot be read at all. */
  score(raw: RawMessage, envelope?: Envelope): Promise<ScoreResult>;
  /** Scores many messages in order: paths (files, folders, mbox, Maildir, `-`) or an iterable of inputs. A failed message yields an item with `error` and the iteration goes on. */
  scoreMany(source: string | string[] | AsyncIterable<MessageInput> | Iterable<MessageInput>): AsyncGenerator<ScoredItem>;
  /**
   * Records that a message is spam or is not (`ham`), as a user or an
   * administrator reported it. The report counts in the behaviour store
   * under the message's sender and content fingerprint at once, so later
   * messages from that sender, or with near-identical content, get
   * REPORTED_* symbols before any retraining. With `feedbackDir` the message
   * is also stored for the next retrain. A relabel is never rejected: the
   * store counts both reports, and the feedback folder keeps the latest label.
   * Rejects with an OptionsError for a label other than `spam` or `ham`,
   * and with the feedback folder's error when it cannot store the message.
   */
  report(raw: RawMessage, label: 'spam' | 'ham', meta?: ReportMeta): Promise<ReportOutcome>;
  /** Version of the model in use now (its manifest's `version`), or null when scoring with heuristics only. */
  readonly modelVersion: string | null;
  /** The reason the model is not in use, or null. */
  readonly modelError: string | null;
  /**
   * Loads the registry's active version now, if it differs from the model in
   * use, and switches to it for the messages that start after it. Resolves
   * with the version in use afterwards and whether it changed. Rejects with
   * the ModelLoadError, RegistryError or OptionsError (thresholds that
   * conflict with the new model) when the new model cannot be used, and the
   * current model stays. With `modelDir` it changes nothing.
   */
  reload(): Promise<{ version: string | null; changed: boolean }>;
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

/** The model in use and everything derived from it, replaced as a whole when the model changes. */
interface ModelState {
  model: LoadedModel | null;
  error: string | null;
  thresholds: Thresholds;
  ruleWeight: number;
  degraded: string[];
}

function modelState(model: LoadedModel | null, error: string | null, overrides: Partial<Thresholds> | undefined): ModelState {
  return {
    model,
    error,
    thresholds: resolveThresholds(model, overrides),
    ruleWeight: model ? model.manifest.ruleWeight : 1,
    degraded: error === null ? [] : [`model: unavailable, heuristics only (${error})`],
  };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function checkModelOptions(options: ScorerOptions): number {
  if (options.registry !== undefined) {
    if (typeof options.registry !== 'string' || options.registry.trim() === '') {
      throw new OptionsError(`registry must be a folder path, got ${JSON.stringify(options.registry)}.`, { input: 'registry' });
    }
    if (options.modelDir !== undefined) {
      throw new OptionsError('Give either modelDir (one model folder) or registry (the active version of a registry), not both.', { input: 'registry' });
    }
    if (!isFolder(options.registry)) {
      throw new OptionsError(`Model registry folder "${options.registry}" does not exist or is not a folder. Create it with a model version in it (such as a copy of the shipped models/default), or leave out the registry (the registry option, --registry or SPAMWARD_REGISTRY) to use the package's own.`, { input: options.registry });
    }
  }
  const interval = options.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
  if (!Number.isInteger(interval) || interval < 0 || interval > MAX_TIMER_MS) {
    throw new OptionsError(`reloadIntervalMs must be a whole number of milliseconds from 0 to ${MAX_TIMER_MS}, got ${JSON.stringify(interval)}.`, { input: 'reloadIntervalMs' });
  }
  return interval;
}

/** Loads the registry's active version. */
async function loadActiveModel(registry: string): Promise<LoadedModel> {
  const pointer = await readActivePointer(registry);
  return loadModel(join(registry, pointer.version));
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
  const reportPoints = resolveReportPoints(options.reportPoints);
  if (options.feedbackDir !== undefined && (typeof options.feedbackDir !== 'string' || options.feedbackDir.trim() === '')) {
    throw new OptionsError(`feedbackDir must be a folder path, got ${JSON.stringify(options.feedbackDir)}.`, { input: 'feedbackDir' });
  }
  const feedbackStore: FeedbackStore | null = options.feedbackDir === undefined ? null : await openFeedbackStore(options.feedbackDir, { maxMessageBytes: parseLimits.maxMessageBytes });
  if (!Number.isInteger(top) || top < 0) throw new OptionsError(`topContributions must be a non-negative integer, got ${JSON.stringify(top)}.`, { input: 'topContributions' });
  const reloadIntervalMs = checkModelOptions(options);

  // With modelDir (or null) the model is fixed; otherwise it follows the registry's active version.
  const registry = options.modelDir === undefined ? (options.registry ?? defaultRegistryDir()) : null;
  const pointerPath = registry === null ? null : join(registry, ACTIVE_FILE);
  // Taken before the first load, so a switch during that load is seen by the first poll.
  const initialSignature = pointerPath === null ? '' : await fileSignature(pointerPath);

  let model: LoadedModel | null = null;
  let modelError: string | null = null;
  if (options.modelDir !== null) {
    const source = registry === null ? `"${options.modelDir ?? defaultModelDir()}"` : `registry "${registry}"`;
    try {
      model = registry === null ? await loadModel(options.modelDir ?? defaultModelDir()) : await loadActiveModel(registry);
    } catch (error) {
      if (options.requireModel) throw error;
      modelError = error instanceof SpamwardError ? error.message : `model from ${source} failed to load: ${describeError(error)}`;
      logger.warn(`spamward: scoring with heuristics only because the model is unavailable. ${modelError}`);
    }
  }
  let state = modelState(model, modelError, options.thresholds);

  // Reloads run one after another, so a poll and an explicit reload() never race to set the state.
  let reloadQueue: Promise<unknown> = Promise.resolve();
  let lastReloadError: string | null = null;

  async function switchToActive(): Promise<{ version: string | null; changed: boolean }> {
    const current = state.model;
    if (registry === null) return { version: current?.manifest.version ?? null, changed: false };
    const pointer = await readActivePointer(registry);
    if (current !== null && current.dir === join(registry, pointer.version)) return { version: current.manifest.version, changed: false };
    const next = await loadModel(join(registry, pointer.version));
    // Built before the swap: thresholds that conflict with the new model raise here and the current model stays.
    state = modelState(next, null, options.thresholds);
    lastReloadError = null;
    logger.info?.(`spamward: switched model from ${current?.manifest.version ?? 'none (heuristics only)'} to ${next.manifest.version} (registry "${registry}", version "${pointer.version}").`);
    return { version: next.manifest.version, changed: true };
  }

  function reload(): Promise<{ version: string | null; changed: boolean }> {
    const run = reloadQueue.then(switchToActive);
    reloadQueue = run.catch(() => {});
    return run;
  }

  // Opened last, so an invalid option above cannot leave a Redis connection behind.
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const store: BehaviourStore | null = options.store === null
    ? null
    : createBehaviourStore(options.store ?? 'memory', { timeoutMs: storeTimeoutMs, logger });

  // Started after every option has been checked, so a rejected option cannot leave a timer behind.
  const poller: FilePoller | null = pointerPath === null || reloadIntervalMs === 0
    ? null
    : pollFile(pointerPath, reloadIntervalMs, initialSignature, async () => {
      try {
        await reload();
      } catch (error) {
        const message = describeError(error);
        if (message === lastReloadError) return;
        lastReloadError = message;
        logger.warn(`spamward: keeping model ${state.model?.manifest.version ?? 'none (heuristics only)'} because the new active model cannot be used. ${message}`);
      }
    });

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
    // Read once: a reload that lands while this message is scored affects only the messages after it.
    const { model, thresholds, ruleWeight, degraded: modelDegradation } = state;
    const message = await parseBytes(bytes, size, parseLimits);
    const parsed = performance.now();
    // Without a store the keys would go unused, and the content fingerprint is a visible share of scoring time.
    const keySet = store ? messageBehaviourKeys(message, envelope) : null;
    const now = envelope?.receivedAt?.getTime() ?? Date.now();
    const recipients = envelope?.rcptTo ?? [...message.to, ...message.cc].map((address) => address.address).filter((address) => address !== '');
    // The I/O stages start first and run together; each resolves within its own deadline and never rejects.
    // The authentication deadline counts from the start of scoring, so parsing time comes out of it.
    const authBudget = authDeadlineMs - (performance.now() - started);
    const io = Promise.all([authenticator.authenticate(bytes, message, envelope, authBudget), observeBehaviour(keySet?.keys ?? [], now, recipients)]);

    // While Redis or DNS answer, the features and rules that need no I/O are computed.
    const features = model ? extractFeatures(message, { tokens: model.tokens }) : null;
    const featured = performance.now();
    const hits = heuristics.run(message, envelope);
    const ruled = performance.now();

    const [auth, behaviour] = await io;
    const authenticated = performance.now();
    if (features) writeContextFeatures(features, { auth: toAuthInputs(auth), behaviour: keySet ? { keys: keySet, stats: behaviour.stats } : null });
    const prediction = model && features ? model.predict(features, top) : null;
    const predicted = performance.now();

    const adjustments = keySet ? reportSymbols(keySet, behaviour.stats, reportPoints) : [];
    const combined = combine(prediction, hits, ruleWeight, thresholds, adjustments);
    if (keySet && combined.verdict !== 'suspect' && keySet.keys.length > 0) {
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

  async function report(raw: RawMessage, label: 'spam' | 'ham', meta: ReportMeta = {}): Promise<ReportOutcome> {
    if (label !== 'spam' && label !== 'ham') {
      throw new OptionsError(`A report's label must be "spam" or "ham", got ${JSON.stringify(label)}.`, { input: 'label' });
    }
    const { envelope, ...feedbackMeta } = meta;
    const { bytes, size } = await readRaw(raw, parseLimits.maxMessageBytes);
    const degraded: string[] = [];
    let feedback: AddResult | null = null;
    if (feedbackStore) {
      // A cut message would teach the next retrain from the wrong bytes, so it is refused whole; the store report still counts.
      if (size > bytes.length) degraded.push(`feedback: not stored, the message is ${size} bytes, over maxMessageBytes (${parseLimits.maxMessageBytes})`);
      else feedback = await feedbackStore.add(bytes, label, feedbackMeta);
    }
    const message = await parseBytes(bytes, size, parseLimits);
    const keySet = messageBehaviourKeys(message, envelope);
    const keys = [keySet.byKind.sender, keySet.byKind.content].filter((key): key is string => key !== undefined);
    if (!store) degraded.push('behaviour-store: off (store: null), so the report does not change later scores until a retrain');
    else if (keys.length === 0) degraded.push('behaviour-store: the message has no sender or content fingerprint to count the report for');
    else {
      const now = envelope?.receivedAt?.getTime() ?? Date.now();
      try {
        degraded.push(...(await store.recordReport(keys, label, now)).degraded);
      } catch (error) {
        degraded.push(`behaviour-store: ${describeError(error)}`);
      }
    }
    return { sha256: createHash('sha256').update(bytes).digest('hex'), keys: store ? keys : [], feedback, degraded };
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
    report,
    get modelVersion() {
      return state.model ? state.model.manifest.version : null;
    },
    get modelError() {
      return state.error;
    },
    reload,
    dnsStats: () => authenticator.dnsStats(),
    async close() {
      await poller?.close();
      await reloadQueue;
      await store?.close();
    },
  };
}

function toItemError(error: unknown): { code: string; message: string } {
  if (error instanceof SpamwardError) return { code: error.code, message: error.message };
  return { code: 'SPAMWARD_ERROR', message: describeError(error) };
}
