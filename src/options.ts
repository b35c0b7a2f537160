/**
 * Options, defaults and their validation, in one place. Every default is documented where it
 * is declared, with its unit and reason; the README's configuration reference mirrors this file.
 */
import { ConfigError } from './errors.js';
import type { Clock, Random, Scheduler } from './runtime/clock.js';
import { systemClock, systemScheduler } from './runtime/clock.js';
import type { FetchLike } from './fetch/transport.js';
import type { PersistenceOptions, SnapshotStore } from './store/snapshot-store.js';
import { persistenceKey } from './store/codec.js';
import type { Logger } from './logging.js';
import type { JwksFleet } from './fleet/types.js';

/** Options of the unknown-kid defence (see the README section "Unknown-kid defence"). */
export interface UnknownKidOptions {
  /**
   * One refresh attempt caused by unknown kids (or by a signature failure on a known kid) is
   * earned back per cooldown. Unit: ms. Default: 10 000 (10 s): at most 6 attempts a minute
   * per instance under a permanent flood (jose allows 2, aws-jwt-verify 6), and the longest
   * a genuinely new key waits.
   */
  cooldownMs?: number;
  /** Attempts available at once before the cooldown applies. Default: 2 (a rotation right after a scheduled refresh is still picked up at once). */
  burst?: number;
  /**
   * Longest a lookup for an unknown kid waits for a refresh to start, in ms. Default: equal
   * to `cooldownMs`, so a waiter always gets the next permitted refresh; must not exceed it.
   * The refresh itself then completes within `timeoutMs`.
   */
  maxWaitMs?: number;
  /** Waiting lookups held at once, across all kids. Default: 4096 (≈1 MiB of promises at most). */
  maxWaiters?: number;
  /**
   * Waiting lookups one client (the `clientId` passed to `verify`) may hold. Default: 1/8 of
   * `maxWaiters` (512), so a single client cannot occupy the waiting room. Applies only when
   * a `clientId` is given.
   */
  maxWaitersPerClient?: number;
  /** Kids remembered as absent from the current key set. Default: 10 000; oldest forgotten first. */
  negativeCacheSize?: number;
  /**
   * How long a kid confirmed absent stays rejected without waiting, in ms, unless a newer key
   * set arrives first. Default: 300 000 (5 min). Bounded so an IdP replica that lagged behind
   * a rotation cannot lock a real key out until the next rotation.
   */
  negativeTtlMs?: number;
}

/** Options of {@link createJwksCache}. */
export interface JwksCacheOptions {
  /** The JWKS URL, from configuration only (never from a token). `https:` required except for loopback hosts. */
  jwksUri: string | URL;
  /** One total deadline for a JWKS request: connect, headers and the whole body. Unit: ms. Default: 5 000. */
  timeoutMs?: number;
  /** Cap on decoded (decompressed) JWKS bytes, enforced while streaming. Default: 262 144 (256 KiB; real sets are < 20 KiB). */
  maxResponseBytes?: number;
  /** Follow redirects (up to 3, each hop re-checked). Default: false: a moved JWKS is a configuration change, not something to follow silently. */
  allowRedirects?: boolean;
  /** Allow `http:` to non-loopback hosts. Default: false (keys fetched over plain HTTP can be swapped by anyone on the path). */
  allowInsecureHttp?: boolean;
  /** Accept any response content type. Default: false: only JSON types (an HTML error page is a failed refresh). */
  acceptAnyContentType?: boolean;
  /** Extra request headers (for example a user agent). */
  headers?: Record<string, string>;
  /** Your own fetch (proxy agents, mTLS). The deadline, byte cap and redirect policy still apply around it. Default: global `fetch`. */
  fetch?: FetchLike;
  /** Lower clamp for the IdP's cache headers. Unit: ms. Default: 60 000 (IdPs such as Keycloak send `no-cache`). */
  minRefreshIntervalMs?: number;
  /** Upper clamp for the IdP's cache headers: how long a removed key can keep verifying at most. Unit: ms. Default: 3 600 000 (1 h; Google sends up to 7 h). */
  maxRefreshIntervalMs?: number;
  /** Freshness when the response has no cache headers. Unit: ms. Default: 600 000 (10 min, like jose). */
  defaultRefreshIntervalMs?: number;
  /**
   * How long the last good key set keeps verifying after its freshness ended while refreshes
   * fail. Unit: ms. Default: 86 400 000 (24 h). Longer rides out longer IdP outages (Entra's
   * 2021 incident lasted 14.5 h); shorter bounds how long a key the IdP removed during an
   * outage (when we cannot learn of the removal) keeps verifying.
   */
  maxStaleMs?: number;
  /** Delay after the first failed attempt, doubled per failure. Unit: ms. Default: 2 000. */
  backoffInitialMs?: number;
  /** Ceiling of the backoff. Unit: ms. Default: 300 000 (5 min; with the 50–100 % jitter that is 288–576 attempts a day during an outage, about 385 on average). */
  backoffMaxMs?: number;
  /** Ceiling applied to an IdP's `Retry-After`. Unit: ms. Default: 600 000 (10 min). */
  maxRetryAfterMs?: number;
  /** Keys inspected per set; the rest are dropped. Default: 100 (real IdPs publish 2–10). */
  maxKeys?: number;
  /** Smallest RSA modulus accepted, in bits. Default: 2048 (RFC 7518 §3.3). */
  minRsaBits?: number;
  /** Largest RSA modulus accepted, in bits. Default: 16 384 (bigger keys are a CPU attack). */
  maxRsaBits?: number;
  /** Longest `kid` accepted, in characters. Default: 256. */
  maxKidLength?: number;
  /** The unknown-kid defence. */
  unknownKid?: UnknownKidOptions;
  /**
   * Keep the last good key set in a store (a file, Redis ...) so a restart during an IdP
   * outage still verifies. Default: none (a restarted process must reach the IdP). Records
   * are HMAC-authenticated, bound to `jwksUri`, refused when older than their freshness plus
   * `maxStaleMs`, and only bridge until a fetch succeeds.
   */
  persistence?: PersistenceOptions;
  /**
   * Fleet mode: share one key-set record per JWKS URL with the other instances through a
   * shared store, e.g. `redisFleet({ url, secret })` from `jwks-keeper/redis` (docs/fleet.md).
   * Default: none (this instance fetches, budgets and single-flights alone). A refresh first
   * reads the shared record, then takes a lease lock (held for `timeoutMs` + 2 s) so one
   * instance fetches; the others wait at most `unknownKid.maxWaitMs` for its record. The
   * unknown-kid and background budget is the fleet's when the store has one. The hot path
   * never touches the store; when it fails, the instance goes on local-only.
   */
  fleet?: JwksFleet;
  /** Injected clocks. Default: `performance.now()` and `Date.now()`. */
  clock?: Clock;
  /** Injected timers. Default: unref'd Node timers. */
  scheduler?: Scheduler;
  /** Injected randomness for jitter and hash seeds. Default: `Math.random`. */
  random?: Random;
  /** Called when an event listener throws. Default: ignore. */
  onListenerError?: (err: unknown, event: string) => void;
  /** A pino-compatible logger (`debug`/`info`/`warn`/`error`(obj, msg)) for the cache's events, at the levels listed by `attachLogger`. Default: none (no logging). */
  logger?: Logger;
}

/** Options after defaults and validation. @internal */
export interface ResolvedCacheOptions {
  jwksUri: URL;
  timeoutMs: number;
  maxResponseBytes: number;
  allowRedirects: boolean;
  allowInsecureHttp: boolean;
  acceptAnyContentType: boolean;
  headers: Record<string, string>;
  fetch: FetchLike;
  minRefreshIntervalMs: number;
  maxRefreshIntervalMs: number;
  defaultRefreshIntervalMs: number;
  maxStaleMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  maxRetryAfterMs: number;
  maxKeys: number;
  minRsaBits: number;
  maxRsaBits: number;
  maxKidLength: number;
  cooldownMs: number;
  burst: number;
  maxWaitMs: number;
  maxWaiters: number;
  maxWaitersPerClient: number;
  negativeCacheSize: number;
  negativeTtlMs: number;
  clock: Clock;
  scheduler: Scheduler;
  random: Random;
  onListenerError: (err: unknown, event: string) => void;
  persistence: { store: SnapshotStore; key: Buffer } | undefined;
  fleet: JwksFleet | undefined;
}

function num(name: string, value: number | undefined, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a finite number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function bool(name: string, value: boolean | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new ConfigError(`${name} must be a boolean`);
  return value;
}

const defaultFetch: FetchLike = (input, init) => fetch(input, init);

function resolvePersistence(p: PersistenceOptions | undefined): ResolvedCacheOptions['persistence'] {
  if (p === undefined) return undefined;
  if (p === null || typeof p !== 'object') throw new ConfigError('persistence must be an object');
  const { store } = p;
  if (!store || typeof store.load !== 'function' || typeof store.save !== 'function') {
    throw new ConfigError('persistence.store must have load() and save()');
  }
  return { store, key: persistenceKey(p.secret) };
}

function resolveFleet(f: JwksFleet | undefined): JwksFleet | undefined {
  if (f === undefined) return undefined;
  if (f === null || typeof f !== 'object' || typeof f.get !== 'function' || typeof f.setIfNewer !== 'function') {
    throw new ConfigError('fleet must be a shared store with get() and setIfNewer() (e.g. redisFleet() from jwks-keeper/redis)');
  }
  try {
    persistenceKey(f.secret);
  } catch {
    throw new ConfigError('fleet.secret must be a string or Uint8Array of at least 32 bytes');
  }
  return f;
}

/** Apply defaults and reject incoherent combinations. @internal */
export function resolveCacheOptions(o: JwksCacheOptions, checkUrl: (u: string | URL, allowHttp: boolean) => URL): ResolvedCacheOptions {
  if (o === null || typeof o !== 'object') throw new ConfigError('options object required');
  const allowInsecureHttp = bool('allowInsecureHttp', o.allowInsecureHttp, false);
  if (o.jwksUri === undefined) throw new ConfigError('jwksUri is required');
  const jwksUri = checkUrl(o.jwksUri, allowInsecureHttp);
  const minRefreshIntervalMs = num('minRefreshIntervalMs', o.minRefreshIntervalMs, 60_000, 0);
  const maxRefreshIntervalMs = num('maxRefreshIntervalMs', o.maxRefreshIntervalMs, 3_600_000, 1);
  if (minRefreshIntervalMs > maxRefreshIntervalMs) throw new ConfigError('minRefreshIntervalMs must not exceed maxRefreshIntervalMs');
  const defaultRefreshIntervalMs = num('defaultRefreshIntervalMs', o.defaultRefreshIntervalMs, Math.min(Math.max(600_000, minRefreshIntervalMs), maxRefreshIntervalMs), 0);
  const uk = o.unknownKid ?? {};
  const cooldownMs = num('unknownKid.cooldownMs', uk.cooldownMs, 10_000, 1);
  const maxWaitMs = num('unknownKid.maxWaitMs', uk.maxWaitMs, cooldownMs, 0);
  if (maxWaitMs > cooldownMs) throw new ConfigError('unknownKid.maxWaitMs must not exceed unknownKid.cooldownMs');
  const maxWaiters = num('unknownKid.maxWaiters', uk.maxWaiters, 4096, 0, 1_000_000);
  const backoffInitialMs = num('backoffInitialMs', o.backoffInitialMs, 2_000, 1);
  const backoffMaxMs = num('backoffMaxMs', o.backoffMaxMs, 300_000, 1);
  if (backoffInitialMs > backoffMaxMs) throw new ConfigError('backoffInitialMs must not exceed backoffMaxMs');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new ConfigError('fetch must be a function');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (typeof v !== 'string') throw new ConfigError(`header ${k} must be a string`);
    headers[k.toLowerCase()] = v;
  }
  const minRsaBits = num('minRsaBits', o.minRsaBits, 2048, 2048, 16_384);
  const maxRsaBits = num('maxRsaBits', o.maxRsaBits, 16_384, 2048, 16_384);
  if (minRsaBits > maxRsaBits) throw new ConfigError('minRsaBits must not exceed maxRsaBits');
  return {
    jwksUri,
    timeoutMs: num('timeoutMs', o.timeoutMs, 5_000, 1, 600_000),
    maxResponseBytes: num('maxResponseBytes', o.maxResponseBytes, 256 * 1024, 64, 64 * 1024 * 1024),
    allowRedirects: bool('allowRedirects', o.allowRedirects, false),
    allowInsecureHttp,
    acceptAnyContentType: bool('acceptAnyContentType', o.acceptAnyContentType, false),
    headers,
    fetch: o.fetch ?? defaultFetch,
    minRefreshIntervalMs,
    maxRefreshIntervalMs,
    defaultRefreshIntervalMs,
    maxStaleMs: num('maxStaleMs', o.maxStaleMs, 86_400_000, 0),
    backoffInitialMs,
    backoffMaxMs,
    maxRetryAfterMs: num('maxRetryAfterMs', o.maxRetryAfterMs, 600_000, 0),
    maxKeys: num('maxKeys', o.maxKeys, 100, 1, 10_000),
    minRsaBits,
    maxRsaBits,
    maxKidLength: num('maxKidLength', o.maxKidLength, 256, 1, 4096),
    cooldownMs,
    burst: num('unknownKid.burst', uk.burst, 2, 1, 100),
    maxWaitMs,
    maxWaiters,
    maxWaitersPerClient: num('unknownKid.maxWaitersPerClient', uk.maxWaitersPerClient, Math.max(1, Math.floor(maxWaiters / 8)), 1, 1_000_000),
    negativeCacheSize: num('unknownKid.negativeCacheSize', uk.negativeCacheSize, 10_000, 0, 10_000_000),
    negativeTtlMs: num('unknownKid.negativeTtlMs', uk.negativeTtlMs, 300_000, 0),
    clock: o.clock ?? systemClock,
    scheduler: o.scheduler ?? systemScheduler,
    random: o.random ?? Math.random,
    onListenerError: o.onListenerError ?? (() => {}),
    persistence: resolvePersistence(o.persistence),
    fleet: resolveFleet(o.fleet),
  };
}
