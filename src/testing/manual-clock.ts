import type { Clock, Scheduler, TimerHandle } from '../runtime/clock.js';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock and scheduler driven by the test: time moves only when {@link ManualClock.advance}
 * is called, timers fire in order, and the wall clock can jump independently of the
 * monotonic one.
 */
export class ManualClock implements Clock, Scheduler {
  #mono: number;
  #wallOffset: number;
  #timers = new Map<number, Timer>();
  #nextId = 1;

  /**
   * @param wallStartMs - initial wall time (ms since epoch). Default: 2026-01-01T00:00:00Z.
   */
  constructor(wallStartMs = Date.UTC(2026, 0, 1)) {
    this.#mono = 1_000_000;
    this.#wallOffset = wallStartMs - this.#mono;
  }

  monotonicNow(): number {
    return this.#mono;
  }

  wallNow(): number {
    return this.#mono + this.#wallOffset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#timers.set(id, { id, at: this.#mono + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as number);
  }

  /** Number of pending timers. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** Monotonic time of the next pending timer, or undefined. */
  nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.#timers.values()) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  /** Jump the wall clock only (monotonic time is unaffected), as NTP or an operator would. */
  jumpWall(deltaMs: number): void {
    this.#wallOffset += deltaMs;
  }

  /**
   * Move time forward by `ms`, firing due timers in order and letting promise callbacks
   * (fetch responses, awaiting code) run between them.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#mono + ms;
    for (;;) {
      await flushMicrotasks();
      let due: Timer | undefined;
      for (const t of this.#timers.values()) {
        if (t.at <= target && (due === undefined || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t;
      }
      if (!due) break;
      this.#timers.delete(due.id);
      if (due.at > this.#mono) this.#mono = due.at;
      due.fn();
    }
    this.#mono = target;
    await flushMicrotasks();
  }
}

/** Let queued promise callbacks run (several turns, for chains of awaits). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
  await new Promise<void>((resolve) => setImmediate(resolve));
}
