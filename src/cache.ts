/**
 * The JWKS cache facade: lifecycle (lazy start, `ready`, `close`) and the wiring of its parts.
 *
 * A lookup meets, in order:
 *   1. the holder (`core/holder.ts`): the current immutable record; the hot path, no I/O;
 *   2. the key-selection rule (`core/select.ts`), the same for every path;
 *   3. for a kid the set lacks, the unknown-kid gate (`gate/`): negative cache, bounded
 *      waiting room, budgeted refresh, signature recheck;
 *   4. below, the refresher (`core/refresher.ts`) running the source pipeline
 *      (`source/compose.ts`: single flight ← shared store seam ← backoff ← budget ← HTTP leaf)
 *      and persistence (`store/persist.ts`).
 * The verifier reaches the cache through an internal port (`core/port.ts`), not the public type.
 */
import type { KeyObject } from 'node:crypto';
import type { JwksCache, JwksCacheHealth, JwksCacheStats, LookupContext, RefreshResult, ResolvedKeys, SigningKey, SnapshotView } from './core/api.js';
import { KeyHolder } from './core/holder.js';
import { deriveHealth, snapshotView } from './core/introspect.js';
import { attachPort } from './core/port.js';
import { VersionClock } from './core/record.js';
import { Refresher } from './core/refresher.js';
import { checkHeader, checkKid, selectKeys, selectionError } from './core/select.js';
import { newStats } from './core/stats.js';
import { KeysUnavailableError } from './errors.js';
import type { JwksEventName, JwksListener } from './events.js';
import { SafeEmitter } from './events.js';
import { checkJwksUrl } from './fetch/transport.js';
import type { Snapshot } from './jwks/snapshot.js';
import type { SupportedAlg, ValidatedKey } from './jwks/validate.js';
import { SUPPORTED_ALGS } from './jwks/validate.js';
import { UnknownKidGate } from './gate/gate.js';
import type { JwksCacheOptions, ResolvedCacheOptions } from './options.js';
import { withLogger } from './logging.js';
import { resolveCacheOptions } from './options.js';
import { memoryBudget } from './source/budget.js';
import type { ComposedSource } from './source/compose.js';
import { composeSource } from './source/compose.js';
import { httpLeaf } from './source/http-leaf.js';
import { leafFor } from './discovery/leaf.js';
import { Persistence } from './store/persist.js';
import type { FleetCoordinator } from './fleet/coordinator.js';
import { createFleet } from './fleet/wire.js';
import type { KeySetRecord } from './core/record.js';

export type { JwksCache, JwksCacheHealth, JwksCacheStats, LookupContext, RefreshResult, ResolvedKeys, SigningKey, SnapshotKeyView, SnapshotView } from './core/api.js';

const REMOTE_ALGS: ReadonlySet<string> = new Set(SUPPORTED_ALGS);

function signingKeyOf(k: ValidatedKey, generation: number): SigningKey {
  return Object.freeze({ kid: k.kid, alg: k.jwk.alg, algorithms: k.algorithms, keyObject: k.keyObject, jwk: k.jwk, thumbprint: k.thumbprint, generation });
}

/** Create a JWKS cache. Nothing is fetched until first use or `ready()`. */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  return withLogger(new JwksCacheImpl(resolveCacheOptions(options, checkJwksUrl)), options.logger);
}

class JwksCacheImpl implements JwksCache {
  readonly #o: ResolvedCacheOptions;
  readonly #emitter: SafeEmitter;
  readonly #stats: JwksCacheStats = newStats();
  readonly #holder: KeyHolder;
  readonly #source: ComposedSource;
  readonly #refresher: Refresher;
  readonly #gate: UnknownKidGate;
  readonly #persistence: Persistence | undefined;
  readonly #fleet: FleetCoordinator | undefined;
  #started = false;
  #closed = false;
  #restoring: Promise<void> | undefined;

  readonly getKey: JwksCache['getKey'];

  constructor(o: ResolvedCacheOptions) {
    this.#o = o;
    const { clock, scheduler, random } = o.runtime;
    const emitter = (this.#emitter = new SafeEmitter(o.runtime.onListenerError));
    const stats = this.#stats;
    const versions = new VersionClock();
    const validation = o.validation;
    const holder = (this.#holder = new KeyHolder({
      clock,
      maxStaleMs: o.freshness.maxStaleMs,
      emitter,
      stats,
      versions,
      onStale: () => {
        if (!refresher.inflight) refresher.tryBudgeted('stale');
      },
      onChanged: () => gate.clearNegative(),
    }));
    const makeHttpLeaf = (jwksUri: URL) => httpLeaf({
      jwksUri,
      transport: o.transport,
      validation,
      freshness: o.freshness,
      fetch: o.transport.fetch,
      clock,
      scheduler,
      versions,
      observer: {
        request: (reason) => refresher.noteRequest(reason),
        dropped: (d) => {
          stats.keysDropped++;
          emitter.emit('key.dropped', { kid: d.kid, index: d.index, reason: d.reason, detail: d.detail });
        },
      },
    });
    // the discovery seam: with `discovery`, a leaf that resolves jwks_uri first
    const leaf = leafFor(o, makeHttpLeaf);
    const fleet = (this.#fleet = createFleet(o, validation, emitter));
    const localBudget = o.budget.custom ?? memoryBudget(o.budget, clock.monotonicNow());
    const source = (this.#source = composeSource({
      leaf,
      budget: fleet ? fleet.budget(localBudget) : localBudget,
      backoff: o.backoff,
      ...(fleet ? { shared: fleet.layer } : o.sharedLayer ? { shared: o.sharedLayer } : {}),
      layerContext: {
        jwksUri: o.jwksUri.href,
        current: () => holder.record,
        offer: (record) => {
          if (this.#closed) return false;
          const { installed } = holder.accept(record, 'broadcast');
          if (installed) gate.settle(holder.record);
          return installed;
        },
      },
      clock,
      random,
    }));
    const persistence = (this.#persistence = o.store
      ? new Persistence({ ...o.store, jwksUri: o.jwksUri.href, maxStaleMs: o.freshness.maxStaleMs, timeoutMs: o.transport.timeoutMs, validation, clock, scheduler, emitter })
      : undefined);
    const refresher = (this.#refresher = new Refresher({
      source,
      holder,
      stats,
      emitter,
      clock,
      scheduler,
      random,
      persist: (record) => persistence?.save(record),
      settled: (record) => gate.settle(record),
    }));
    const gate = (this.#gate = new UnknownKidGate({
      cfg: o.unknownKid,
      clock,
      scheduler,
      random,
      holder,
      versions,
      stats,
      emitter,
      refresher: {
        get inflight() {
          return refresher.inflight;
        },
        readyAt: (now) => refresher.readyAt(now),
        tryBudgeted: (reason) => refresher.tryBudgeted(reason),
        backoffReadyAt: (now) => refresher.backoffReadyAt(now),
        tryPriority: () => refresher.tryPriority(),
        get lastError() {
          return source.backoff.lastError;
        },
      },
    }));
    this.getKey = async (header) => {
      const { alg, kid } = checkHeader(header, REMOTE_ALGS, validation.maxKidLength);
      const r = await this.#resolve(kid, alg);
      const key = r.keys[0]!;
      holder.markUsed(key, false);
      return key.keyObject as KeyObject;
    };
    attachPort(this, {
      clock,
      peek: (kid, alg) => holder.peek(kid, alg),
      resolve: (kid, alg, ctx) => this.#resolve(kid, alg, ctx),
      markUsed: (key, verified) => holder.markUsed(key, verified),
      notePregateReject: (kid, clientId) => gate.notePregateReject(kid, clientId),
      recheckAfterSignatureFailure: async (kid, alg, seenGeneration, ctx) => {
        this.#assertOpen();
        return gate.recheck(kid, alg, seenGeneration, ctx?.clientId);
      },
    });
  }

  get jwksUri(): string {
    return this.#o.jwksUri.href;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Start once: restore the persisted record (if any) while the first fetch runs. */
  #start(reason: 'initial' | 'manual' = 'initial'): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    if (this.#persistence) {
      this.#restoring = this.#restore().finally(() => {
        this.#restoring = undefined;
      });
    }
    this.#fleet?.start({ current: () => this.#holder.record, offer: (record) => this.#offer(record) });
    void this.#refresher.start(reason);
  }

  /** Fleet mode: install a record another instance announced, then answer waiters with it. */
  #offer(record: KeySetRecord): void {
    const current = !this.#closed && this.#holder.accept(record, 'broadcast').installed ? this.#holder.record : undefined;
    if (!current) return;
    this.#persistence?.save(current);
    this.#refresher.scheduleAhead(current);
    this.#gate.settle(current);
  }

  /** Restore a persisted record while the initial fetch runs; installed only if nothing was fetched first. */
  async #restore(): Promise<void> {
    const record = await this.#persistence!.restore(
      () => this.#closed,
      () => this.#holder.snapshot !== undefined,
    );
    if (!record || this.#closed) return;
    const { installed, generation } = this.#holder.accept(record, 'restore');
    if (!installed) return;
    const ageMs = Math.max(0, this.#o.runtime.clock.wallNow() - record.fetchedAt);
    this.#emitter.emit('persistence.restored', { ageMs, generation, keyCount: record.snapshot.keys.length });
  }

  async ready(): Promise<void> {
    this.#assertOpen();
    this.#start();
    if (this.#holder.usable()) return;
    await this.#awaitFirstLoad();
    if (this.#holder.usable()) return;
    throw this.#notLoadedError();
  }

  /**
   * Settles when keys are usable (fetched or restored), or when both the in-flight fetch and
   * a pending restore are over. A fetch failing fast (IdP refusing) does not hide a restore
   * still reading its store; a hanging store does not delay a fetched set.
   */
  #awaitFirstLoad(): Promise<void> {
    const fetching = this.#refresher.running;
    const restoring = this.#restoring;
    if (!restoring) return fetching ? fetching.then(() => undefined) : Promise.resolve();
    return new Promise((resolve) => {
      let restored = false;
      let fetched = fetching === undefined;
      const check = () => {
        if (this.#holder.usable() || (restored && fetched)) resolve();
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
    this.#holder.close();
    const stopping = this.#refresher.close();
    this.#gate.close();
    await this.#fleet?.close();
    await stopping;
    if (this.#persistence) await this.#persistence.flush();
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

  // ---------------------------------------------------------------- lookups

  async getSigningKey(kid: string | undefined, ctx?: LookupContext): Promise<SigningKey> {
    checkKid(kid, this.#o.validation.maxKidLength);
    const r = await this.#resolve(kid, undefined, ctx);
    const key = r.keys[0]!;
    this.#holder.markUsed(key, false);
    return signingKeyOf(key, r.generation);
  }

  async getSigningKeys(): Promise<SigningKey[]> {
    await this.ready();
    const snap = this.#holder.usable();
    if (!snap) throw this.#notLoadedError();
    return snap.keys.map((k) => signingKeyOf(k, snap.generation));
  }

  async #resolve(kid: string | undefined, alg: SupportedAlg | undefined, ctx?: LookupContext): Promise<ResolvedKeys> {
    if (this.#closed) throw new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
    if (!this.#started) this.#start();
    const holder = this.#holder;
    let snap = holder.snapshot;
    const now = this.#o.runtime.clock.monotonicNow();
    const use = holder.usability(now);
    if (use === 'stale') holder.noteStale(now);
    else if (use === 'expired') snap = await this.#awaitLoad();
    const s = selectKeys(snap!, kid, alg);
    switch (s.kind) {
      case 'found':
        this.#stats.hits++;
        return { kid, keys: s.keys, generation: snap!.generation };
      case 'alg-mismatch':
        this.#stats.hits++;
        throw selectionError(s, alg);
      case 'kid-required':
        throw selectionError(s, alg);
      default:
        this.#stats.misses++;
        return this.#gate.lookup(kid!, alg, ctx?.clientId);
    }
  }

  /** Cold start or expired keys: join the in-flight load, or start one if backoff allows. */
  async #awaitLoad(): Promise<Snapshot> {
    const r = this.#refresher;
    if (!r.inflight) {
      if (r.attempts === 0) void r.start('initial');
      else r.tryBudgeted(this.#holder.snapshot ? 'stale' : 'retry');
    }
    await this.#awaitFirstLoad();
    const s = this.#holder.usable();
    if (s) return s;
    throw this.#notLoadedError();
  }

  #notLoadedError(): KeysUnavailableError {
    if (this.#closed) return new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
    const b = this.#source.backoff;
    const retryAfterMs = Number.isFinite(b.nextAttemptAt) ? Math.max(0, b.nextAttemptAt - this.#o.runtime.clock.monotonicNow()) : undefined;
    const cause = b.lastError;
    if (this.#holder.snapshot) {
      return new KeysUnavailableError('KEYS_STALE', `keys are older than maxStaleMs and refreshes fail${cause ? ` (${cause.code})` : ''}`, { cause, retryAfterMs });
    }
    return new KeysUnavailableError('KEYS_NOT_LOADED', `no key set loaded yet${cause ? ` (${cause.code}: ${cause.message})` : ''}`, { cause, retryAfterMs });
  }

  // ---------------------------------------------------------------- refresh and introspection

  async refresh(): Promise<RefreshResult> {
    this.#assertOpen();
    this.#start('manual'); // a first call still restores the persisted record
    return this.#refresher.start('manual');
  }

  stats(): JwksCacheStats {
    this.#gate.syncGauges();
    return { ...this.#stats, unknownKid: { ...this.#stats.unknownKid }, fleet: this.#fleet?.stats() };
  }

  snapshot(): SnapshotView | undefined {
    const { clock } = this.#o.runtime;
    return snapshotView(this.#holder, clock.monotonicNow(), clock.wallNow());
  }

  health(): JwksCacheHealth {
    const b = this.#source.backoff;
    return deriveHealth(this.#holder, this.#o.runtime.clock.monotonicNow(), {
      closed: this.#closed,
      consecutiveFailures: b.consecutiveFailures,
      lastErrorCode: b.lastError?.code,
      fleetDegraded: this.#fleet?.degraded === true,
    });
  }
}
