/**
 * The circuit breaker in front of Redis, as pure functions of (state, now): after
 * `failureThreshold` consecutive failed calls the fleet goes local-only for `openMs`, then one
 * probe decides whether to rejoin. Tested with tables; the store owns the clock and timers.
 */

/** Breaker parameters. */
export interface BreakerConfig {
  /** Consecutive failed calls that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before one probe is allowed, ms. */
  openMs: number;
}

/** Breaker state. `openedAt` is meaningful only when `mode` is `open`. */
export interface BreakerState {
  readonly mode: 'closed' | 'open' | 'probing';
  /** Consecutive failures (reset by any success). */
  readonly failures: number;
  /** Monotonic ms at which the circuit last opened. */
  readonly openedAt: number;
}

/** What to do with a call at `now`. */
export type BreakerVerdict =
  /** Send it. */
  | 'call'
  /** Send it as the one probe of a half-open circuit (the state moves to `probing`). */
  | 'probe'
  /** Refuse it without touching Redis. */
  | 'refuse';

/** A closed circuit with no failures. */
export const breakerInit: BreakerState = { mode: 'closed', failures: 0, openedAt: 0 };

/** Decide a call; returns the verdict and the next state. */
export function breakerAdmit(s: BreakerState, now: number, cfg: BreakerConfig): { verdict: BreakerVerdict; state: BreakerState } {
  if (s.mode === 'closed') return { verdict: 'call', state: s };
  if (s.mode === 'probing') return { verdict: 'refuse', state: s };
  if (now - s.openedAt >= cfg.openMs) return { verdict: 'probe', state: { ...s, mode: 'probing' } };
  return { verdict: 'refuse', state: s };
}

/** Record the outcome of an admitted call (a `probe` or a `call`). */
export function breakerRecord(s: BreakerState, now: number, ok: boolean, cfg: BreakerConfig): BreakerState {
  if (ok) return breakerInit;
  const failures = s.failures + 1;
  if (s.mode === 'probing' || s.mode === 'open') return { mode: 'open', failures, openedAt: now };
  if (failures >= cfg.failureThreshold) return { mode: 'open', failures, openedAt: now };
  return { mode: 'closed', failures, openedAt: 0 };
}

/** True when the fleet is degraded (calls are refused or only probed). */
export function breakerDegraded(s: BreakerState): boolean {
  return s.mode !== 'closed';
}
