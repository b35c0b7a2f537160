/** Public types of the Redis store: budget, status and counters. */
import type { RedisFleetErrorCode } from './errors.js';

/** Parameters of the fleet-wide token bucket (the cache's budget). */
export interface FleetBudget {
  /** Tokens available at once. */
  burst: number;
  /** One token is earned back per `cooldownMs`, ms. */
  cooldownMs: number;
}

/** Outcome of a token request. */
export interface TakeResult {
  /** A token was taken. */
  taken: boolean;
  /** When not taken: ms until the fleet bucket holds one token (by Redis' clock). 0 when taken. */
  retryAfterMs: number;
}

/** The store's connection state. */
export interface FleetStatus {
  /** `connected`: calls go to Redis. `degraded`: the circuit is open, instances run local-only. */
  state: 'connected' | 'degraded';
  /** Code of the failure that opened the circuit (when degraded). */
  reason: RedisFleetErrorCode | undefined;
  /** Monotonic ms at which the current degradation began (when degraded). */
  degradedSince: number | undefined;
  /** Total time spent degraded, including the current spell, ms. */
  degradedMs: number;
}

/** A change of {@link FleetStatus}. */
export type FleetStatusChange =
  | { state: 'degraded'; reason: RedisFleetErrorCode; message: string }
  | { state: 'recovered'; degradedForMs: number };

/** Counters of the store (monotonic). */
export interface RedisFleetStats {
  /** Calls sent to Redis. */
  calls: number;
  /** Calls that failed (timeout, error, garbage). */
  failures: number;
  /** Calls that timed out. */
  timeouts: number;
  /** Calls refused by the open circuit without touching Redis. */
  refused: number;
  /** Answers or records rejected as garbage (including broadcasts that are not a version). */
  garbage: number;
  /** Times the circuit opened. */
  degradations: number;
  /** Version broadcasts received (valid ones). */
  broadcastsReceived: number;
}

