/**
 * Pure refresh policies: freshness, refresh-ahead schedule, backoff, usability and the
 * refresh budget. Every function takes `now` (monotonic ms) and, where jitter applies, a
 * random number in [0, 1); none touches a clock or a timer.
 */

/** Freshness bounds, all in milliseconds. */
export interface FreshnessConfig {
  /** Lower clamp for the IdP's cache headers (`no-cache` becomes this). */
  minRefreshIntervalMs: number;
  /** Upper clamp: even a 7-hour `max-age` is revalidated at least this often, so removed keys stop verifying. */
  maxRefreshIntervalMs: number;
  /** Used when the response carries no cache headers. */
  defaultRefreshIntervalMs: number;
}

/** The freshness lifetime to use for a response: its header lifetime clamped to the configured bounds. */
export function effectiveFreshnessMs(headerFreshnessMs: number | undefined, cfg: FreshnessConfig): number {
  const raw = headerFreshnessMs === undefined || !Number.isFinite(headerFreshnessMs) ? cfg.defaultRefreshIntervalMs : headerFreshnessMs;
  return Math.min(Math.max(raw, cfg.minRefreshIntervalMs), cfg.maxRefreshIntervalMs);
}

/**
 * When to refresh in the background after a success at `now`: between 75 % and 90 % of the
 * freshness lifetime (refresh-ahead, so keys never go stale while the IdP is up; jitter so a
 * fleet does not refresh in lockstep).
 */
export function backgroundRefreshAt(now: number, freshnessMs: number, random: number): number {
  return now + freshnessMs * (0.75 + 0.15 * random);
}

/** Backoff bounds in milliseconds. */
export interface BackoffConfig {
  /** Delay after the first failure. */
  initialMs: number;
  /** Ceiling of the exponential growth. */
  maxMs: number;
  /** Ceiling applied to an IdP's `Retry-After`, so a bogus value cannot silence refreshes for days. */
  maxRetryAfterMs: number;
}

/**
 * Delay before the next attempt after `consecutiveFailures` (≥ 1) failed attempts:
 * exponential, capped, with jitter in [50 %, 100 %] of the step; never shorter than a
 * (capped) `Retry-After`.
 */
export function backoffDelayMs(consecutiveFailures: number, cfg: BackoffConfig, random: number, retryAfterMs?: number): number {
  const exp = Math.min(cfg.maxMs, cfg.initialMs * 2 ** Math.min(Math.max(consecutiveFailures - 1, 0), 30));
  const jittered = exp * (0.5 + 0.5 * random);
  const ra = retryAfterMs === undefined ? 0 : Math.min(Math.max(retryAfterMs, 0), cfg.maxRetryAfterMs);
  return Math.max(jittered, ra);
}

/** How a loaded key set may be used at `now`. */
export type Usability = 'fresh' | 'stale' | 'expired';

/**
 * `fresh` until `freshUntil`; `stale` (still served, last-known-good) for `maxStaleMs`
 * after that; `expired` beyond.
 */
export function usability(now: number, freshUntil: number, maxStaleMs: number): Usability {
  if (now <= freshUntil) return 'fresh';
  if (now - freshUntil <= maxStaleMs) return 'stale';
  return 'expired';
}

/** A token bucket of refresh attempts. `tokens` may be fractional. */
export interface BucketState {
  readonly tokens: number;
  readonly updatedAt: number;
}

/** Bucket parameters. */
export interface BucketConfig {
  /** Attempts available at once (and the starting balance). */
  burst: number;
  /** One attempt is earned back per `cooldownMs`. */
  cooldownMs: number;
}

/** A full bucket at `now`. */
export function bucketInit(now: number, cfg: BucketConfig): BucketState {
  return { tokens: cfg.burst, updatedAt: now };
}

function refill(state: BucketState, now: number, cfg: BucketConfig): number {
  const elapsed = Math.max(0, now - state.updatedAt);
  return Math.min(cfg.burst, state.tokens + elapsed / cfg.cooldownMs);
}

/** Earliest time at which one attempt is available. */
export function bucketReadyAt(state: BucketState, now: number, cfg: BucketConfig): number {
  const tokens = refill(state, now, cfg);
  if (tokens >= 1 - 1e-9) return now;
  return now + (1 - tokens) * cfg.cooldownMs;
}

/** Spend one attempt at `now`; the caller checked {@link bucketReadyAt}. */
export function bucketTake(state: BucketState, now: number, cfg: BucketConfig): BucketState {
  return { tokens: Math.max(0, refill(state, now, cfg) - 1), updatedAt: now };
}
