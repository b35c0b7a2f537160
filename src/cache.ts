/**
 * The JWKS cache: the stateful shell around the pure policies.
 *
 * Layers, in the order a lookup meets them:
 *   1. lifecycle (lazy start, close)
 *   2. snapshot usability (fresh → stale-but-served → expired), cold start single flight
 *   3. key selection in the current immutable snapshot (the hot path: no I/O, no import)
 *   4. unknown-kid defence: negative cache → frequency-aware waiting room → budgeted refresh
 *   5. refresh: single flight, transport with hard limits, per-key validation, diff, events
 */
import type { KeyObject } from 'node:crypto';
import { KeysUnavailableError, TokenInvalidError, sanitizeForLog } from './errors.js';
import type { JwksEventName, JwksListener, RefreshReason, UnknownKidDecision } from './events.js';
import { SafeEmitter } from './events.js';
import type { Validators } from './fetch/transport.js';
import { checkJwksUrl, fetchJwksDocument } from './fetch/transport.js';
import type { Snapshot } from './jwks/snapshot.js';
import { buildSnapshot, candidatesFor, diffSnapshots, keyLabel } from './jwks/snapshot.js';
import type { PublicJwk, SupportedAlg, ValidatedKey } from './jwks/validate.js';
import { SUPPORTED_ALGS, validateJwks } from './jwks/validate.js';
import type { JwksCacheOptions, ResolvedCacheOptions } from './options.js';
import { withLogger } from './logging.js';
import { resolveCacheOptions } from './options.js';
import { RecentFrequency } from './policy/frequency.js';
import type { BucketState } from './policy/refresh.js';
import { backgroundRefreshAt, backoffDelayMs, bucketInit, bucketReadyAt, bucketTake, effectiveFreshnessMs, usability } from './policy/refresh.js';
import type { Waiter } from './policy/waiting-room.js';
import { WaitingRoom } from './policy/waiting-room.js';
import { decodeRecord, encodeRecord, persistableKeys } from './persistence.js';

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
}

/** Derived health. */
export interface JwksCacheHealth {
  /** `healthy`: fresh keys, last refresh fine. `degraded`: serving, but stale or refreshes failing. `failing`: cannot verify. */
  state: 'healthy' | 'degraded' | 'failing';
  /** Machine-readable reasons, e.g. `not-loaded`, `stale`, `refresh-failing`, `expired`, `closed`. */
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
   * Synchronous hot-path lookup: the candidates for `kid` + `alg` when the current set is
   * usable and has them, else `undefined` (then call {@link JwksCache.resolve}). Never waits,
   * never fetches.
   */
  peek(kid: string | undefined, alg: SupportedAlg): ResolvedKeys | undefined;
  /** Count a token refused by a cheap pre-check before any lookup (`pregate-reject`). */
  notePregateReject(kid: string | undefined, clientId?: string): void;
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
  /** Lower-level lookup used by the verifier: every candidate key for `kid` + `alg`. */
  resolve(kid: string | undefined, alg: SupportedAlg, ctx?: LookupContext): Promise<ResolvedKeys>;
  /**
   * After a signature failed with every candidate of a known kid: refresh at most once per
   * generation (budgeted) in case the IdP replaced the material under the same kid. Resolves
   * with the kid's keys in the newer set, or `undefined` when no refresh was allowed or the
   * material did not change.
   */
  recheckAfterSignatureFailure(kid: string, alg: SupportedAlg, seenGeneration: number, ctx?: LookupContext): Promise<ResolvedKeys | undefined>;
  /** Record that a key verified a token (drives `key.firstUsed`). */
  markUsed(key: ValidatedKey, verified: boolean): void;
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

interface Inflight {
  startedAt: number;
  reason: RefreshReason;
  controller: AbortController;
  promise: Promise<RefreshResult>;
}

function signingKeyOf(k: ValidatedKey, generation: number): SigningKey {
  return Object.freeze({ kid: k.kid, alg: k.jwk.alg, algorithms: k.algorithms, keyObject: k.keyObject, jwk: k.jwk, thumbprint: k.thumbprint, generation });
}

const DECISIONS: UnknownKidDecision[] = ['refetch', 'joined', 'waited', 'negative-hit', 'pregate-reject', 'capacity-reject', 'evicted', 'wait-timeout', 'found', 'not-found'];

/** Create a JWKS cache. Nothing is fetched until first use or `ready()`. */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  return withLogger(new JwksCacheImpl(resolveCacheOptions(options, checkJwksUrl)), options.logger);
}

class JwksCacheImpl implements JwksCache {
  readonly #o: ResolvedCacheOptions;
  readonly #emitter: SafeEmitter;
  readonly #room: WaitingRoom<ResolvedKeys>;
  readonly #sketch: RecentFrequency;
  readonly #negative = new Map<string, { generation: number; at: number }>();
  readonly #usedVerified = new WeakSet<ValidatedKey>();
  readonly #usedUnverified = new WeakSet<ValidatedKey>();
  readonly #appearedAt = new Map<string, number>();
  #snapshot: Snapshot | undefined;
  #validators: Validators = {};
  #freshUntil = 0;
  #lastSuccessAt: number | undefined;
  #lastSuccessWall = 0;
  #consecutiveFailures = 0;
  #lastError: KeysUnavailableError | undefined;
  #nextAttemptAt = -Infinity;
  #bucket: BucketState;
  #inflight: Inflight | undefined;
  #bgTimer: unknown;
  #gateTimer: unknown;
  #gateTimerAt = Infinity;
  #started = false;
  #closed = false;
  #staleNotified = false;
  #sigRecheck: { generation: number; createdAt: number; settled: boolean } | undefined;
  #attempt = 0;
  #restoring: Promise<void> | undefined;
  #saving: Promise<void> = Promise.resolve();
  readonly #stats: JwksCacheStats;

  readonly getKey: JwksCache['getKey'];

  constructor(o: ResolvedCacheOptions) {
    this.#o = o;
    this.#emitter = new SafeEmitter(o.onListenerError);
    this.#room = new WaitingRoom(o.maxWaiters, o.maxWaitersPerClient);
    this.#sketch = new RecentFrequency(Math.max(1024, 16 * o.maxWaiters), o.random);
    this.#bucket = bucketInit(o.clock.monotonicNow(), { burst: o.burst, cooldownMs: o.cooldownMs });
    this.#stats = {
      fetches: 0,
      fetchesModified: 0,
      notModified: 0,
      failures: 0,
      consecutiveFailures: 0,
      hits: 0,
      misses: 0,
      staleServes: 0,
      keysDropped: 0,
      unknownKid: Object.fromEntries(DECISIONS.map((d) => [d, 0])) as Record<UnknownKidDecision, number>,
      signatureRefreshes: 0,
      waiters: 0,
      peakWaiters: 0,
      waitingKids: 0,
      waitingClients: 0,
      negativeEntries: 0,
      generation: 0,
      keyCount: 0,
    };
    this.getKey = async (header) => {
      const alg = header?.alg;
      const kid = header?.kid;
      if (typeof alg !== 'string' || !(SUPPORTED_ALGS as readonly string[]).includes(alg)) {
        throw new TokenInvalidError('ALG_NOT_ALLOWED', `alg ${sanitizeForLog(alg)} is not supported for remote keys`);
      }
      if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > this.#o.maxKidLength)) {
        throw new TokenInvalidError('KID_INVALID', 'kid must be a non-empty string of bounded length');
      }
      const r = await this.resolve(kid, alg as SupportedAlg);
      const key = r.keys[0]!;
      this.markUsed(key, false);
      return key.keyObject;
    };
  }

  get jwksUri(): string {
    return this.#o.jwksUri.href;
  }

  // ---------------------------------------------------------------- lifecycle

  #now(): number {
    return this.#o.clock.monotonicNow();
  }

  #start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#o.persistence) {
      this.#restoring = this.#restore().finally(() => {
        this.#restoring = undefined;
      });
    }
    void this.#startRefresh('initial');
  }

  /** A promise that settles after `ms` (never rejects), on the injected scheduler. */
  #deadline(ms: number): Promise<'deadline'> {
    return new Promise((resolve) => this.#o.scheduler.setTimeout(() => resolve('deadline'), ms));
  }

  /**
   * Restore a persisted snapshot while the initial fetch runs. It is installed only if no
   * fetched set arrived first (an older answer never replaces a newer one), and it is dated
   * by the wall clock of the fetch that produced it: the only place where wall time ages keys,
   * since a monotonic clock does not survive a restart.
   */
  async #restore(): Promise<void> {
    const p = this.#o.persistence!;
    let data: string | undefined | 'deadline';
    try {
      data = await Promise.race([p.store.load(), this.#deadline(this.#o.timeoutMs)]);
    } catch (err) {
      this.#persistenceFailed('load', err);
      return;
    }
    if (data === 'deadline') {
      this.#persistenceFailed('load', new Error(`no answer within ${this.#o.timeoutMs} ms`));
      return;
    }
    if (data === undefined || this.#closed) return;
    const o = this.#o;
    const nowWall = o.clock.wallNow();
    const r = decodeRecord(data, p.key, { jwksUri: o.jwksUri.href, nowWall, maxStaleMs: o.maxStaleMs });
    if (typeof r === 'string') {
      this.#emitter.emit('persistence.refused', { reason: r });
      return;
    }
    if (this.#snapshot) return;
    const { keys } = validateJwks({ keys: r.keys }, { maxKeys: o.maxKeys, minRsaBits: o.minRsaBits, maxRsaBits: o.maxRsaBits, maxKidLength: o.maxKidLength });
    if (keys.length === 0) {
      this.#emitter.emit('persistence.refused', { reason: 'no-usable-keys' });
      return;
    }
    const ageMs = Math.max(0, nowWall - r.fetchedAt);
    const now = this.#now();
    this.#validators = r.validators;
    this.#freshUntil = now - ageMs + r.freshForMs;
    this.#lastSuccessAt = now - ageMs;
    this.#lastSuccessWall = r.fetchedAt;
    const next = buildSnapshot(keys, 1);
    this.#install(undefined, next);
    this.#emitter.emit('persistence.restored', { ageMs, generation: next.generation, keyCount: keys.length });
  }

  /** Report a store that failed or did not answer; the cache goes on without it. */
  #persistenceFailed(operation: 'load' | 'save', err: unknown): void {
    this.#emitter.emit('persistence.failed', { operation, message: sanitizeForLog(err instanceof Error ? err.message : String(err)) });
  }

  /** Save the current set after a successful fetch; saves run one at a time, failures are reported only. */
  #persist(freshForMs: number): void {
    const p = this.#o.persistence;
    const snap = this.#snapshot;
    if (!p || !snap) return;
    const record = encodeRecord(
      { jwksUri: this.#o.jwksUri.href, fetchedAt: this.#o.clock.wallNow(), freshForMs, validators: this.#validators, keys: persistableKeys(snap.keys) },
      p.key,
    );
    this.#saving = this.#saving.then(() =>
      p.store.save(record).then(undefined, (err: unknown) => {
        this.#persistenceFailed('save', err);
      }),
    );
  }

  async ready(): Promise<void> {
    this.#assertOpen();
    this.#start();
    if (this.#usableSnapshot()) return;
    await this.#awaitFirstLoad();
    if (this.#usableSnapshot()) return;
    throw this.#notLoadedError();
  }

  /**
   * Settles when keys are usable (fetched or restored), or when both the in-flight fetch and
   * a pending restore are over. A fetch failing fast (IdP refusing) does not hide a restore
   * still reading its store; a hanging store does not delay a fetched set.
   */
  #awaitFirstLoad(): Promise<void> {
    const fetching = this.#inflight?.promise;
    const restoring = this.#restoring;
    if (!restoring) return fetching ? fetching.then(() => undefined) : Promise.resolve();
    return new Promise((resolve) => {
      let restored = false;
      let fetched = fetching === undefined;
      const check = () => {
        if (this.#usableSnapshot() || (restored && fetched)) resolve();
      };
      void restoring.then(() => {
        restored = true;
        check();
      });
      void fetching?.then(() => {
        fetched = true;
        check();
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.scheduler.clearTimeout(this.#bgTimer);
    this.#o.scheduler.clearTimeout(this.#gateTimer);
    this.#inflight?.controller.abort();
    const err = new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
    for (const w of this.#room.drain()) w.reject(err);
    this.#syncGauges();
    const inflight = this.#inflight;
    if (inflight) await inflight.promise.catch(() => undefined);
    if (this.#o.persistence) await Promise.race([this.#saving, this.#deadline(this.#o.timeoutMs)]);
    this.#emitter.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
  }

  on<K extends JwksEventName>(event: K, listener: JwksListener<K>): () => void {
    return this.#emitter.on(event, listener);
  }

  off<K extends JwksEventName>(event: K, listener: JwksListener<K>): void {
    this.#emitter.off(event, listener);
  }

  // ---------------------------------------------------------------- lookups (hot path first)

  #usableSnapshot(): Snapshot | undefined {
    const s = this.#snapshot;
    if (!s) return undefined;
    return usability(this.#now(), this.#freshUntil, this.#o.maxStaleMs) === 'expired' ? undefined : s;
  }

  peek(kid: string | undefined, alg: SupportedAlg): ResolvedKeys | undefined {
    const snap = this.#snapshot;
    if (!snap || this.#closed) return undefined;
    const now = this.#now();
    if (now > this.#freshUntil) {
      if (usability(now, this.#freshUntil, this.#o.maxStaleMs) === 'expired') return undefined;
      this.#noteStale(now);
    }
    const { usable } = candidatesFor(snap, kid, alg);
    if (usable.length === 0 || (kid === undefined && usable.length !== 1)) return undefined;
    this.#stats.hits++;
    return { kid, keys: usable, generation: snap.generation };
  }

  async getSigningKey(kid: string | undefined, ctx?: LookupContext): Promise<SigningKey> {
    if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > this.#o.maxKidLength)) {
      throw new TokenInvalidError('KID_INVALID', 'kid must be a non-empty string of bounded length');
    }
    const r = await this.resolve(kid, undefined, ctx);
    const key = r.keys[0]!;
    this.markUsed(key, false);
    return signingKeyOf(key, r.generation);
  }

  async getSigningKeys(): Promise<SigningKey[]> {
    await this.ready();
    const snap = this.#usableSnapshot();
    if (!snap) throw this.#notLoadedError();
    return snap.keys.map((k) => signingKeyOf(k, snap.generation));
  }

  notePregateReject(kid: string | undefined, clientId?: string): void {
    this.#decide(kid ?? '', 'pregate-reject', clientId);
  }

  async resolve(kid: string | undefined, alg: SupportedAlg | undefined, ctx?: LookupContext): Promise<ResolvedKeys> {
    if (this.#closed) throw new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
    if (!this.#started) this.#start();
    let snap = this.#snapshot;
    const now = this.#now();
    const use = snap ? usability(now, this.#freshUntil, this.#o.maxStaleMs) : 'expired';
    if (use !== 'fresh') {
      if (use === 'stale') {
        this.#noteStale(now);
      } else {
        snap = await this.#awaitLoad();
      }
    }
    snap = snap!;
    const { all, usable } = candidatesFor(snap, kid, alg);
    if (usable.length > 0) {
      if (kid === undefined && usable.length !== 1) {
        throw new TokenInvalidError('KID_REQUIRED', 'token has no kid and the key set has more than one candidate key');
      }
      this.#stats.hits++;
      return { kid, keys: usable, generation: snap.generation };
    }
    if (kid === undefined) throw new TokenInvalidError('KID_REQUIRED', 'token has no kid and no key in the set can verify it');
    if (all.length > 0) {
      this.#stats.hits++;
      throw new TokenInvalidError('KEY_ALG_MISMATCH', `the key for this kid cannot verify ${alg}`);
    }
    this.#stats.misses++;
    return this.#unknownKid(kid, alg, ctx?.clientId, snap);
  }

  #noteStale(now: number): void {
    this.#stats.staleServes++;
    if (!this.#staleNotified) {
      this.#staleNotified = true;
      this.#emitter.emit('keys.staleServed', { staleForMs: now - this.#freshUntil, generation: this.#snapshot?.generation ?? 0 });
    }
    if (!this.#inflight) this.#tryBudgeted('stale');
  }

  /** Cold start or expired keys: join the in-flight load, or start one if backoff allows. */
  async #awaitLoad(): Promise<Snapshot> {
    if (!this.#inflight) {
      if (this.#attempt === 0) void this.#startRefresh('initial');
      else this.#tryBudgeted(this.#snapshot ? 'stale' : 'retry');
    }
    await this.#awaitFirstLoad();
    const s = this.#usableSnapshot();
    if (s) return s;
    throw this.#notLoadedError();
  }

  #notLoadedError(): KeysUnavailableError {
    if (this.#closed) return new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
    const retryAfterMs = Number.isFinite(this.#nextAttemptAt) ? Math.max(0, this.#nextAttemptAt - this.#now()) : undefined;
    const cause = this.#lastError;
    if (this.#snapshot) {
      return new KeysUnavailableError('KEYS_STALE', `keys are older than maxStaleMs and refreshes fail${cause ? ` (${cause.code})` : ''}`, { cause, retryAfterMs });
    }
    return new KeysUnavailableError('KEYS_NOT_LOADED', `no key set loaded yet${cause ? ` (${cause.code}: ${cause.message})` : ''}`, { cause, retryAfterMs });
  }

  markUsed(key: ValidatedKey, verified: boolean): void {
    if (this.#usedVerified.has(key) || (!verified && this.#usedUnverified.has(key))) return;
    (verified ? this.#usedVerified : this.#usedUnverified).add(key);
    const appeared = this.#appearedAt.get(key.thumbprint);
    this.#emitter.emit('key.firstUsed', {
      kid: keyLabel(key),
      generation: this.#snapshot?.generation ?? 0,
      verified,
      publishedForMs: appeared === undefined ? 0 : this.#now() - appeared,
    });
  }

  // ---------------------------------------------------------------- unknown-kid defence

  #decide(kid: string, decision: UnknownKidDecision, clientId: string | undefined): void {
    this.#stats.unknownKid[decision]++;
    if (this.#emitter.has('unknownKid')) this.#emitter.emit('unknownKid', { kid: sanitizeForLog(kid), decision, clientId });
  }

  /** When the next budgeted refresh may start. */
  #budgetReadyAt(now: number): number {
    return Math.max(bucketReadyAt(this.#bucket, now, this.#o), this.#nextAttemptAt);
  }

  #unknownKid(kid: string, alg: SupportedAlg | undefined, clientId: string | undefined, snap: Snapshot): Promise<ResolvedKeys> {
    const now = this.#now();
    const neg = this.#negative.get(kid);
    if (neg) {
      if (neg.generation === snap.generation && now - neg.at < this.#o.negativeTtlMs) {
        this.#decide(kid, 'negative-hit', clientId);
        return Promise.reject(new TokenInvalidError('KID_NOT_FOUND', `kid ${sanitizeForLog(kid)} is not in the key set`));
      }
      this.#negative.delete(kid);
    }
    return this.#wait(kid, alg, clientId, false, this.#sketch.add(kid));
  }

  #wait(kid: string, alg: SupportedAlg | undefined, clientId: string | undefined, needsNewFetch: boolean, frequency = this.#sketch.add(kid)): Promise<ResolvedKeys> {
    const now = this.#now();
    return new Promise<ResolvedKeys>((resolve, reject) => {
      const w: Waiter<ResolvedKeys> = {
        kid,
        clientId,
        arrivedAt: now,
        deadline: now + this.#o.maxWaitMs,
        needsNewFetch,
        resolve: (r) => {
          const { usable } = this.#snapshot ? candidatesFor(this.#snapshot, kid, alg) : { usable: [] };
          if (usable.length === 0) reject(new TokenInvalidError('KEY_ALG_MISMATCH', `the key for this kid cannot verify ${String(alg)}`));
          else resolve({ ...r, keys: usable });
        },
        reject,
      };
      const admission = this.#room.admit(w, frequency);
      if (!admission.admitted) {
        this.#decide(kid, 'capacity-reject', clientId);
        reject(
          new KeysUnavailableError('UNKNOWN_KID_CAPACITY', `too many lookups are waiting for unknown kids (${admission.reason})`, {
            retryAfterMs: Math.max(0, this.#budgetReadyAt(now) - now),
          }),
        );
        return;
      }
      if (admission.evicted) {
        const e = admission.evicted;
        this.#decide(e.kid, 'evicted', e.clientId);
        e.reject(new KeysUnavailableError('UNKNOWN_KID_CAPACITY', 'displaced from the unknown-kid waiting room by a more frequently requested kid'));
      }
      this.#syncGauges();
      if (this.#inflight && !needsNewFetch) {
        this.#decide(kid, 'joined', clientId);
        return;
      }
      if (this.#tryBudgeted(needsNewFetch ? 'signature-failure' : 'unknown-kid')) {
        this.#decide(kid, 'refetch', clientId);
        return;
      }
      const readyAt = this.#budgetReadyAt(now);
      if (this.#inflight) {
        // a signature recheck that needs a fetch started after now: wait for the next one
        this.#decide(kid, 'waited', clientId);
        return;
      }
      if (readyAt > w.deadline) {
        this.#room.sweep((_k, x) => x === w);
        this.#syncGauges();
        this.#decide(kid, 'wait-timeout', clientId);
        reject(this.#waitTimeoutError(readyAt - now));
        return;
      }
      this.#decide(kid, 'waited', clientId);
      this.#armGate(readyAt);
    });
  }

  #waitTimeoutError(retryAfterMs: number): KeysUnavailableError {
    return new KeysUnavailableError('UNKNOWN_KID_WAIT_TIMEOUT', 'no JWKS refresh can start within maxWaitMs for this unknown kid', {
      retryAfterMs,
      cause: this.#lastError,
    });
  }

  #armGate(at: number): void {
    if (this.#gateTimerAt <= at) return;
    this.#o.scheduler.clearTimeout(this.#gateTimer);
    this.#gateTimerAt = at;
    this.#gateTimer = this.#o.scheduler.setTimeout(() => {
      this.#gateTimerAt = Infinity;
      this.#gateTimer = undefined;
      this.#serveWaiters();
    }, at - this.#now());
  }

  /** Start a budgeted refresh for the waiting room if it is permitted now, else re-arm. */
  #serveWaiters(): void {
    if (this.#closed || this.#room.size === 0 || this.#inflight) return;
    const now = this.#now();
    const readyAt = this.#budgetReadyAt(now);
    // waiters that cannot be served before their deadline fail now
    this.#room.sweep((kid, w) => {
      if (readyAt <= w.deadline) return false;
      this.#decide(kid, 'wait-timeout', w.clientId);
      w.reject(this.#waitTimeoutError(readyAt - now));
      return true;
    });
    this.#syncGauges();
    if (this.#room.size === 0) return;
    if (!this.#tryBudgeted('unknown-kid')) this.#armGate(readyAt);
  }

  /** After a refresh: settle waiters it answers, negative-cache kids it confirmed absent. */
  #settleWaiters(result: RefreshResult, startedAt: number): void {
    const snap = this.#snapshot;
    if (result.ok && snap) {
      const rec = this.#sigRecheck;
      if (rec && !rec.settled && startedAt >= rec.createdAt) rec.settled = true;
      this.#room.sweep((kid, w) => {
        if (w.needsNewFetch && w.arrivedAt > startedAt) return false;
        const keys = snap.byKid.get(kid);
        if (keys && keys.length > 0) {
          this.#decide(kid, 'found', w.clientId);
          w.resolve({ kid, keys, generation: snap.generation });
          return true;
        }
        if (w.arrivedAt > startedAt) return false; // this fetch may predate the key: wait for the next
        this.#decide(kid, 'not-found', w.clientId);
        this.#rememberAbsent(kid, snap.generation);
        w.reject(new TokenInvalidError('KID_NOT_FOUND', `kid ${sanitizeForLog(kid)} is not in the key set`));
        return true;
      });
    }
    this.#syncGauges();
    this.#serveWaiters();
  }

  #rememberAbsent(kid: string, generation: number): void {
    if (this.#o.negativeCacheSize === 0) return;
    if (this.#negative.size >= this.#o.negativeCacheSize && !this.#negative.has(kid)) {
      const oldest = this.#negative.keys().next().value;
      if (oldest !== undefined) this.#negative.delete(oldest);
    }
    this.#negative.set(kid, { generation, at: this.#now() });
  }

  async recheckAfterSignatureFailure(kid: string, alg: SupportedAlg, seenGeneration: number, ctx?: LookupContext): Promise<ResolvedKeys | undefined> {
    this.#assertOpen();
    if (this.#snapshot?.generation === seenGeneration) {
      // at most one refresh per generation; failures until it completes wait for the same one
      let rec = this.#sigRecheck;
      if (rec?.generation === seenGeneration && rec.settled) return undefined;
      if (rec?.generation !== seenGeneration) {
        this.#stats.signatureRefreshes++;
        rec = this.#sigRecheck = { generation: seenGeneration, createdAt: this.#now(), settled: false };
      }
      try {
        await this.#wait(kid, alg, ctx?.clientId, true);
      } catch (err) {
        if (err instanceof TokenInvalidError && err.code === 'KID_NOT_FOUND') throw err;
        return undefined; // keys unavailable or no room: the signature failure stands
      }
    }
    const snap = this.#snapshot;
    if (!snap || snap.generation === seenGeneration) return undefined;
    const { usable } = candidatesFor(snap, kid, alg);
    return usable.length > 0 ? { kid, keys: usable, generation: snap.generation } : undefined;
  }

  // ---------------------------------------------------------------- refresh

  async refresh(): Promise<RefreshResult> {
    this.#assertOpen();
    this.#started = true;
    if (this.#inflight) return this.#inflight.promise;
    return this.#startRefresh('manual');
  }

  #startRefresh(reason: RefreshReason): Promise<RefreshResult> {
    if (this.#inflight) return this.#inflight.promise;
    if (this.#closed) {
      return Promise.resolve({ ok: false, generation: this.#snapshot?.generation ?? 0, changed: false, error: new KeysUnavailableError('CLOSED', 'closed') });
    }
    this.#o.scheduler.clearTimeout(this.#bgTimer);
    this.#bgTimer = undefined;
    const startedAt = this.#now();
    const controller = new AbortController();
    const inflight: Inflight = {
      startedAt,
      reason,
      controller,
      promise: Promise.resolve().then(() => this.#fetchOnce(reason, startedAt, controller.signal)),
    };
    this.#inflight = inflight;
    void inflight.promise.then((result) => {
      if (this.#inflight === inflight) this.#inflight = undefined;
      if (!this.#closed) this.#settleWaiters(result, startedAt);
    });
    return inflight.promise;
  }

  async #fetchOnce(reason: RefreshReason, startedAt: number, signal: AbortSignal): Promise<RefreshResult> {
    const o = this.#o;
    this.#attempt++;
    this.#stats.fetches++;
    this.#emitter.emit('refresh.started', { reason, attempt: this.#attempt });
    let prev = this.#snapshot;
    try {
      const res = await fetchJwksDocument(
        o.jwksUri,
        prev ? this.#validators : {},
        {
          timeoutMs: o.timeoutMs,
          maxResponseBytes: o.maxResponseBytes,
          allowRedirects: o.allowRedirects,
          allowInsecureHttp: o.allowInsecureHttp,
          acceptAnyContentType: o.acceptAnyContentType,
          headers: o.headers,
        },
        { fetch: o.fetch, clock: o.clock, scheduler: o.scheduler, signal },
      );
      if (this.#closed) throw new KeysUnavailableError('CLOSED', 'closed');
      prev = this.#snapshot; // a restored snapshot may have arrived meanwhile
      let next = prev;
      let changed = false;
      if (res.kind === 'modified') {
        const { keys, dropped } = validateJwks(res.body, {
          maxKeys: o.maxKeys,
          minRsaBits: o.minRsaBits,
          maxRsaBits: o.maxRsaBits,
          maxKidLength: o.maxKidLength,
        });
        this.#stats.keysDropped += dropped.length;
        for (const d of dropped) this.#emitter.emit('key.dropped', { kid: d.kid, index: d.index, reason: d.reason, detail: d.detail });
        const candidate = buildSnapshot(keys, (prev?.generation ?? 0) + 1, prev);
        if (!prev || candidate.identity !== prev.identity) {
          next = candidate;
          changed = true;
        }
        this.#stats.fetchesModified++;
      } else if (!prev) {
        throw new KeysUnavailableError('JWKS_HTTP_STATUS', '304 without a cached key set', { upstreamStatus: 304 });
      } else {
        this.#stats.notModified++;
      }
      const now = this.#now();
      const freshness = effectiveFreshnessMs(res.freshnessMs, o);
      this.#validators = res.validators;
      this.#freshUntil = now + freshness;
      this.#lastSuccessAt = now;
      this.#lastSuccessWall = o.clock.wallNow();
      this.#consecutiveFailures = 0;
      this.#stats.consecutiveFailures = 0;
      this.#lastError = undefined;
      this.#nextAttemptAt = -Infinity;
      this.#staleNotified = false;
      if (changed && next) this.#install(prev, next);
      this.#persist(freshness);
      this.#scheduleBackground(backgroundRefreshAt(now, freshness, o.random()), 'scheduled');
      const generation = this.#snapshot!.generation;
      this.#emitter.emit('refresh.succeeded', {
        reason,
        modified: changed,
        notModified304: res.kind === 'not-modified',
        durationMs: res.durationMs,
        generation,
        freshForMs: freshness,
      });
      return { ok: true, generation, changed, error: undefined };
    } catch (e) {
      const err =
        e instanceof KeysUnavailableError
          ? e
          : new KeysUnavailableError('JWKS_NETWORK', `unexpected refresh failure: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      const generation = this.#snapshot?.generation ?? 0;
      if (this.#closed) return { ok: false, generation, changed: false, error: err };
      const now = this.#now();
      this.#stats.failures++;
      this.#consecutiveFailures++;
      this.#stats.consecutiveFailures = this.#consecutiveFailures;
      this.#lastError = err;
      const delay = backoffDelayMs(
        this.#consecutiveFailures,
        { initialMs: o.backoffInitialMs, maxMs: o.backoffMaxMs, maxRetryAfterMs: o.maxRetryAfterMs },
        o.random(),
        err.retryAfterMs,
      );
      this.#nextAttemptAt = Math.max(now, startedAt) + delay;
      this.#staleNotified = false;
      this.#scheduleBackground(this.#nextAttemptAt, 'retry');
      this.#emitter.emit('refresh.failed', {
        reason,
        code: err.code,
        message: err.message,
        status: err.upstreamStatus,
        consecutiveFailures: this.#consecutiveFailures,
        staleForMs: this.#snapshot ? Math.max(0, now - this.#freshUntil) : undefined,
        nextAttemptInMs: delay,
      });
      return { ok: false, generation, changed: false, error: err };
    }
  }

  #install(prev: Snapshot | undefined, next: Snapshot): void {
    const now = this.#now();
    const appeared = new Map<string, number>();
    for (const k of next.keys) appeared.set(k.thumbprint, this.#appearedAt.get(k.thumbprint) ?? now);
    this.#appearedAt.clear();
    for (const [k, v] of appeared) this.#appearedAt.set(k, v);
    const diff = diffSnapshots(prev, next);
    this.#snapshot = next;
    this.#negative.clear();
    this.#stats.generation = next.generation;
    this.#stats.keyCount = next.keys.length;
    this.#syncGauges();
    this.#emitter.emit('keys.changed', { ...diff, generation: next.generation, previousGeneration: prev?.generation ?? 0 });
  }

  #scheduleBackground(at: number, reason: RefreshReason): void {
    if (this.#closed) return;
    this.#o.scheduler.clearTimeout(this.#bgTimer);
    this.#bgTimer = this.#o.scheduler.setTimeout(() => {
      this.#bgTimer = undefined;
      if (this.#inflight || this.#tryBudgeted(reason)) return;
      this.#scheduleBackground(this.#budgetReadyAt(this.#now()), reason);
    }, Math.max(0, at - this.#now()));
  }

  /**
   * Every attempt except the first load and an explicit `refresh()` spends one token of the
   * same bucket and respects the failure backoff, so background refreshes, retries, stale
   * revalidation and unknown-kid refreshes together stay within one budget.
   */
  #tryBudgeted(reason: RefreshReason): boolean {
    if (this.#inflight || this.#closed) return false;
    const now = this.#now();
    if (this.#budgetReadyAt(now) > now) return false;
    this.#bucket = bucketTake(this.#bucket, now, this.#o);
    void this.#startRefresh(reason);
    return true;
  }

  // ---------------------------------------------------------------- introspection

  #syncGauges(): void {
    this.#stats.waiters = this.#room.size;
    if (this.#room.size > this.#stats.peakWaiters) this.#stats.peakWaiters = this.#room.size;
    this.#stats.waitingKids = this.#room.kidCount;
    this.#stats.waitingClients = this.#room.clientCount;
    this.#stats.negativeEntries = this.#negative.size;
  }

  stats(): JwksCacheStats {
    this.#syncGauges();
    return { ...this.#stats, unknownKid: { ...this.#stats.unknownKid } };
  }

  snapshot(): SnapshotView | undefined {
    const s = this.#snapshot;
    if (!s) return undefined;
    const now = this.#now();
    return {
      generation: s.generation,
      keys: s.keys.map((k) => ({
        kid: k.kid,
        kty: k.jwk.kty,
        crv: k.jwk.crv,
        alg: k.jwk.alg,
        algorithms: k.algorithms,
        thumbprint: k.thumbprint,
      })),
      status: usability(now, this.#freshUntil, this.#o.maxStaleMs),
      lastSuccessAt: this.#lastSuccessWall,
      freshUntil: this.#o.clock.wallNow() + (this.#freshUntil - now),
    };
  }

  health(): JwksCacheHealth {
    const now = this.#now();
    const reasons: string[] = [];
    let state: JwksCacheHealth['state'] = 'healthy';
    if (this.#closed) {
      state = 'failing';
      reasons.push('closed');
    } else if (!this.#snapshot) {
      state = 'failing';
      reasons.push('not-loaded');
    } else {
      const u = usability(now, this.#freshUntil, this.#o.maxStaleMs);
      if (u === 'expired') {
        state = 'failing';
        reasons.push('expired');
      } else if (u === 'stale') {
        state = 'degraded';
        reasons.push('stale');
      }
    }
    if (this.#consecutiveFailures > 0) {
      if (state === 'healthy') state = 'degraded';
      reasons.push('refresh-failing');
    }
    return {
      state,
      reasons,
      lastSuccessAgeMs: this.#lastSuccessAt === undefined ? undefined : now - this.#lastSuccessAt,
      lastErrorCode: this.#lastError?.code,
    };
  }
}
