/**
 * Every numeric option of the cache and the verifier: its default, its accepted range and
 * why, declared ONCE. The resolvers (`resolve.ts`, the verifier) read these; the TSDoc of the
 * public option types and the README's configuration reference state the same values.
 */

/** One numeric option: default, inclusive bounds, unit and reason. */
export interface NumericSpec {
  readonly default: number;
  readonly min: number;
  readonly max: number;
  readonly unit: 'ms' | 's' | 'bytes' | 'bits' | 'characters' | 'count';
  readonly why: string;
}

const MAX = Number.MAX_SAFE_INTEGER;

/** The cache's numeric options (flat names as users write them; `unknownKid.*` nested). */
export const CACHE_NUMBERS = {
  timeoutMs: { default: 5_000, min: 1, max: 600_000, unit: 'ms', why: 'one total deadline (connect, headers, whole body): a slow-loris IdP cannot hold a refresh' },
  maxResponseBytes: { default: 256 * 1024, min: 64, max: 64 * 1024 * 1024, unit: 'bytes', why: 'decoded bytes cap while streaming; real sets are < 20 KiB, a gzip bomb is cut off' },
  minRefreshIntervalMs: { default: 60_000, min: 0, max: MAX, unit: 'ms', why: 'lower clamp of cache headers: IdPs such as Keycloak send no-cache' },
  maxRefreshIntervalMs: { default: 3_600_000, min: 1, max: MAX, unit: 'ms', why: 'upper clamp of cache headers: how long a removed key can keep verifying at most' },
  defaultRefreshIntervalMs: { default: 600_000, min: 0, max: MAX, unit: 'ms', why: 'freshness without cache headers (like jose), clamped into [min, max]' },
  maxStaleMs: { default: 86_400_000, min: 0, max: MAX, unit: 'ms', why: 'last-known-good keys keep verifying this long while refreshes fail (Entra 2021: 14.5 h)' },
  backoffInitialMs: { default: 2_000, min: 1, max: MAX, unit: 'ms', why: 'delay after the first failure, doubled per failure' },
  backoffMaxMs: { default: 300_000, min: 1, max: MAX, unit: 'ms', why: 'ceiling of the backoff: ≈ 385 attempts a day during an outage' },
  maxRetryAfterMs: { default: 600_000, min: 0, max: MAX, unit: 'ms', why: 'ceiling of an IdP Retry-After, so a bogus value cannot silence refreshes for days' },
  maxKeys: { default: 100, min: 1, max: 10_000, unit: 'count', why: 'keys inspected per set; real IdPs publish 2–10' },
  minRsaBits: { default: 2048, min: 2048, max: 16_384, unit: 'bits', why: 'RFC 7518 §3.3' },
  maxRsaBits: { default: 16_384, min: 2048, max: 16_384, unit: 'bits', why: 'bigger keys are a CPU attack' },
  maxKidLength: { default: 256, min: 1, max: 4096, unit: 'characters', why: 'kids are short identifiers; a long one is an attack on memory' },
  'unknownKid.cooldownMs': { default: 10_000, min: 1, max: MAX, unit: 'ms', why: 'one unknown-kid attempt earned back per cooldown: ≤ 6 a minute under a permanent flood' },
  'unknownKid.burst': { default: 2, min: 1, max: 100, unit: 'count', why: 'a rotation right after a scheduled refresh is still picked up at once' },
  'unknownKid.maxWaitMs': { default: 10_000, min: 0, max: MAX, unit: 'ms', why: 'default: cooldownMs, so a waiter always gets the next permitted refresh' },
  'unknownKid.maxWaiters': { default: 4096, min: 0, max: 1_000_000, unit: 'count', why: '≈ 1 MiB of promises at most' },
  'unknownKid.maxWaitersPerClient': { default: 512, min: 1, max: 1_000_000, unit: 'count', why: 'default: maxWaiters / 8, so one client cannot occupy the room' },
  'unknownKid.negativeCacheSize': { default: 10_000, min: 0, max: 10_000_000, unit: 'count', why: 'kids remembered as absent; oldest forgotten first' },
  'unknownKid.negativeTtlMs': { default: 300_000, min: 0, max: MAX, unit: 'ms', why: 'bounded so a lagging IdP replica cannot lock a real key out until the next rotation' },
} as const satisfies Record<string, NumericSpec>;

/** The verifier's numeric options. */
export const VERIFIER_NUMBERS = {
  maxTokenBytes: { default: 16_384, min: 16, max: 1_048_576, unit: 'characters', why: 'real tokens are 1–4 KiB; the pre-check refuses larger ones before any work' },
  maxHeaderBytes: { default: 4_096, min: 16, max: 65_536, unit: 'bytes', why: 'a protected header is a few hundred bytes' },
  maxKidLength: { default: 256, min: 1, max: 4096, unit: 'characters', why: 'matches the cache: longer kids are refused as KID_INVALID' },
  clockToleranceSec: { default: 30, min: 0, max: 300, unit: 's', why: 'more hides broken clocks and extends stolen tokens' },
  maxTokenAgeSec: { default: 0, min: Number.MIN_VALUE, max: MAX, unit: 's', why: 'optional (no default): iat older than this is refused' },
} as const satisfies Record<string, NumericSpec>;
