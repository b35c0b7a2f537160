/**
 * Fleet mode: the option a cache takes to share one key set across processes. Generic over
 * the shared-store contract (`store/contract.ts`); `jwks-keeper/redis` provides one on Redis.
 */
import type { RestoreRefusal } from '../store/codec.js';
import type { SharedStore } from '../store/contract.js';

/** Why a shared record was refused: the codec's reasons, or a MAC'd version that differs from the version it is stored under (a replay). */
export type FleetRefusal = RestoreRefusal | 'version-mismatch';

/** A fleet-wide token bucket's answer (see {@link JwksFleet.take}). */
export interface FleetTakeResult {
  /** A token was taken. */
  readonly taken: boolean;
  /** When not taken: ms until the shared bucket holds one token. */
  readonly retryAfterMs: number;
}

/** A change of the fleet's connection (see {@link JwksFleet.onStatus}). */
export type FleetStatusChange =
  | { readonly state: 'degraded'; readonly reason: string; readonly message: string }
  | { readonly state: 'recovered'; readonly degradedForMs: number };

/**
 * What the `fleet` option of a cache is: a {@link SharedStore} with lock and subscribe, the
 * HMAC secret of its records, and optionally a shared budget and a connection status.
 * `redisFleet()` from `jwks-keeper/redis` returns one.
 */
export interface JwksFleet extends SharedStore {
  /**
   * Key of the HMAC that authenticates shared records: at least 32 bytes, the same on every
   * instance. (`redisFleet` keeps it as a non-enumerable property, so it is not logged with
   * the object.)
   */
  readonly secret: string | Uint8Array;
  /** Optional: take one token of a fleet-wide bucket for `key` (the refresh budget). */
  take?(key: string, budget: { burst: number; cooldownMs: number }): Promise<FleetTakeResult>;
  /** Optional: the store's own view of its connection. */
  status?(): { state: 'connected' | 'degraded' };
  /** Optional: be told when the store degrades (circuit open) and recovers. Returns an unsubscribe function. */
  onStatus?(listener: (change: FleetStatusChange) => void): () => void;
  /** Optional: remove the record under `key` if it still carries `version` (a record this process refused). */
  deleteIfVersion?(key: string, version: number): Promise<boolean>;
}

/** Fleet counters in `stats().fleet` (monotonic counts, except the gauges noted). */
export interface JwksFleetStats {
  /** Gauge: `connected` or `degraded` (local-only). */
  state: 'connected' | 'degraded';
  /** Loads answered by a newer record another instance had stored: no upstream request. */
  sharedHits: number;
  /** Loads for which this instance took the lease lock and fetched upstream. */
  lockWins: number;
  /** Loads that found the lock held and waited for the holder's record instead of fetching. */
  lockWaits: number;
  /** Lock waits that ended without a record (the holder failed or was slow): fetched locally. */
  lockWaitTimeouts: number;
  /** Version broadcasts received. */
  broadcastsReceived: number;
  /** Records installed from a broadcast (the others were already installed or older). */
  broadcastInstalls: number;
  /** Records this instance wrote to the store (compare-and-set won). */
  published: number;
  /** Shared records refused (MAC, foreign URL, version mismatch, too old, unusable). */
  refused: number;
  /** Store calls that failed or timed out (each one went on local-only). */
  storeFailures: number;
  /** Total time spent degraded, including the current spell, ms. */
  degradedMs: number;
}
