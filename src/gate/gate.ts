/**
 * The unknown-kid gate: what happens to a lookup for a kid absent from the current key set
 * (and to a signature recheck on a known kid). The negative cache answers repeated kids; the
 * rest wait in a bounded, frequency-aware waiting room for the next budgeted load. Every
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
}

/** The refresh side the gate asks. */
export interface GateRefresher {
  readonly inflight: boolean;
  /** When a budgeted load may start. */
  readyAt(now: number): number;
  /** Start a budgeted load if permitted now. */
  tryBudgeted(reason: RefreshReason): boolean;
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
  readonly #negative = new Map<string, NegativeEntry>();
  #recheck: RecheckState | undefined;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #closed = false;

  constructor(deps: GateDeps) {
    this.#d = deps;
    this.#room = new WaitingRoom(deps.cfg.maxWaiters, deps.cfg.maxWaitersPerClient);
    this.#sketch = new RecentFrequency(Math.max(1024, 16 * deps.cfg.maxWaiters), deps.random);
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
    };
    let decision = decideUnknownKid(state, now, d.cfg);
    if (decision.kind === 'negative-hit') {
      this.#decide(kid, 'negative-hit', clientId);
      return Promise.reject(notFound(kid));
    }
    if (negative) this.#negative.delete(kid);
    const frequency = (state.frequency = this.#sketch.add(kid));
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
      const admission = this.#room.admit(w, frequency);
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

  /** Start a budgeted load for the room if permitted now, else re-arm; time out waiters that cannot be served. */
  #serve(): void {
    const r = this.#d.refresher;
    if (this.#closed || this.#room.size === 0 || r.inflight) return;
    const now = this.#now();
    const readyAt = r.readyAt(now);
    this.#room.sweep((kid, w) => {
      if (!waiterTimesOut(w.deadline, readyAt)) return false;
      this.#decide(kid, 'wait-timeout', w.clientId);
      w.reject(this.#waitTimeoutError(readyAt - now));
      return true;
    });
    this.#syncGauges();
    if (this.#room.size === 0) return;
    if (!r.tryBudgeted('unknown-kid')) this.#arm(readyAt);
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
