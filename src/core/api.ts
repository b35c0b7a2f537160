/**
 * The public types of the key cache: the `JwksCache` interface and what its methods return.
 * The verifier's private hooks are not here: they live on an internal port (`port.ts`).
 */
import type { KeyObject } from 'node:crypto';
import type { KeysUnavailableError } from '../errors.js';
import type { JwksEventName, JwksListener, UnknownKidDecision } from '../events.js';
import type { JwksFleetStats } from '../fleet/types.js';
import type { PublicJwk, SupportedAlg, ValidatedKey } from '../jwks/validate.js';

/** Counters for metrics. All are monotonic counts since creation, except the gauges noted. */
export interface JwksCacheStats {
  /** JWKS requests sent (attempts, whatever their outcome). */
  fetches: number;
  /** Requests answered with a new or identical 200 body. */
  fetchesModified: number;
  /** Requests answered 304 Not Modified. */
  notModified: number;
  /** Failed attempts (network, timeout, status, invalid content). */
  failures: number;
  /** Gauge: failures since the last success. */
  consecutiveFailures: number;
  /** Lookups answered from the current snapshot. */
  hits: number;
  /** Lookups for a kid absent from the current snapshot. */
  misses: number;
  /** Lookups answered with keys past their freshness (last-known-good). */
  staleServes: number;
  /** Keys dropped at ingest. */
  keysDropped: number;
  /** Unknown-kid decisions, one counter per decision. */
  unknownKid: Record<UnknownKidDecision, number>;
  /** Refreshes triggered by signature failures on a known kid. */
  signatureRefreshes: number;
  /** Gauge: lookups waiting now. */
  waiters: number;
  /** Gauge: highest number of simultaneous waiters seen. */
  peakWaiters: number;
  /** Gauge: distinct kids waiting now. */
  waitingKids: number;
  /** Gauge: clients holding waiters now. */
  waitingClients: number;
  /** Gauge: kids in the negative cache. */
  negativeEntries: number;
  /** Gauge: current generation (0 before the first load). */
  generation: number;
  /** Gauge: keys in the current set. */
  keyCount: number;
  /** Fleet counters (shared hits, lock wins and waits, broadcasts, degraded time), or `undefined` without the `fleet` option. */
  fleet: JwksFleetStats | undefined;
}

/** Derived health. */
export interface JwksCacheHealth {
  /** `healthy`: fresh keys, last refresh fine. `degraded`: serving, but stale or refreshes failing. `failing`: cannot verify. */
  state: 'healthy' | 'degraded' | 'failing';
  /** Machine-readable reasons, e.g. `not-loaded`, `stale`, `refresh-failing`, `expired`, `closed`, `fleet-degraded`. */
  reasons: string[];
  /** Age of the last successful fetch or revalidation, ms. */
  lastSuccessAgeMs: number | undefined;
  /** Code of the last failure, if the last attempt failed. */
  lastErrorCode: string | undefined;
}

/** A key of the public snapshot view. */
export interface SnapshotKeyView {
  kid: string | undefined;
  kty: string;
  crv: string | undefined;
  alg: string | undefined;
  algorithms: readonly string[];
  thumbprint: string;
}

/** What {@link JwksCache.snapshot} returns. */
export interface SnapshotView {
  generation: number;
  keys: SnapshotKeyView[];
  /** `fresh`, `stale` (served as last-known-good) or `expired`. */
  status: 'fresh' | 'stale' | 'expired';
  /** Wall-clock time (ms since epoch) of the last successful fetch or 304. */
  lastSuccessAt: number;
  /** Wall-clock estimate (ms since epoch) of when freshness ends. */
  freshUntil: number;
}

/** Result of {@link JwksCache.refresh}. */
export interface RefreshResult {
  ok: boolean;
  generation: number;
  changed: boolean;
  error: KeysUnavailableError | undefined;
}

/** A resolved lookup: the candidate keys (in set order) and the generation they came from. */
export interface ResolvedKeys {
  kid: string | undefined;
  keys: readonly ValidatedKey[];
  generation: number;
}

/**
 * Key material for adapters and drop-ins (jwks-rsa-style `getSigningKey(kid)`): the imported
 * `KeyObject` and the JWK's public members. Frozen data; safe to hand to application code.
 */
export interface SigningKey {
  /** The JWK `kid`, or `undefined` for a key without one. */
  readonly kid: string | undefined;
  /** The JWK `alg`, when the IdP published one. */
  readonly alg: string | undefined;
  /** Algorithms this key may verify (pinned by `alg`, else what `kty`/`crv` allow). */
  readonly algorithms: readonly SupportedAlg[];
  /** The imported public key. */
  readonly keyObject: KeyObject;
  /** The JWK's public members only (never private members, `x5c` or extensions). */
  readonly jwk: PublicJwk;
  /** RFC 7638 SHA-256 thumbprint, base64url. */
  readonly thumbprint: string;
  /** Generation of the key set the key came from. */
  readonly generation: number;
}

/** Per-request context for the unknown-kid defence. */
export interface LookupContext {
  /** Identifies the caller (client IP, API key id) so waiting capacity is shared fairly. */
  clientId?: string;
}

/** The key cache. Create one per JWKS URL and share it. */
export interface JwksCache {
  /** Start (if not started) and resolve once a usable key set is loaded; rejects with the first load's error. */
  ready(): Promise<void>;
  /**
   * A jose-compatible key resolver: `jwtVerify(token, keys.getKey, options)`. Bound, safe to
   * pass around. Returns the first key for the header's `kid` whose permitted algorithms
   * include the header's `alg`.
   */
  readonly getKey: (protectedHeader: { kid?: unknown; alg?: unknown }, token?: unknown) => Promise<KeyObject>;
  /**
   * Kid-only lookup for adapters (no `alg` known yet): the first key carrying `kid`, or, for
   * `kid` undefined, the only key of the set (`KID_REQUIRED` when there are several). An
   * unknown kid goes through the unknown-kid defence like any lookup (negative cache,
   * bounded waiting, budgeted refresh) and rejects with `KID_NOT_FOUND` when a newer set
   * confirms it absent.
   */
  getSigningKey(kid: string | undefined, ctx?: LookupContext): Promise<SigningKey>;
  /** Every key of the current set (loading it first if needed), in set order. */
  getSigningKeys(): Promise<SigningKey[]>;
  /** Subscribe; returns an unsubscribe function. */
  on<K extends JwksEventName>(event: K, listener: JwksListener<K>): () => void;
  off<K extends JwksEventName>(event: K, listener: JwksListener<K>): void;
  snapshot(): SnapshotView | undefined;
  stats(): JwksCacheStats;
  health(): JwksCacheHealth;
  /** Fetch now (joins an in-flight fetch). Bypasses the unknown-kid budget but not single flight. */
  refresh(): Promise<RefreshResult>;
  /** Stop timers, abort an in-flight fetch, reject waiters with `CLOSED`. Idempotent. */
  close(): Promise<void>;
  /** The configured JWKS URL. */
  readonly jwksUri: string;
}
