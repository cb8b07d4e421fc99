import type { ParsedMessage } from '../parse/types.js';
import { writeContentFeatures, writeMimeFeatures, writeUrlFeatures } from './body.js';
import { writeBehaviourFeatures, type BehaviourKeySet } from './behaviour.js';
import { writeHeaderFeatures } from './header.js';
import type { KeyStats } from '../store/index.js';
import { AUTH_MECHANISMS, FEATURE_NAMES, type FeatureDefinition } from './schema.js';
import type { TokenTable } from './token-table.js';
import { FeatureWriter } from './writer.js';

export { FEATURES, FEATURE_COUNT, FEATURE_NAMES, FEATURE_SCHEMA_DIGEST, FEATURE_SCHEMA_VERSION, featureIndex, type FeatureDefinition } from './schema.js';
export { TokenCounter, TokenTable, type TokenTableData } from './token-table.js';
export { messageTokens } from './tokens.js';
export { arrivalTime, envelopeFromHeaders, messageBehaviourKeys, type BehaviourKeySet } from './behaviour.js';

/** One authentication mechanism's outcome, as the authentication stage reports it. */
export type AuthResultName = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'timeout' | 'skipped' | 'unknown';

export interface AuthInputs {
  spf: AuthResultName;
  dkim: AuthResultName;
  dmarc: AuthResultName;
  arc: AuthResultName;
}

/** Authentication inputs when nothing was checked: every mechanism unknown. */
export const UNKNOWN_AUTH: Readonly<AuthInputs> = Object.freeze({ spf: 'unknown', dkim: 'unknown', dmarc: 'unknown', arc: 'unknown' });

/** Maps a result to the model's four states; a timeout or error is unknown, never fail. */
export function authState(result: AuthResultName): 'pass' | 'fail' | 'weak' | 'unknown' {
  switch (result) {
    case 'pass':
      return 'pass';
    case 'fail':
    case 'permerror':
      return 'fail';
    case 'softfail':
    case 'neutral':
    case 'none':
      return 'weak';
    default:
      return 'unknown';
  }
}

export interface FeatureContext {
  /** Token statistics of the model; without them the token features stay neutral. */
  tokens: TokenTable | null;
  auth?: AuthInputs;
  /** What the behaviour store returned for this message; absent or null stats mean unavailable. */
  behaviour?: { keys: BehaviourKeySet; stats: Record<string, KeyStats> | null } | null;
}

/** Positions of the features that come from I/O (authentication and behaviour), reset before each write. */
const CONTEXT_FEATURE_INDICES: readonly number[] = FEATURE_NAMES.flatMap((name, index) => (name.startsWith('auth.') || name.startsWith('behaviour.') ? [index] : []));

/**
 * Extracts the feature vector of one message in schema order. Training and
 * scoring both call this. The scorer calls it before its I/O finishes, with
 * no auth or behaviour, and then fills those in with writeContextFeatures.
 */
export function extractFeatures(message: ParsedMessage, context: FeatureContext): Float32Array {
  const out = new FeatureWriter();
  writeHeaderFeatures(message, out);
  writeContentFeatures(message, context.tokens, out);
  writeUrlFeatures(message, out);
  writeMimeFeatures(message, out);
  writeContextFeatures(out.values, context);
  return out.values;
}

/** Writes (or rewrites) the authentication and behaviour features of a feature vector in place. */
export function writeContextFeatures(values: Float32Array, context: Pick<FeatureContext, 'auth' | 'behaviour'>): void {
  for (const index of CONTEXT_FEATURE_INDICES) values[index] = 0;
  const out = new FeatureWriter(values);
  writeBehaviourFeatures(context.behaviour?.keys ?? null, context.behaviour?.stats ?? null, out);
  const auth = context.auth ?? UNKNOWN_AUTH;
  for (const mechanism of AUTH_MECHANISMS) {
    out.set(`auth.${mechanism}_${authState(auth[mechanism])}`, 1);
  }
}

export function describeFeature(definitions: readonly FeatureDefinition[], name: string): string {
  return definitions.find((definition) => definition.name === name)?.description ?? name;
}
