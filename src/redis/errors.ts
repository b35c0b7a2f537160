/**
 * Errors of the Redis store. They never reach an application through a cache: the cache
 * reports them (events, health) and goes on local-only. Match on `code`.
 */

/** Why a Redis call failed. */
export type RedisFleetErrorCode =
  /** No answer within `callTimeoutMs` (Redis paused, overloaded, network partition). */
  | 'FLEET_TIMEOUT'
  /** The circuit is open after repeated failures: the call was refused without touching Redis. */
  | 'FLEET_UNAVAILABLE'
  /** Redis answered something that is not what the script returns, or a record that is not a record (it was removed). */
  | 'FLEET_GARBAGE'
  /** A value to store is larger than `maxValueBytes`: not written. */
  | 'FLEET_TOO_LARGE'
  /** The connection failed or Redis answered an error. */
  | 'FLEET_ERROR'
  /** The fleet was closed. */
  | 'FLEET_CLOSED';

/** A failed Redis call. */
export class RedisFleetError extends Error {
  /** Stable machine-readable code. */
  readonly code: RedisFleetErrorCode;

  constructor(code: RedisFleetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'RedisFleetError';
  }
}
