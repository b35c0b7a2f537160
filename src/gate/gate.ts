/**
 * The unknown-kid gate: what happens to a lookup for a kid absent from the current key set
 * (and to a signature recheck on a known kid). The negative cache answers repeated kids; the
 * rest wait in a bounded, frequency-aware waiting room for the next budgeted load, or, for a
 * popular kid (a real new key), for a load paid by the priority allowance. Every
 * decision comes from `decide.ts` (pure); this class gathers the state, carries decisions out
 * and keeps the stats and events (`unknownKid`).
 *
 * Waiters are settled by record VERSION (`settleWaiter`), not by local start times, so a
 * record that another process fetched can answer them once it is installed.
 */
import type { JwksCacheStats, ResolvedKeys } from '../core/api.js';
import type { KeyHolder } from '../core/holder.js';
import type { KeySetRecord, VersionClock } from '../core/record.js';
import { selectKeys } from '../core/select.js';
import { KeysUnavailableError, TokenInvalidError, sanitizeForLog } from '../errors.js';
import type { RefreshReason, SafeEmitter, UnknownKidDecision } from '../events.js';
import type { SupportedAlg } from '../jwks/validate.js';
import { RecentFrequency } from '../policy/frequency.js';
import type { PriorityConfig } from '../policy/priority.js';
import { PopularityTracker, PriorityAllowance } from '../policy/priority.js';
import type { Waiter } from '../policy/waiting-room.js';
import { WaitingRoom } from '../policy/waiting-room.js';
import type { Clock, Random, Scheduler, TimerHandle } from '../runtime/clock.js';
import type { ArrivalState, GateDecisionConfig, NegativeEntry, RecheckState } from './decide.js';
import { decideRecheck, decideUnknownKid, settleWaiter, waiterTimesOut } from './decide.js';

/** Bounds of the gate (see `UnknownKidOptions`). */
export interface GateConfig extends GateDecisionConfig {
  readonly negativeCacheSize: number;
  readonly maxWaiters: number;
  readonly maxWaitersPerClient: number;
  /** The priority path (`burst` 0: off). */
  readonly priority: PriorityConfig;
}

/** The refresh side the gate asks. */
export interface GateRefresher {
  readonly inflight: boolean;
  /** When a budgeted load may start. */
  readyAt(now: number): number;
  /** Start a budgeted load if permitted now. */
  tryBudgeted(reason: RefreshReason): boolean;
  /** When the backoff permits a load (the priority allowance is the gate's own). */
  backoffReadyAt(now: number): number;
  /** Start a load that does not spend the shared budget (the gate paid its priority allowance), if the backoff permits one now. */
  tryPriority(): boolean;
  /** The last refresh failure, if the last attempt failed. */
  readonly lastError: KeysUnavailableError | undefined;
}

/** What the gate needs. */
export interface GateDeps {
  readonly cfg: GateConfig;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  readonly holder: KeyHolder;
  readonly versions: VersionClock;
  readonly stats: JwksCacheStats;
  readonly emitter: SafeEmitter;
  readonly refresher: GateRefresher;
}

/** A waiter of the room: a lookup plus its version mark. */
type GateWaiter = Waiter<ResolvedKeys> & { readonly after: number };

const notFound = (kid: string): TokenInvalidError => new TokenInvalidError('KID_NOT_FOUND', `kid ${sanitizeForLog(kid)} is not in the key set`);

/** The unknown-kid gate of one cache. */
export class UnknownKidGate {
  readonly #d: GateDeps;
  readonly #room: WaitingRoom<ResolvedKeys>;
  readonly #sketch: RecentFrequency;
  readonly #popularity: PopularityTracker;
  readonly #priority: PriorityAllowance;
  /** Kids admitted to the room while popular: candidates for the priority allowance (at most `maxWaiters`). */
  readonly #popularWaiting = new Set<string>();
  readonly #negative = new Map<string, NegativeEntry>();
  #recheck: RecheckState | undefined;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #closed = false;

  constructor(deps: GateDeps) {
    this.#d = deps;
    this.#room = new WaitingRoom(deps.cfg.maxWaiters, deps.cfg.maxWaitersPerClient);
    this.#sketch = new RecentFrequency(Math.max(1024, 16 * deps.cfg.maxWaiters), deps.random);
    this.#popularity = new PopularityTracker(deps.cfg.priority, deps.random);
    this.#priority = new PriorityAllowance(deps.cfg.priority, deps.clock.monotonicNow());
  }

  /** When the priority allowance (and the backoff) permits a load for `kid`: `Infinity` unless it is popular and has not spent it in this generation. */
  #priorityReadyAt(kid: string, popular: boolean, now: number): number {
    if (!popular || !this.#priority.eligible(kid, this.#d.holder.generation)) return Infinity;
    return Math.max(this.#priority.readyAt(now), this.#d.refresher.backoffReadyAt(now));
  }

  /** Spend the priority allowance for `kid` and start a load, if both permit it now. */
  #tryPriority(kid: string): boolean {
    const r = this.#d.refresher;
    if (r.inflight || this.#closed) return false;
    const now = this.#now();
    if (this.#priorityReadyAt(kid, true, now) > now || !r.tryPriority()) return false;
    this.#priority.spend(kid, now, this.#d.holder.generation);
    return true;
  }

  /** Remember a popular waiting kid; bounded by the kids in the room. */
  #notePopularWaiting(kid: string): void {
    const set = this.#popularWaiting;
    if (set.has(kid)) return;
    if (set.size >= this.#d.cfg.maxWaiters) for (const k of set) if (!this.#room.has(k)) set.delete(k);
    if (set.size < this.#d.cfg.maxWaiters) set.add(kid);
  }

  #now(): number {
    return this.#d.clock.monotonicNow();
  }

  #decide(kid: string, decision: UnknownKidDecision, clientId: string | undefined): void {
    this.#d.stats.unknownKid[decision]++;
    if (this.#d.emitter.has('unknownKid')) this.#d.emitter.emit('unknownKid', { kid: sanitizeForLog(kid), decision, clientId });
  }

  /** Count a token refused by a cheap pre-check before any lookup. */
  notePregateReject(kid: string | undefined, clientId?: string): void {
    this.#decide(kid ?? '', 'pregate-reject', clientId);
  }

  /** The key material changed: what was confirmed absent may be there now. */
  clearNegative(): void {
    this.#negative.clear();
  }

  /** A lookup for `kid`, absent from the current set. */
  lookup(kid: string, alg: SupportedAlg | undefined, clientId: string | undefined): Promise<ResolvedKeys> {
    return this.#enter(kid, alg, clientId, false);
  }

  #enter(kid: string, alg: SupportedAlg | undefined, clientId: string | undefined, needsNewFetch: boolean): Promise<ResolvedKeys> {
    const d = this.#d;
    const now = this.#now();
    const r = d.refresher;
    const negative = needsNewFetch ? undefined : this.#negative.get(kid);
    const state: { -readonly [K in keyof ArrivalState]: ArrivalState[K] } = {
      negative,
      generation: d.holder.generation,
      needsNewFetch,
      admission: 'not-asked',
      inflight: r.inflight,
      readyAt: r.readyAt(now),
      frequency: 0,
      priorityReadyAt: Infinity,
    };
    let decision = decideUnknownKid(state, now, d.cfg);
    if (decision.kind === 'negative-hit') {
      this.#decide(kid, 'negative-hit', clientId);
      return Promise.reject(notFound(kid));
    }
    if (negative) this.#negative.delete(kid);
    const frequency = (state.frequency = this.#sketch.add(kid));
    // a sighting for the priority path (signature rechecks are about known kids: never popular)
    const popular = !needsNewFetch && d.cfg.priority.burst > 0 && this.#popularity.observe(kid, clientId, now);
    state.priorityReadyAt = this.#priorityReadyAt(kid, popular, now);
    return new Promise<ResolvedKeys>((resolve, reject) => {
      const w: GateWaiter = {
        kid,
        clientId,
        arrivedAt: now,
        deadline: now + d.cfg.maxWaitMs,
        needsNewFetch,
        after: d.versions.last,
        resolve: () => {
          const snap = d.holder.snapshot;
          const s = snap ? selectKeys(snap, kid, alg) : undefined;
          if (s?.kind !== 'found') reject(new TokenInvalidError('KEY_ALG_MISMATCH', `the key for this kid cannot verify ${String(alg)}`));
          else resolve({ kid, keys: s.keys, generation: snap!.generation });
        },
        reject,
      };
      const admission = this.#room.admit(w, frequency, popular);
      if (admission.admitted && popular) this.#notePopularWaiting(kid);
      if (admission.admitted && admission.evicted) {
        const e = admission.evicted;
        this.#decide(e.kid, 'evicted', e.clientId);
        e.reject(new KeysUnavailableError('UNKNOWN_KID_CAPACITY', 'displaced from the unknown-kid waiting room by a more frequently requested kid'));
      }
      state.admission = admission.admitted ? 'admitted' : 'full';
      decision = decideUnknownKid(state, now, d.cfg);
      switch (decision.kind) {
        case 'capacity-reject':
          this.#decide(kid, 'capacity-reject', clientId);
          reject(new KeysUnavailableError('UNKNOWN_KID_CAPACITY', `too many lookups are waiting for unknown kids (${admission.admitted ? 'capacity' : admission.reason})`, { retryAfterMs: decision.retryAfterMs }));
          return;
        case 'joined':
          this.#syncGauges();
          this.#decide(kid, 'joined', clientId);
          return;
        case 'refetch':
          this.#syncGauges();
          this.#decide(kid, 'refetch', clientId);
          r.tryBudgeted(needsNewFetch ? 'signature-failure' : 'unknown-kid');
          return;
        case 'priority-refetch':
          this.#syncGauges();
          this.#decide(kid, 'priority-refetch', clientId);
          this.#tryPriority(kid);
          return;
        case 'wait-timeout':
          this.#room.sweep((_k, x) => x === w);
          this.#syncGauges();
          this.#decide(kid, 'wait-timeout', clientId);
          reject(this.#waitTimeoutError(decision.retryAfterMs));
          return;
        default:
          this.#syncGauges();
          this.#decide(kid, 'waited', clientId);
          if (decision.kind === 'waited' && decision.armAt !== undefined) this.#arm(decision.armAt);
      }
    });
  }

  #waitTimeoutError(retryAfterMs: number): KeysUnavailableError {
    return new KeysUnavailableError('UNKNOWN_KID_WAIT_TIMEOUT', 'no JWKS refresh can start within maxWaitMs for this unknown kid', {
      retryAfterMs,
      cause: this.#d.refresher.lastError,
    });
  }

  #arm(at: number): void {
    if (this.#timerAt <= at) return;
    this.#d.scheduler.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#d.scheduler.setTimeout(() => {
      this.#timerAt = Infinity;
      this.#timer = undefined;
      this.#serve();
    }, at - this.#now());
  }

  /**
   * Start a load for the room if one is permitted now (the shared budget first, then the
   * priority allowance for a popular waiting kid), else re-arm for the earliest; time out
   * waiters that cannot be served before their deadline.
   */
  #serve(): void {
    const r = this.#d.refresher;
    if (this.#closed || this.#room.size === 0 || r.inflight) return;
    const now = this.#now();
    const readyAt = r.readyAt(now);
    // popular waiting kids that may still spend the priority allowance, and when
    const popularAt = new Map<string, number>();
    let priorityKid: string | undefined;
    let priorityAt = Infinity;
    for (const kid of this.#popularWaiting) {
      if (!this.#room.has(kid)) {
        this.#popularWaiting.delete(kid);
        continue;
      }
      const at = this.#priorityReadyAt(kid, true, now);
      popularAt.set(kid, at);
      if (at < priorityAt) {
        priorityAt = at;
        priorityKid = kid;
      }
    }
    this.#room.sweep((kid, w) => {
      const at = Math.min(readyAt, popularAt.get(kid) ?? Infinity);
      if (!waiterTimesOut(w.deadline, at)) return false;
      this.#decide(kid, 'wait-timeout', w.clientId);
      w.reject(this.#waitTimeoutError(at - now));
      return true;
    });
    this.#syncGauges();
    if (this.#room.size === 0) return;
    if (r.tryBudgeted('unknown-kid')) return;
    if (priorityKid !== undefined && this.#room.has(priorityKid) && this.#tryPriority(priorityKid)) {
      this.#decide(priorityKid, 'priority-refetch', undefined);
      return;
    }
    this.#arm(Math.min(readyAt, priorityAt));
  }

  /**
   * A load ended (`record`: the record installed by it, or undefined after a failure): settle
   * the waiters the record answers, negative-cache kids it confirmed absent, serve the rest.
   */
  settle(record: KeySetRecord | undefined): void {
    if (this.#closed) return;
    const snap = this.#d.holder.snapshot;
    if (record && snap) {
      const rec = this.#recheck;
      if (rec && !rec.settled && record.version > rec.after) this.#recheck = { ...rec, settled: true };
      this.#room.sweep((kid, w) => {
        const keys = snap.byKid.get(kid);
        const outcome = settleWaiter(w as GateWaiter, record.version, keys !== undefined && keys.length > 0);
        if (outcome === 'keep') return false;
        this.#decide(kid, outcome, w.clientId);
        if (outcome === 'found') {
          w.resolve({ kid, keys: keys!, generation: snap.generation });
        } else {
          this.#rememberAbsent(kid, snap.generation);
          w.reject(notFound(kid));
        }
        return true;
      });
    }
    this.#syncGauges();
    this.#serve();
  }

  #rememberAbsent(kid: string, generation: number): void {
    const size = this.#d.cfg.negativeCacheSize;
    if (size === 0) return;
    if (this.#negative.size >= size && !this.#negative.has(kid)) {
      const oldest = this.#negative.keys().next().value;
      if (oldest !== undefined) this.#negative.delete(oldest);
    }
    this.#negative.set(kid, { generation, at: this.#now() });
  }

  /**
   * After a signature failed with every candidate of a known kid: at most one refresh per
   * generation (budgeted); failures until it completes wait for the same one.
   */
  async recheck(kid: string, alg: SupportedAlg, seenGeneration: number, clientId: string | undefined): Promise<ResolvedKeys | undefined> {
    const d = this.#d;
    const step = decideRecheck(this.#recheck, seenGeneration, d.holder.generation);
    if (step === 'done') return undefined;
    if (step !== 'newer-set') {
      if (step === 'open') {
        d.stats.signatureRefreshes++;
        this.#recheck = { generation: seenGeneration, after: d.versions.last, settled: false };
      }
      try {
        await this.#enter(kid, alg, clientId, true);
      } catch (err) {
        if (err instanceof TokenInvalidError && err.code === 'KID_NOT_FOUND') throw err;
        return undefined; // keys unavailable or no room: the signature failure stands
      }
    }
    const snap = d.holder.snapshot;
    if (!snap || snap.generation === seenGeneration) return undefined;
    const s = selectKeys(snap, kid, alg);
    return s.kind === 'found' ? { kid, keys: s.keys, generation: snap.generation } : undefined;
  }

  #syncGauges(): void {
    const s = this.#d.stats;
    s.waiters = this.#room.size;
    if (this.#room.size > s.peakWaiters) s.peakWaiters = this.#room.size;
    s.waitingKids = this.#room.kidCount;
    s.waitingClients = this.#room.clientCount;
    s.negativeEntries = this.#negative.size;
  }

  /** Refresh the gauges in the stats object. */
  syncGauges(): void {
    this.#syncGauges();
  }

  /** Stop the timer and reject every waiter with `CLOSED`. */
  close(): void {
    this.#closed = true;
    this.#d.scheduler.clearTimeout(this.#timer);
    this.#timer = undefined;
    const err = new KeysUnavailableError('CLOSED', 'the JWKS cache was closed');
    for (const w of this.#room.drain()) w.reject(err);
    this.#syncGauges();
  }
}
