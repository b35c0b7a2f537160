/**
 * Time is data: everything that needs "now" or a timer receives a {@link Clock} and a
 * {@link Scheduler}. These defaults are the only places that touch the globals.
 */

/** Two clocks: monotonic for ages, schedules and backoff; wall for token claims. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never jumps. Used for cache ages, schedules, backoff. */
  monotonicNow(): number;
  /** Milliseconds since the Unix epoch. Used only for `exp`/`nbf`/`iat` and HTTP dates. */
  wallNow(): number;
}

/** An opaque timer handle. */
export type TimerHandle = unknown;

/** Schedules callbacks. The default unrefs its timers so a cache never keeps a process alive. */
export interface Scheduler {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process clocks: `performance.now()` and `Date.now()`. */
export const systemClock: Clock = {
  monotonicNow: () => performance.now(),
  wallNow: () => Date.now(),
};

/** Node timers, unref'd. */
export const systemScheduler: Scheduler = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, Math.min(ms, 2_147_483_647)));
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** Random numbers in [0, 1), injectable so jitter is reproducible in tests. */
export type Random = () => number;
