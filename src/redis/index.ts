/**
 * `jwks-keeper/redis`: fleet mode on Redis. One shared, authenticated key-set record per JWKS
 * URL, a lease lock so one instance of the fleet fetches per refresh, a fleet-wide refresh
 * budget, and version broadcasts. Uses the official `redis` (node-redis v5) client, an
 * optional peer dependency imported only by this module. See docs/fleet.md.
 *
 * ```ts
 * const fleet = redisFleet({ url: process.env.REDIS_URL, secret: process.env.JWKS_RECORD_SECRET });
 * ```
 *
 * @packageDocumentation
 */
import { ConfigError } from '../errors.js';
import type { JwksFleet } from '../fleet/types.js';
import { persistenceKey } from '../store/codec.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import { systemClock, systemScheduler } from '../runtime/clock.js';
import type { StoreLease, StoredRecord } from '../store/contract.js';
import type { IoRedisClientLike, NodeRedisClientLike } from './link.js';
import { ioRedisLink, isIoRedisClient, isNodeRedisClient, nodeRedisLink } from './link.js';
import type { FleetBudget, FleetStatus, FleetStatusChange, RedisFleetStats, TakeResult } from './store.js';
import { RedisStore } from './store.js';

export { RedisFleetError } from './errors.js';
export type { RedisFleetErrorCode } from './errors.js';
export type { FleetBudget, FleetStatus, FleetStatusChange, RedisFleetStats, TakeResult } from './store.js';
export type { IoRedisClientLike, NodeRedisClientLike } from './link.js';

/** Options of {@link redisFleet}. Give exactly one of `url` and `client`. */
export interface RedisFleetOptions {
  /**
   * A `redis://` or `rediss://` URL: the fleet creates (and on `close()` closes) its own
   * node-redis client. Requires the `redis` package.
   */
  url?: string;
  /**
   * An existing client: node-redis v5 (`createClient()` from `redis`; connected by the fleet
   * if it is not open yet) or ioredis (`new Redis()`). The fleet sends its commands through
   * it and makes one `duplicate()` for pub/sub; `close()` closes only the duplicate.
   */
  client?: NodeRedisClientLike | IoRedisClientLike;
  /**
   * Prefix of every Redis key and channel. Default: `'jwks-keeper:'`. Each JWKS URL gets
   * `<prefix>{<hash of the URL>}:record | :lock | :bucket | :version` (one hash slot per URL, so
   * it also works on a Redis Cluster). Use one prefix per environment sharing a Redis.
   */
  keyPrefix?: string;
  /**
   * Key of the HMAC that authenticates shared records: at least 32 bytes (a string is taken
   * as UTF-8). Required, and the same on every instance: whoever can write Redis could
   * otherwise plant a signing key. A record failing its MAC is refused.
   */
  secret: string | Uint8Array;
  /**
   * Longest wait for any one Redis call, ms. Default: 200. A slower answer counts as a
   * failure and the instance goes on local-only for that operation. Range: 1 to 60 000.
   */
  callTimeoutMs?: number;
  /** Consecutive failed calls that open the circuit (local-only mode). Default: 3. Range: 1 to 1 000. */
  failureThreshold?: number;
  /**
   * How long an open circuit refuses calls before one probe call, ms. Default: 5 000: a
   * Redis outage costs each instance one probe per 5 s. Range: 1 to 3 600 000.
   */
  openMs?: number;
  /**
   * Largest record read or written, bytes. Default: 4 MiB (the persistence codec's limit).
   * Larger values are never transferred: the script reports their size instead (and removes
   * them). Use the same value on every instance. Range: 1 KiB to 64 MiB.
   */
  maxValueBytes?: number;
  /**
   * Longest lease a lock may be asked for, ms. Default: 60 000. A lock key found with no
   * expiry or a longer one was not set by an instance of this fleet and is removed.
   */
  maxLockTtlMs?: number;
  /** Clock for the breaker's timing. Default: the process clocks. */
  clock?: Clock;
  /** Scheduler for call timeouts and probes. Default: Node timers, unref'd. */
  scheduler?: Scheduler;
  /**
   * Called with connection errors of the clients the fleet created (node-redis emits them
   * while it reconnects). Default: ignored (the status and events report degradation).
   */
  onClientError?: (err: unknown) => void;
}

/**
 * A shared store on Redis, with the fleet's extras: a fleet-wide token bucket, connection
 * status and counters. Pass it as the `fleet` option of a cache or verifier.
 */
export interface RedisFleet extends JwksFleet {
  /** The HMAC key of shared records (a getter over a private field: never enumerated or logged with the object). */
  readonly secret: Uint8Array;
  /** The key prefix in use. */
  readonly keyPrefix: string;
  /** The record at `key`. Rejects (`FLEET_GARBAGE`) for a record that is not one, which is then removed. */
  get(key: string): Promise<StoredRecord | undefined>;
  /** Compare-and-set by version, and publish the version, atomically. */
  setIfNewer(key: string, version: number, value: string): Promise<boolean>;
  /** Remove the record at `key` if it still carries `version` (a record this instance refused). */
  deleteIfVersion(key: string, version: number): Promise<boolean>;
  /** A lease lock: SET NX PX with a random token, released by compare-and-delete. `ttlMs` ≤ `maxLockTtlMs`. */
  lock(key: string, ttlMs: number): Promise<StoreLease | undefined>;
  /** Version broadcasts for `key`; after a reconnection the stored version is delivered again. */
  subscribe(key: string, onVersion: (version: number) => void): Promise<() => Promise<void>>;
  /** Take one token of the fleet-wide bucket for `key`, atomically, dated by Redis' clock. */
  take(key: string, budget: FleetBudget): Promise<TakeResult>;
  /** One bounded round trip (also the breaker's probe). */
  ping(): Promise<void>;
  /** Connected or degraded (circuit open). */
  status(): FleetStatus;
  /** Be told when the fleet degrades and recovers. Returns an unsubscribe function. */
  onStatus(listener: (change: FleetStatusChange) => void): () => void;
  /** Counters. */
  stats(): RedisFleetStats;
  /** The Redis key names used for `key` (for operators and tests). */
  redisKeys(key: string): { record: string; lock: string; bucket: string; channel: string };
  /** Close the connections the fleet opened and stop its timers. Idempotent. */
  close(): Promise<void>;
}

function num(name: string, v: unknown, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new ConfigError(`${name} must be a number in [${min}, ${max}]`);
  return v;
}

/** Create a fleet on Redis. Synchronous: the connection is made in the background. */
export function redisFleet(options: RedisFleetOptions): RedisFleet {
  if (options === null || typeof options !== 'object') throw new ConfigError('redisFleet needs options');
  const { url, client } = options;
  if ((url === undefined) === (client === undefined)) throw new ConfigError('redisFleet needs exactly one of url and client');
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) throw new ConfigError('redisFleet url must be a redis:// or rediss:// URL');
  if (client !== undefined && !isIoRedisClient(client) && !isNodeRedisClient(client)) {
    throw new ConfigError('redisFleet client must be a node-redis v5 client (createClient() from redis) or an ioredis client');
  }
  const secret = persistenceKey(options.secret);
  const keyPrefix = options.keyPrefix ?? 'jwks-keeper:';
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 200 || /[\s{}]/.test(keyPrefix)) {
    throw new ConfigError('keyPrefix must be a string of at most 200 characters without spaces or braces');
  }
  const settings = {
    keyPrefix,
    callTimeoutMs: num('callTimeoutMs', options.callTimeoutMs, 200, 1, 60_000),
    failureThreshold: Math.floor(num('failureThreshold', options.failureThreshold, 3, 1, 1000)),
    openMs: num('openMs', options.openMs, 5_000, 1, 3_600_000),
    maxValueBytes: Math.floor(num('maxValueBytes', options.maxValueBytes, 4 * 1024 * 1024, 1024, 64 * 1024 * 1024)),
    maxLockTtlMs: Math.floor(num('maxLockTtlMs', options.maxLockTtlMs, 60_000, 1, 3_600_000)),
    clock: options.clock ?? systemClock,
    scheduler: options.scheduler ?? systemScheduler,
  };
  const onError = options.onClientError ?? (() => {});
  const reportError = (err: unknown): void => {
    try {
      onError(err);
    } catch {
      // a reporter cannot break the fleet
    }
  };
  const link =
    client !== undefined
      ? isIoRedisClient(client)
        ? ioRedisLink(client, reportError)
        : nodeRedisLink(Promise.resolve(client as NodeRedisClientLike), false, reportError)
      : nodeRedisLink(
          import('redis').then(({ createClient }) => {
            const c = createClient({ url: url! }) as unknown as NodeRedisClientLike;
            c.on('error', reportError);
            return c;
          }),
          true,
          reportError,
        );
  return new RedisStore(link, { ...settings, secret });
}
