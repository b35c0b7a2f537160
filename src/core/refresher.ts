/**
 * The refresher: runs loads of the source pipeline and applies their outcome. It owns the
 * refresh schedule (refresh-ahead after a success, retry after a failure), joins concurrent
 * `refresh()` calls to one operation so they share one `RefreshResult`, hands fetched records
 * to the holder, and reports stats and the `refresh.*` events.
 */
import type { JwksCacheStats, RefreshResult } from './api.js';
import type { KeyHolder } from './holder.js';
import type { KeySetRecord } from './record.js';
import { KeysUnavailableError } from '../errors.js';
import type { RefreshReason, SafeEmitter } from '../events.js';
import { backgroundRefreshAt } from '../policy/refresh.js';
import type { Clock, Random, Scheduler, TimerHandle } from '../runtime/clock.js';
import type { ComposedSource } from '../source/compose.js';
import { LoadRefusedError, PRIORITY_REASON } from '../source/types.js';

/** What the refresher needs. */
export interface RefresherDeps {
  readonly source: ComposedSource;
  readonly holder: KeyHolder;
  readonly stats: JwksCacheStats;
  readonly emitter: SafeEmitter;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly random: Random;
  /** Save an installed record (persistence); never throws. */
  readonly persist: (record: KeySetRecord) => void;
  /** Called after every operation (success, failure or refusal), once nothing is in flight. */
  readonly settled: (record: KeySetRecord | undefined) => void;
}

interface Operation {
  readonly reason: RefreshReason;
  readonly controller: AbortController;
  readonly promise: Promise<RefreshResult>;
}

/** Runs and schedules refreshes. */
export class Refresher {
  readonly #d: RefresherDeps;
  #op: Operation | undefined;
  #bgTimer: TimerHandle | undefined;
  #attempts = 0;
  #closed = false;

  constructor(deps: RefresherDeps) {
    this.#d = deps;
  }

  /** True while an operation runs. */
  get inflight(): boolean {
    return this.#op !== undefined;
  }

  /** The promise of the operation in flight, if any. */
  get running(): Promise<RefreshResult> | undefined {
    return this.#op?.promise;
  }

  /** Requests sent so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Count a request about to be sent and announce it (called by the leaf's observer). */
  noteRequest(reason: RefreshReason): void {
    this.#attempts++;
    this.#d.stats.fetches++;
    this.#d.emitter.emit('refresh.started', { reason, attempt: this.#attempts });
  }

  /** When a budgeted refresh may start (backoff and budget). */
  readyAt(now: number): number {
    return this.#d.source.readyAt(now);
  }

  /** Start an operation now, or join the one in flight. Unbudgeted for `initial` and `manual`. */
  start(reason: RefreshReason): Promise<RefreshResult> {
    if (this.#op) return this.#op.promise;
    if (this.#closed) {
      return Promise.resolve({ ok: false, generation: this.#d.holder.generation, changed: false, error: new KeysUnavailableError('CLOSED', 'closed') });
    }
    this.#d.scheduler.clearTimeout(this.#bgTimer);
    this.#bgTimer = undefined;
    const controller = new AbortController();
    let resolve!: (r: RefreshResult) => void;
    const op: Operation = { reason, controller, promise: new Promise<RefreshResult>((r) => (resolve = r)) };
    // registered first: waiters are settled before callers of refresh() resume
    void op.promise.then((result) => {
      if (this.#op === op) this.#op = undefined;
      if (!this.#closed) this.#d.settled(result.ok ? this.#d.holder.record : undefined);
    });
    this.#op = op;
    void this.#run(reason, controller.signal).then(resolve);
    return op.promise;
  }

  /**
   * Start a budgeted refresh if nothing is in flight and the backoff and budget permit one
   * now. Every attempt except the first load and an explicit `refresh()` goes through here,
   * so background refreshes, retries, stale revalidation and unknown-kid refreshes together
   * stay within one budget.
   */
  tryBudgeted(reason: RefreshReason): boolean {
    if (this.#op || this.#closed) return false;
    const now = this.#d.clock.monotonicNow();
    if (this.readyAt(now) > now) return false;
    void this.start(reason);
    return true;
  }

  /** When the backoff permits a load (the priority allowance's own bucket is the gate's). */
  backoffReadyAt(now: number): number {
    return Math.max(now, this.#d.source.backoff.nextAttemptAt);
  }

  /**
   * Start a load paid by the unknown-kid gate's priority allowance, if nothing is in flight
   * and the backoff permits one now. It does not spend the shared budget.
   */
  tryPriority(): boolean {
    if (this.#op || this.#closed) return false;
    const now = this.#d.clock.monotonicNow();
    if (this.backoffReadyAt(now) > now) return false;
    void this.start(PRIORITY_REASON);
    return true;
  }

  async #run(reason: RefreshReason, signal: AbortSignal): Promise<RefreshResult> {
    const d = this.#d;
    try {
      const record = await d.source.load(d.holder.record, reason, signal);
      if (this.#closed) throw new KeysUnavailableError('CLOSED', 'closed');
      if (record.provenance.kind === 'not-modified') d.stats.notModified++;
      else if (record.provenance.kind === 'modified') d.stats.fetchesModified++;
      d.stats.consecutiveFailures = 0;
      // a record read from a shared store is another instance's: aged by its fetchedAt
      const { installed, changed, generation } = d.holder.accept(record, record.provenance.kind === 'decoded' ? 'shared' : 'fetch');
      const current = d.holder.record;
      if (installed && current) d.persist(current);
      this.#scheduleFor(record, record.provenance.kind === 'decoded');
      d.emitter.emit('refresh.succeeded', {
        reason,
        modified: changed,
        notModified304: record.provenance.kind === 'not-modified',
        durationMs: record.provenance.kind === 'decoded' ? 0 : record.provenance.durationMs,
        generation,
        freshForMs: record.freshForMs,
      });
      return { ok: true, generation, changed, error: undefined };
    } catch (e) {
      return this.#failed(e, reason);
    }
  }

  #failed(e: unknown, reason: RefreshReason): RefreshResult {
    const d = this.#d;
    const generation = d.holder.generation;
    if (e instanceof LoadRefusedError) {
      // nothing was sent: try again when the refusing layer expects to say yes
      if (!this.#closed && (reason === 'scheduled' || reason === 'retry')) this.#schedule(e.readyAt, reason);
      const err = new KeysUnavailableError('UNKNOWN_KID_WAIT_TIMEOUT', `refresh not permitted before ${Math.round(e.readyAt)} (${e.by})`, { retryAfterMs: Math.max(0, e.readyAt - d.clock.monotonicNow()) });
      return { ok: false, generation, changed: false, error: err };
    }
    const err =
      e instanceof KeysUnavailableError ? e : new KeysUnavailableError('JWKS_NETWORK', `unexpected refresh failure: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    if (this.#closed) return { ok: false, generation, changed: false, error: err };
    const now = d.clock.monotonicNow();
    const b = d.source.backoff;
    d.stats.failures++;
    d.stats.consecutiveFailures = b.consecutiveFailures;
    d.holder.rearmStaleNotice();
    this.#schedule(b.nextAttemptAt, 'retry');
    d.emitter.emit('refresh.failed', {
      reason,
      code: err.code,
      message: err.message,
      status: err.upstreamStatus,
      consecutiveFailures: b.consecutiveFailures,
      staleForMs: d.holder.snapshot ? Math.max(0, now - d.holder.freshUntil) : undefined,
      nextAttemptInMs: b.lastDelayMs,
    });
    return { ok: false, generation, changed: false, error: err };
  }

  /** Refresh ahead of `record`'s freshness (its age counted when it came from elsewhere). */
  #scheduleFor(record: KeySetRecord, aged: boolean): void {
    const d = this.#d;
    const now = d.clock.monotonicNow();
    const ageMs = aged ? Math.max(0, d.clock.wallNow() - record.fetchedAt) : 0;
    this.#schedule(Math.max(now, backgroundRefreshAt(now, record.freshForMs, d.random()) - ageMs), 'scheduled');
  }

  /**
   * A record installed from outside a load (fleet broadcast): the next background refresh is
   * due ahead of ITS freshness, so instances that received it do not refresh on their old
   * schedule (one request per refresh window for the whole fleet).
   */
  scheduleAhead(record: KeySetRecord): void {
    if (this.#op || this.#closed) return;
    this.#scheduleFor(record, true);
  }

  #schedule(at: number, reason: RefreshReason): void {
    if (this.#closed) return;
    const d = this.#d;
    d.scheduler.clearTimeout(this.#bgTimer);
    this.#bgTimer = d.scheduler.setTimeout(
      () => {
        this.#bgTimer = undefined;
        if (this.#op || this.tryBudgeted(reason)) return;
        this.#schedule(this.readyAt(d.clock.monotonicNow()), reason);
      },
      Math.max(0, at - d.clock.monotonicNow()),
    );
  }

  /** Stop the schedule and abort the operation in flight; resolves when it has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#d.scheduler.clearTimeout(this.#bgTimer);
    this.#bgTimer = undefined;
    const op = this.#op;
    op?.controller.abort();
    if (op) await op.promise.catch(() => undefined);
  }
}
