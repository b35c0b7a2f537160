/**
 * Traffic drivers. They run inside the library's own process (no IPC per token): a valid
 * stream (open loop at a fixed rate, tokens from a pre-minted pool), a paced flood (a fixed
 * number of attacker requests in flight, capped at a rate) and a max-rate flood (open loop,
 * as fast as the event loop allows, bounded in-flight). Attacker tokens are built by string
 * concatenation (see AttackerTokens), about a microsecond each.
 */
import { performance } from 'node:perf_hooks';
import type { AdapterInstance } from './adapters.js';
import { errorCode } from './adapters.js';
import type { AttackerTokens } from './keys.js';

/** Real monotonic milliseconds (captured before any time simulation patches the global). */
const realNow: () => number = performance.now.bind(performance);
export const nowMs = (): number => realNow();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface ValidRecord {
  /** Send time, ms from the scenario's origin. */
  sent: number;
  /** Settle time, ms from the origin (NaN while pending). */
  done: number;
  ok: boolean;
  /** Which key signed it ('old', 'new', ...). */
  key: string;
  code: string | undefined;
}

/** Valid tokens at a fixed rate, open loop: a slow verification never slows the sender. */
export class ValidStream {
  readonly records: ValidRecord[] = [];
  #pool: string[] = [];
  #label = '';
  #idx = 0;
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #sent = 0;
  #pending = 0;
  #idle: (() => void) | undefined;

  constructor(
    readonly adapter: AdapterInstance,
    readonly perSec: number,
    readonly origin: number,
  ) {}

  /** Switch the signing key: tokens sent from now on come from this pool. */
  use(label: string, pool: string[]): void {
    this.#label = label;
    this.#pool = pool;
    this.#idx = 0;
  }

  get label(): string {
    return this.#label;
  }

  start(): void {
    this.#startedAt = nowMs();
    this.#sent = 0;
    this.#timer = setInterval(() => this.#tick(), 5);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves when every sent token has settled, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.#pending === 0) return;
    await Promise.race([new Promise<void>((r) => (this.#idle = r)), sleep(timeoutMs)]);
  }

  #tick(): void {
    const due = Math.floor(((nowMs() - this.#startedAt) * this.perSec) / 1000);
    while (this.#sent < due) {
      this.#sent++;
      this.send();
    }
  }

  /** Send one token now. */
  send(): void {
    const token = this.#pool[this.#idx++ % this.#pool.length]!;
    const rec: ValidRecord = { sent: nowMs() - this.origin, done: NaN, ok: false, key: this.#label, code: undefined };
    this.records.push(rec);
    this.#pending++;
    this.adapter.verify(token).then(
      () => {
        rec.ok = true;
        rec.done = nowMs() - this.origin;
        this.#settle();
      },
      (err: unknown) => {
        rec.code = errorCode(err);
        rec.done = nowMs() - this.origin;
        this.#settle();
      },
    );
  }

  #settle(): void {
    if (--this.#pending === 0 && this.#idle) {
      const f = this.#idle;
      this.#idle = undefined;
      f();
    }
  }
}

/** Counters of attacker traffic. */
export interface FloodStats {
  sent: number;
  settled: number;
  accepted: number;
  codes: Record<string, number>;
  peakInflight: number;
  /** Settled per second (index = second from the origin). */
  perSecond: number[];
}

abstract class FloodBase {
  readonly stats: FloodStats = { sent: 0, settled: 0, accepted: 0, codes: {}, peakInflight: 0, perSecond: [] };
  protected inflight = 0;
  protected running = false;
  #idle: (() => void) | undefined;

  constructor(
    readonly adapter: AdapterInstance,
    readonly tokens: AttackerTokens,
    readonly origin: number,
  ) {}

  protected dispatch(): void {
    this.stats.sent++;
    this.inflight++;
    if (this.inflight > this.stats.peakInflight) this.stats.peakInflight = this.inflight;
    this.adapter.verify(this.tokens.next()).then(
      () => {
        this.stats.accepted++;
        this.#settle();
      },
      (err: unknown) => {
        const c = errorCode(err);
        this.stats.codes[c] = (this.stats.codes[c] ?? 0) + 1;
        this.#settle();
      },
    );
  }

  #settle(): void {
    this.inflight--;
    this.stats.settled++;
    const s = Math.floor((nowMs() - this.origin) / 1000);
    if (s >= 0) this.stats.perSecond[s] = (this.stats.perSecond[s] ?? 0) + 1;
    this.onSettle();
    if (this.inflight === 0 && this.#idle) {
      const f = this.#idle;
      this.#idle = undefined;
      f();
    }
  }

  protected onSettle(): void {}

  stop(): void {
    this.running = false;
  }

  get pending(): number {
    return this.inflight;
  }

  async drain(timeoutMs: number): Promise<void> {
    if (this.inflight === 0) return;
    await Promise.race([new Promise<void>((r) => (this.#idle = r)), sleep(timeoutMs)]);
  }
}

/**
 * The flood of the rotation scenarios: up to `concurrency` attacker requests in flight, a new
 * one as soon as one settles, capped at `perSec` so several runs can share two cores.
 */
export class PacedFlood extends FloodBase {
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #dispatchedAtStart = 0;

  constructor(
    adapter: AdapterInstance,
    tokens: AttackerTokens,
    origin: number,
    readonly concurrency: number,
    readonly perSec: number,
  ) {
    super(adapter, tokens, origin);
  }

  start(): void {
    this.running = true;
    this.#startedAt = nowMs();
    this.#dispatchedAtStart = this.stats.sent;
    this.#timer = setInterval(() => this.#pump(), 10);
  }

  #pump(): void {
    if (!this.running) return;
    const allowed = Math.floor(((nowMs() - this.#startedAt) * this.perSec) / 1000) - (this.stats.sent - this.#dispatchedAtStart);
    for (let i = 0; i < allowed && this.inflight < this.concurrency; i++) this.dispatch();
  }

  #scheduled = false;

  /** Refill freed slots on the next turn of the event loop, never from inside a settle callback: a chain of promise callbacks would otherwise starve timers. */
  protected override onSettle(): void {
    if (!this.running || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  override stop(): void {
    super.stop();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** As many attacker tokens as the process takes: open loop, at most `maxInflight` pending. */
export class MaxFlood extends FloodBase {
  constructor(
    adapter: AdapterInstance,
    tokens: AttackerTokens,
    origin: number,
    readonly maxInflight: number,
  ) {
    super(adapter, tokens, origin);
  }

  start(): void {
    this.running = true;
    const loop = (): void => {
      if (!this.running) return;
      for (let i = 0; i < 256 && this.inflight < this.maxInflight; i++) this.dispatch();
      setImmediate(loop);
    };
    setImmediate(loop);
  }
}

/** Peak RSS of this process, sampled every 100 ms between `start` and `stop` (MiB). */
export class RssSampler {
  peak = 0;
  #timer: NodeJS.Timeout | undefined;
  start(): void {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 100);
  }
  #sample(): void {
    const r = process.memoryUsage.rss() / 1048576;
    if (r > this.peak) this.peak = r;
  }
  stop(): number {
    this.#sample();
    if (this.#timer) clearInterval(this.#timer);
    return Math.round(this.peak);
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Count times into buckets of `widthMs` starting at `fromMs`. */
export function buckets(times: number[], fromMs: number, toMs: number, widthMs = 1000): number[] {
  const n = Math.max(0, Math.ceil((toMs - fromMs) / widthMs));
  const out = new Array<number>(n).fill(0);
  for (const t of times) {
    const i = Math.floor((t - fromMs) / widthMs);
    if (i >= 0 && i < n) out[i]!++;
  }
  return out;
}

/** CPU time used by this process since `since` (ms). */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return Math.round((d.user + d.system) / 1000);
}
