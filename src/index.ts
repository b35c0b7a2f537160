/**
 * jwks-keeper: keeps an identity provider's JWKS signing keys cached and verifies JWTs with
 * them. The main entry exports the two factories, the error hierarchy and public types.
 *
 * @packageDocumentation
 */
export { createJwksCache } from './cache.js';
export type {
  JwksCache,
  JwksCacheStats,
  JwksCacheHealth,
  SnapshotView,
  SnapshotKeyView,
  RefreshResult,
  ResolvedKeys,
  LookupContext,
  SigningKey,
} from './cache.js';
export { createVerifier } from './verify/verifier.js';
export { fileSnapshotStore } from './store/snapshot-store.js';
export type { SnapshotStore, PersistenceOptions } from './store/snapshot-store.js';
export type { RestoreRefusal } from './store/codec.js';
export { memoryStore } from './store/memory.js';
export type { MemoryStoreOptions } from './store/memory.js';
export type { SharedStore, StoredRecord, StoreLease } from './store/contract.js';
export type { RefreshBudget, BudgetAnswer } from './source/budget.js';
export type { LayerContext, RecordSource, SourceLayer } from './source/types.js';
export type { JwksFleet, JwksFleetStats, FleetRefusal, FleetStatusChange, FleetTakeResult } from './fleet/types.js';
export type { KeySetRecord, RecordProvenance } from './core/record.js';
export type { Verifier, VerifierOptions, VerifyResult } from './verify/verifier.js';
export type { JwksCacheOptions, UnknownKidOptions, PriorityOptions } from './options.js';
export {
  JwksKeeperError,
  TokenInvalidError,
  KeysUnavailableError,
  ConfigError,
  BearerRequestError,
  isTokenInvalid,
  isKeysUnavailable,
  isVerifyError,
  bearerChallenge,
} from './errors.js';
export type { ErrorCode, TokenInvalidCode, KeysUnavailableCode, KeysUnavailableDetails, BearerRequestCode, ErrorHttpStatus, VerifyError } from './errors.js';
export { attachLogger } from './logging.js';
export { readinessProbe } from './adapters/http.js';
export type { Readiness } from './adapters/http.js';
export type { Logger, LogMethod } from './logging.js';
export type { JwksEvents, JwksEventName, JwksListener, RefreshReason, UnknownKidDecision } from './events.js';
export type { Clock, Scheduler, TimerHandle, Random } from './runtime/clock.js';
export type { FetchLike } from './fetch/transport.js';
export type { SupportedAlg, ValidatedKey, PublicJwk } from './jwks/validate.js';
export { SUPPORTED_ALGS } from './jwks/validate.js';
