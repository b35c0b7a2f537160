/**
 * The shared-store contract: where key-set records live beyond one process (a file, Redis, a
 * database row). Three required operations and optional capabilities; a contract test suite
 * (`jwks-keeper/testing`) checks any implementation.
 *
 * Records are opaque, HMAC-authenticated strings (see the persistence codec): a store never
 * has to be trusted, only to be reasonably available. Every method may reject or hang; the
 * cache bounds each call in time and goes on without the store.
 */

/** A record as a store holds it: its version (orders records across processes) and its encoded value. */
export interface StoredRecord {
  /** Version of the record (see `KeySetRecord.version`): a larger number is a newer record. */
  readonly version: number;
  /** The encoded, authenticated record. */
  readonly value: string;
}

/** A lease on a short-lived lock (distributed single flight). */
export interface StoreLease {
  /** Release early (the lease also expires by itself after its TTL). Never rejects. */
  release(): Promise<void>;
}

/** What every shared store implements. `key` identifies one key set (derived from its JWKS URL). */
export interface SharedStore {
  /** The record stored under `key`, or `undefined` when there is none. */
  get(key: string): Promise<StoredRecord | undefined>;
  /**
   * Store `value` under `key` only if `version` is greater than the stored record's version
   * (or nothing is stored), atomically. Resolves `true` when written, `false` when a record
   * at least as new was already there.
   */
  setIfNewer(key: string, version: number, value: string): Promise<boolean>;
  /**
   * Optional: try to take a lock on `key` for `ttlMs`. Resolves a lease when taken,
   * `undefined` when someone else holds it. A holder that dies releases by expiry.
   */
  lock?(key: string, ttlMs: number): Promise<StoreLease | undefined>;
  /**
   * Optional: be told of every version written under `key` by anyone (including this process).
   * Resolves an unsubscribe function.
   */
  subscribe?(key: string, onVersion: (version: number) => void): Promise<() => Promise<void>>;
  /** Optional: release connections and timers. */
  close?(): Promise<void>;
}
