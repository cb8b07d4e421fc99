/**
 * spamward's public API. Everything a gateway, a rescan job or a training
 * script needs is exported here by name; modules not listed are internal.
 */

// Scoring
export { createScorer, type Logger, type MessageInput, type ReportMeta, type ReportOutcome, type ScoredItem, type Scorer, type ScorerOptions } from './pipeline/scorer.js';
export { DEFAULT_REPORT_POINTS, type ReportPoints } from './pipeline/reports.js';
export type { Action, AuthMechanismResult, ScoreResult, SymbolHit, VerdictName } from './pipeline/types.js';
export { HEURISTICS_ONLY_THRESHOLDS, type Thresholds } from './pipeline/combine.js';
export { readMessages, STDIN_INPUT, type ReadMessagesOptions, type SourcedMessage } from './pipeline/sources.js';

// Errors
export { CorpusError, ModelLoadError, OptionsError, ParseError, SourceError, SpamwardError } from './errors.js';

// Parsing
export { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits, type RawMessage } from './parse/index.js';
export type { Address, Attachment, Envelope, HeaderField, Link, MimePart, ParsedMessage } from './parse/types.js';

// Rules and features
export { createHeuristics, describeRules, RULES, type HeuristicsConfig, type RuleDescription, type RuleHit } from './heuristics/index.js';
export { extractFeatures, FEATURES, FEATURE_NAMES, FEATURE_SCHEMA_DIGEST, FEATURE_SCHEMA_VERSION, type AuthInputs, type AuthResultName } from './features/index.js';

// Model
export { defaultModelDir, loadModel, type LoadedModel, type ModelManifest } from './model/index.js';
export type { ModelDataRecord } from './model/manifest.js';
export {
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_LOCK_TIMEOUT_MS,
  defaultRegistryDir,
  openRegistry,
  RegistryError,
  type ActivePointer,
  type ModelRegistry,
  type OpenRegistryOptions,
  type PromoteOptions,
  type RegistryAction,
  type RegistryEntry,
  type RegistryEntryDetail,
  type RegistryLogEntry,
  type SwitchResult,
} from './model/registry.js';

// Authentication and DNS
export { createAuthenticator, DEFAULT_AUTH_DEADLINE_MS, type AuthOptions, type AuthOutcome, type Authenticator } from './auth/index.js';
export { createDnsClient, type DnsClient, type DnsClientOptions, type DnsStats } from './auth/dns/index.js';

// Sender behaviour
export {
  behaviourKeys,
  createBehaviourStore,
  FailoverBehaviourStore,
  MemoryBehaviourStore,
  RedisBehaviourStore,
  type BehaviourStore,
  type CreateBehaviourStoreOptions,
  type KeyStats,
} from './store/index.js';

// Feedback
export {
  FEEDBACK_LABELS,
  FeedbackInputError,
  FeedbackStoreError,
  openFeedbackStore,
  reportFeedback,
  type AddOutcome,
  type AddResult,
  type CopyStatus,
  type ExportedLabel,
  type ExportSummary,
  type FeedbackEntry,
  type FeedbackLabel,
  type FeedbackLogger,
  type FeedbackMeta,
  type FeedbackReport,
  type FeedbackStore,
  type FeedbackStoreOptions,
  type ListOptions,
} from './feedback/index.js';

// Rescan
export {
  readReportRows,
  ReleaseMboxError,
  rescan,
  RescanReportError,
  RescanWorkerError,
  writeCsvReport,
  writeHtmlReport,
  type ReleaseDecision,
  type RescanEvent,
  type RescanOptions,
  type RescanReleaseOptions,
  type RescanRow,
  type RescanSummary,
} from './rescan/index.js';
