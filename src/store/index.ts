/** Sender-behaviour stores: history per sender, domain, IP and HELO name, in memory or in Redis. */

export { behaviourKeys, ipKeys, organisationalDomain, type BehaviourKeyInput } from './keys.js';
export { createBehaviourStore, parseRedisUrl, type CreateBehaviourStoreOptions, type RedisSpec } from './create.js';
export { DEFAULT_MAX_KEYS, DEFAULT_TTL_MS, MemoryBehaviourStore, type MemoryBehaviourStoreOptions } from './memory.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_KEY_PREFIX,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  DEFAULT_TIMEOUT_MS,
  RedisBehaviourStore,
  type RedisBehaviourStoreOptions,
} from './redis.js';
export { DEFAULT_RETRY_AFTER_MS, FailoverBehaviourStore, type FailoverBehaviourStoreOptions, type FailoverPrimary } from './failover.js';
export { DEFAULT_STORE_LIMITS, type StoreLimits } from './input.js';
export { BehaviourStoreError, BehaviourStoreSpecError, BehaviourStoreTimeoutError, BehaviourStoreUnavailableError } from './errors.js';
export type {
  BehaviourEvent,
  BehaviourLabel,
  BehaviourStore,
  BehaviourStoreLogger,
  Clock,
  KeyStats,
  ObserveResult,
  PendingWrite,
  WriteResult,
} from './types.js';
