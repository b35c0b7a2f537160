/**
 * Fleet mode in the cache: the shared-store layer of the source pipeline (between single
 * flight and backoff, see `source/shared.ts`), the fleet-wide refresh budget, and the
 * rotation broadcast.
 *
 * A load (one per process at a time: single flight is above):
 *   1. reads the shared record: one newer (by version) than ours and still fresh answers the
 *      load with no request and no budget;
 *   2. else takes the lease lock; the holder reads once more (someone may have published in
 *      between), then loads from below (backoff, budget, the HTTP leaf) and publishes the
 *      record (compare-and-set; the store broadcasts its version) before releasing the lease;
 *   3. an instance that found the lock held waits for the holder's record (at most `maxWaitMs`,
 *      the unknown-kid wait) and does not fetch; if none comes (the holder failed, died or was
 *      slow), it loads from below itself, still within the budget.
 * A broadcast of a version newer than ours is read, checked and installed (origin
 * `broadcast`), which answers this instance's unknown-kid waiters too.
 *
 * Every shared record is decoded with the persistence codec (HMAC under the fleet secret,
 * bound to this URL, not too old), its MAC'd version must equal the version it is stored
 * under (no replay of an old record under a new number), and its keys are validated as if
 * fetched: the store can make us miss a coordination, never accept a key. Every store call is
 * bounded; any failure means local-only for that step. Degradation and recovery are reported
 * (`fleet.degraded`, `fleet.recovered`), refused records too (`fleet.refused`).
 */
import type { KeySetRecord } from '../core/record.js';
import type { SafeEmitter } from '../events.js';
import { sanitizeForLog } from '../errors.js';
import type { ValidateOptions } from '../jwks/validate.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import type { BudgetAnswer, RefreshBudget } from '../source/budget.js';
import type { RecordSource, SourceLayer } from '../source/types.js';
import type { RefreshReason } from '../events.js';
import { persistenceKey } from '../store/codec.js';
import { encodeKeySetRecord } from '../store/records.js';
import { decodeShared } from './decode.js';
import type { StoreLease, StoredRecord } from '../store/contract.js';
import type { FleetRefusal, JwksFleet, JwksFleetStats } from './types.js';

/** What the coordinator needs from the cache. @internal */
export interface FleetDeps {
  readonly fleet: JwksFleet;
  readonly jwksUri: string;
  readonly maxStaleMs: number;
  readonly validation: ValidateOptions;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly emitter: SafeEmitter;
  /** Lease of the distributed lock, ms: covers the budget take, the fetch and the publish. */
  readonly lockTtlMs: number;
  /** Longest wait for another instance's record, ms (the unknown-kid `maxWaitMs`). */
  readonly maxWaitMs: number;
  /** Bound on every store call, ms (the store may bound its calls more tightly itself). */
  readonly callTimeoutMs: number;
  /** The budget's parameters, for a fleet-wide bucket. */
  readonly budget: { readonly burst: number; readonly cooldownMs: number };
}

/** How the coordinator reaches the cache's current record and installs broadcast records. @internal */
export interface FleetHooks {
  current(): KeySetRecord | undefined;
  /** Install a record announced by another instance (origin `broadcast`), settle waiters. */
  offer(record: KeySetRecord): void;
}

/** Refusals after which the record is removed from the store (only a forger writes them). */
const REMOVABLE: ReadonlySet<FleetRefusal> = new Set<FleetRefusal>(['malformed', 'tampered', 'foreign', 'version-mismatch', 'from-the-future']);

interface Waiter {
  readonly after: number;
  settle(record: KeySetRecord | undefined): void;
}

function noop(): void {}

/** Fleet mode for one cache. @internal */
export class FleetCoordinator {
  readonly #d: FleetDeps;
  readonly #secret: Buffer;
  readonly #stats: Omit<JwksFleetStats, 'state' | 'degradedMs'> = {
    sharedHits: 0,
    lockWins: 0,
    lockWaits: 0,
    lockWaitTimeouts: 0,
    broadcastsReceived: 0,
    broadcastInstalls: 0,
    published: 0,
    refused: 0,
    storeFailures: 0,
  };
  readonly #waiters = new Set<Waiter>();
  #hooks: FleetHooks | undefined;
  #unsubscribe: Promise<(() => Promise<void>) | undefined> | undefined;
  #offStatus: (() => void) | undefined;
  #reading: { version: number; promise: Promise<KeySetRecord | undefined> } | undefined;
  #degradedSince: number | undefined;
  #degradedTotal = 0;
  #budgetReadyAt = -Infinity;
  #closed = false;

  /** The pipeline layer (give it to `composeSource` as `shared`). */
  readonly layer: SourceLayer;

  constructor(deps: FleetDeps) {
    this.#d = deps;
    this.#secret = persistenceKey(deps.fleet.secret);
    this.layer = (below) => ({ load: (current, reason, signal) => this.#load(below, current, reason, signal) });
  }

  get #key(): string {
    return this.#d.jwksUri;
  }

  get degraded(): boolean {
    return this.#degradedSince !== undefined;
  }

  /** Subscribe to broadcasts and to the store's status. Idempotent. */
  start(hooks: FleetHooks): void {
    if (this.#hooks || this.#closed) return;
    this.#hooks = hooks;
    const f = this.#d.fleet;
    this.#offStatus = f.onStatus?.((c) => (c.state === 'degraded' ? this.#degrade(c.reason, c.message) : this.#recover()));
    if (f.status?.().state === 'degraded') this.#degrade('FLEET_UNAVAILABLE', 'the store is degraded');
    if (f.subscribe) {
      this.#unsubscribe = f.subscribe(this.#key, (v) => this.#onVersion(v)).then(
        (off) => off,
        (err: unknown) => {
          this.#failed(err);
          return undefined;
        },
      );
    }
  }

  stats(): JwksFleetStats {
    const now = this.#d.clock.monotonicNow();
    return {
      state: this.degraded ? 'degraded' : 'connected',
      ...this.#stats,
      degradedMs: this.#degradedTotal + (this.#degradedSince === undefined ? 0 : now - this.#degradedSince),
    };
  }

  // ---------------------------------------------------------------- store calls

  async #call<T>(op: () => Promise<T>): Promise<T> {
    let timer: unknown;
    const deadline = new Promise<never>((_, reject) => {
      timer = this.#d.scheduler.setTimeout(() => reject(Object.assign(new Error(`no answer from the fleet store within ${this.#d.callTimeoutMs} ms`), { code: 'FLEET_TIMEOUT' })), this.#d.callTimeoutMs);
    });
    try {
      const r = await Promise.race([Promise.resolve().then(op), deadline]);
      if (!this.#d.fleet.onStatus) this.#recover();
      return r;
    } catch (err) {
      this.#failed(err);
      throw err;
    } finally {
      this.#d.scheduler.clearTimeout(timer);
    }
  }

  #failed(err: unknown): void {
    this.#stats.storeFailures++;
    // a store with its own status (a circuit breaker) says when the fleet is degraded
    if (!this.#d.fleet.onStatus) {
      const code = (err as { code?: unknown } | null)?.code;
      this.#degrade(typeof code === 'string' ? code : 'FLEET_ERROR', err instanceof Error ? err.message : String(err));
    }
  }

  #degrade(reason: string, message: string): void {
    if (this.#degradedSince !== undefined || this.#closed) return;
    this.#degradedSince = this.#d.clock.monotonicNow();
    this.#d.emitter.emit('fleet.degraded', { reason: sanitizeForLog(reason), message: sanitizeForLog(message, 200) });
  }

  #recover(): void {
    if (this.#degradedSince === undefined || this.#closed) return;
    const degradedForMs = this.#d.clock.monotonicNow() - this.#degradedSince;
    this.#degradedTotal += degradedForMs;
    this.#degradedSince = undefined;
    this.#d.emitter.emit('fleet.recovered', { degradedForMs });
    // broadcasts may have been missed meanwhile
    void this.#readStored(0).then((r) => this.#hand(r), noop);
  }

  // ---------------------------------------------------------------- records

  /** The stored record if its version is greater than `after`, decoded and checked; never rejects. */
  async #readStored(after: number): Promise<KeySetRecord | undefined> {
    let stored: StoredRecord | undefined;
    try {
      stored = await this.#call(() => this.#d.fleet.get(this.#key));
    } catch {
      return undefined;
    }
    if (!stored || !(stored.version > after)) return undefined;
    return this.#decode(stored);
  }

  #decode(stored: StoredRecord): KeySetRecord | undefined {
    const d = this.#d;
    const r = decodeShared(stored, this.#secret, { jwksUri: d.jwksUri, nowWall: d.clock.wallNow(), maxStaleMs: d.maxStaleMs }, d.validation);
    if (typeof r !== 'string') return r;
    this.#stats.refused++;
    d.emitter.emit('fleet.refused', { reason: r, version: stored.version });
    const del = d.fleet.deleteIfVersion;
    if (del && REMOVABLE.has(r)) this.#call(() => del.call(d.fleet, this.#key, stored.version)).catch(noop);
    return undefined;
  }

  /** Fresh by its own fetch time and freshness (a stale shared record never answers a load). */
  #fresh(r: KeySetRecord): boolean {
    return this.#d.clock.wallNow() - r.fetchedAt <= r.freshForMs;
  }

  async #readFresh(after: number): Promise<KeySetRecord | undefined> {
    const r = await this.#readStored(after);
    return r && this.#fresh(r) ? r : undefined;
  }

  async #publish(record: KeySetRecord): Promise<void> {
    const value = encodeKeySetRecord(record, this.#secret);
    try {
      if (await this.#call(() => this.#d.fleet.setIfNewer(this.#key, record.version, value))) this.#stats.published++;
    } catch {
      // local-only: the record is installed here anyway
    }
  }

  // ---------------------------------------------------------------- the layer

  async #load(below: RecordSource, current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal): Promise<KeySetRecord> {
    const after = current?.version ?? 0;
    const f = this.#d.fleet;
    if (this.degraded || this.#closed) return below.load(current, reason, signal);
    const hit = await this.#readFresh(after);
    if (hit) {
      this.#stats.sharedHits++;
      return hit;
    }
    if (!f.lock || this.degraded) return this.#fetch(below, current, reason, signal, undefined);
    let lease: StoreLease | undefined;
    try {
      lease = await this.#call(() => f.lock!(this.#key, this.#d.lockTtlMs));
    } catch {
      return this.#fetch(below, current, reason, signal, undefined);
    }
    if (lease) {
      const late = await this.#readFresh(after);
      if (late) {
        void lease.release().catch(noop);
        this.#stats.sharedHits++;
        return late;
      }
      this.#stats.lockWins++;
      return this.#fetch(below, current, reason, signal, lease);
    }
    this.#stats.lockWaits++;
    const got = await this.#waitNewer(after, signal);
    if (got) return got;
    this.#stats.lockWaitTimeouts++;
    return this.#fetch(below, current, reason, signal, undefined);
  }

  async #fetch(below: RecordSource, current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal, lease: StoreLease | undefined): Promise<KeySetRecord> {
    try {
      const record = await below.load(current, reason, signal);
      if (!this.degraded || !this.#d.fleet.onStatus) await this.#publish(record);
      return record;
    } finally {
      if (lease) void lease.release().catch(noop);
    }
  }

  /** Wait for a record newer than `after` (a broadcast, or one last read at the deadline). */
  #waitNewer(after: number, signal: AbortSignal): Promise<KeySetRecord | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const w: Waiter = {
        after,
        settle: (r) => {
          if (done) return;
          done = true;
          this.#waiters.delete(w);
          this.#d.scheduler.clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = (): void => w.settle(undefined);
      const timer = this.#d.scheduler.setTimeout(() => {
        this.#waiters.delete(w);
        void this.#readFresh(after).then((r) => w.settle(r));
      }, this.#d.maxWaitMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(w);
    });
  }

  // ---------------------------------------------------------------- broadcasts

  #onVersion(version: number): void {
    if (this.#closed || !this.#hooks) return;
    this.#stats.broadcastsReceived++;
    const ours = this.#hooks.current()?.version ?? 0;
    let wanted = version > ours;
    for (const w of this.#waiters) if (version > w.after) wanted = true;
    if (!wanted) return;
    if (this.#reading && this.#reading.version >= version) return;
    const promise = this.#readStored(0);
    const reading = (this.#reading = { version, promise });
    void promise.then((r) => {
      if (this.#reading === reading) this.#reading = undefined;
      this.#hand(r);
    });
  }

  /** Give a stored record to the loads waiting for it, else install it if it is newer than ours. */
  #hand(r: KeySetRecord | undefined): void {
    if (!r || this.#closed || !this.#hooks) return;
    let handed = false;
    for (const w of [...this.#waiters]) {
      if (r.version > w.after) {
        w.settle(r);
        handed = true;
      }
    }
    if (handed) return;
    if (r.version > (this.#hooks.current()?.version ?? 0)) {
      this.#stats.broadcastInstalls++;
      this.#hooks.offer(r);
    }
  }

  // ---------------------------------------------------------------- budget

  /**
   * The refresh budget: the fleet-wide bucket when the store has one and is connected, this
   * instance's own bucket (`local`) when degraded or when a take fails. `readyAt` is a local
   * estimate from the last denial (the shared bucket has the last word).
   */
  budget(local: RefreshBudget): RefreshBudget {
    const f = this.#d.fleet;
    const take = f.take;
    if (!take) return local;
    return {
      tryTake: (now, reason): BudgetAnswer | Promise<BudgetAnswer> => {
        if (this.degraded || this.#closed) return local.tryTake(now, reason);
        return this.#call(() => take.call(f, this.#key, this.#d.budget)).then(
          (r): BudgetAnswer => {
            if (r.taken) return { granted: true };
            this.#budgetReadyAt = now + Math.max(0, r.retryAfterMs);
            return { granted: false, readyAt: this.#budgetReadyAt };
          },
          () => local.tryTake(now, reason),
        );
      },
      readyAt: (now) => (this.degraded ? local.readyAt(now) : Math.max(now, this.#budgetReadyAt)),
    };
  }

  /** Unsubscribe and release waiting loads. The fleet itself stays open (it may serve other caches). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offStatus?.();
    for (const w of [...this.#waiters]) w.settle(undefined);
    const off = await this.#unsubscribe;
    await off?.().catch(noop);
  }
}
