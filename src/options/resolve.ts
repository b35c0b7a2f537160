/**
 * Options after defaults and validation, nested by the part that uses them (transport,
 * freshness, backoff, budget, unknownKid, validation, store, runtime). Numeric defaults and
 * bounds come from `defaults.ts`; every cross-option rule is checked here, each with its own
 * test file under test/unit/options/.
 */
import { ConfigError } from '../errors.js';
import type { FetchLike, TransportLimits } from '../fetch/transport.js';
import type { ValidateOptions } from '../jwks/validate.js';
import type { CacheDiscoveryOptions, JwksCacheOptions, PriorityOptions } from '../options.js';
import type { PriorityConfig } from '../policy/priority.js';
import type { BackoffConfig, BucketConfig, FreshnessConfig } from '../policy/refresh.js';
import type { Clock, Random, Scheduler } from '../runtime/clock.js';
import { systemClock, systemScheduler } from '../runtime/clock.js';
import { persistenceKey } from '../store/codec.js';
import type { SharedStore } from '../store/contract.js';
import type { RefreshBudget } from '../source/budget.js';
import type { JwksFleet } from '../fleet/types.js';
import type { SourceLayer } from '../source/types.js';
import type { PersistenceOptions, SnapshotStore } from '../store/snapshot-store.js';
import type { NumericSpec } from './defaults.js';
import { CACHE_NUMBERS } from './defaults.js';

/** Options after defaults and validation. @internal */
export interface ResolvedCacheOptions {
  /** The JWKS URL; with discovery, the issuer's OIDC well-known URL (the cache's identity). */
  readonly jwksUri: URL;
  /** Discovery settings when the JWKS URL comes from the issuer's discovery document. */
  readonly discovery: CacheDiscoveryOptions | undefined;
  readonly transport: TransportLimits & { readonly headers: Record<string, string>; readonly fetch: FetchLike };
  readonly freshness: FreshnessConfig & { readonly maxStaleMs: number };
  readonly backoff: BackoffConfig;
  /** The default bucket's parameters, and a custom budget replacing it (if given). */
  readonly budget: BucketConfig & { readonly custom: RefreshBudget | undefined };
  /** The shared-store layer, if any. */
  readonly sharedLayer: SourceLayer | undefined;
  /** Fleet mode (`fleet` option), if any. */
  readonly fleet: JwksFleet | undefined;
  readonly unknownKid: {
    readonly maxWaitMs: number;
    readonly maxWaiters: number;
    readonly maxWaitersPerClient: number;
    readonly negativeCacheSize: number;
    readonly negativeTtlMs: number;
    /** The priority path (`burst` 0 when turned off). */
    readonly priority: PriorityConfig;
  };
  readonly validation: ValidateOptions;
  readonly store: { readonly store: SnapshotStore | SharedStore; readonly key: Buffer } | undefined;
  readonly runtime: { readonly clock: Clock; readonly scheduler: Scheduler; readonly random: Random; readonly onListenerError: (err: unknown, event: string) => void };
}

/** A number within its declared bounds, or its default; `ConfigError` otherwise. `dflt` overrides a derived default. */
export function num(name: string, spec: NumericSpec, value: unknown, dflt: number = spec.default): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < spec.min || value > spec.max) {
    throw new ConfigError(`${name} must be a finite number in [${spec.min}, ${spec.max}] (${spec.unit}), got ${String(value)}`);
  }
  return value;
}

function bool(name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new ConfigError(`${name} must be a boolean`);
  return value;
}

/** The fleet: a shared store with a secret of at least 32 bytes; not together with `sharedLayer`. */
function resolveFleet(f: JwksFleet | undefined, sharedLayer: unknown): JwksFleet | undefined {
  if (f === undefined) return undefined;
  rule(f !== null && typeof f === 'object' && typeof f.get === 'function' && typeof f.setIfNewer === 'function', 'fleet must be a shared store with get() and setIfNewer() (e.g. redisFleet() from jwks-keeper/redis)');
  rule(sharedLayer === undefined, 'fleet is the shared layer: give fleet or sharedLayer, not both');
  try {
    persistenceKey(f.secret);
  } catch {
    throw new ConfigError('fleet.secret must be a string or Uint8Array of at least 32 bytes');
  }
  return f;
}

/** Throw a `ConfigError` when a cross-option rule is broken. */
function rule(ok: boolean, message: string): void {
  if (!ok) throw new ConfigError(message);
}

const defaultFetch: FetchLike = (input, init) => fetch(input, init);

/** The priority path's options; the tracker remembers `max(1024, 4 × maxWaiters)` kids. */
function resolvePriority(p: PriorityOptions | false | undefined, maxWaiters: number): PriorityConfig {
  const capacity = Math.max(1024, 4 * maxWaiters);
  if (p !== undefined && p !== false && (p === null || typeof p !== 'object')) throw new ConfigError('unknownKid.priority must be an object or false');
  const q = p === false ? undefined : p;
  return {
    minSightings: num('unknownKid.priority.minSightings', CACHE_NUMBERS['unknownKid.priority.minSightings'], q?.minSightings),
    windowMs: num('unknownKid.priority.windowMs', CACHE_NUMBERS['unknownKid.priority.windowMs'], q?.windowMs),
    minClients: num('unknownKid.priority.minClients', CACHE_NUMBERS['unknownKid.priority.minClients'], q?.minClients),
    burst: p === false ? 0 : num('unknownKid.priority.burst', CACHE_NUMBERS['unknownKid.priority.burst'], q?.burst),
    cooldownMs: num('unknownKid.priority.cooldownMs', CACHE_NUMBERS['unknownKid.priority.cooldownMs'], q?.cooldownMs),
    capacity,
  };
}

function resolveStore(p: PersistenceOptions | undefined): ResolvedCacheOptions['store'] {
  if (p === undefined) return undefined;
  if (p === null || typeof p !== 'object') throw new ConfigError('persistence must be an object');
  const store = p.store as Partial<SnapshotStore & SharedStore> | undefined;
  const snapshotShape = !!store && typeof store.load === 'function' && typeof store.save === 'function';
  const sharedShape = !!store && typeof store.get === 'function' && typeof store.setIfNewer === 'function';
  rule(snapshotShape || sharedShape, 'persistence.store must have load() and save(), or get() and setIfNewer() (a shared store)');
  return { store: p.store, key: persistenceKey(p.secret) };
}

function resolveBudget(b: RefreshBudget | undefined, burst: number | undefined): RefreshBudget | undefined {
  if (b === undefined) return undefined;
  rule(b !== null && typeof b === 'object' && typeof b.tryTake === 'function' && typeof b.readyAt === 'function', 'budget must have tryTake() and readyAt()');
  rule(burst === undefined, 'unknownKid.burst configures only the default budget: give it to your budget instead');
  return b;
}

function resolveSharedLayer(l: SourceLayer | undefined): SourceLayer | undefined {
  rule(l === undefined || typeof l === 'function', 'sharedLayer must be a function of the source below it');
  return l;
}

/** An issuer's OIDC well-known URL: a discovery cache's identity (persistence binding, `jwksUri`). */
function discoveryIdentity(issuer: URL): URL {
  return new URL(`${issuer.origin}${issuer.pathname.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

/** Apply defaults and reject incoherent combinations. @internal */
export function resolveCacheOptions(o: JwksCacheOptions, checkUrl: (u: string | URL, allowHttp: boolean) => URL): ResolvedCacheOptions {
  if (o === null || typeof o !== 'object') throw new ConfigError('options object required');
  const N = CACHE_NUMBERS;
  const allowInsecureHttp = bool('allowInsecureHttp', o.allowInsecureHttp, false);
  rule((o.jwksUri === undefined) !== (o.discovery === undefined), 'give exactly one of jwksUri or discovery');
  rule(o.discovery === undefined || (o.discovery !== null && typeof o.discovery.issuer === 'string'), 'discovery.issuer is required');
  const jwksUri = o.discovery ? discoveryIdentity(checkUrl(o.discovery.issuer, allowInsecureHttp)) : checkUrl(o.jwksUri!, allowInsecureHttp);

  const minRefreshIntervalMs = num('minRefreshIntervalMs', N.minRefreshIntervalMs, o.minRefreshIntervalMs);
  const maxRefreshIntervalMs = num('maxRefreshIntervalMs', N.maxRefreshIntervalMs, o.maxRefreshIntervalMs);
  rule(minRefreshIntervalMs <= maxRefreshIntervalMs, 'minRefreshIntervalMs must not exceed maxRefreshIntervalMs');
  const defaultRefreshIntervalMs = num(
    'defaultRefreshIntervalMs',
    N.defaultRefreshIntervalMs,
    o.defaultRefreshIntervalMs,
    Math.min(Math.max(N.defaultRefreshIntervalMs.default, minRefreshIntervalMs), maxRefreshIntervalMs),
  );

  const uk = o.unknownKid ?? {};
  const cooldownMs = num('unknownKid.cooldownMs', N['unknownKid.cooldownMs'], uk.cooldownMs);
  const maxWaitMs = num('unknownKid.maxWaitMs', N['unknownKid.maxWaitMs'], uk.maxWaitMs, cooldownMs);
  rule(maxWaitMs <= cooldownMs, 'unknownKid.maxWaitMs must not exceed unknownKid.cooldownMs');
  const maxWaiters = num('unknownKid.maxWaiters', N['unknownKid.maxWaiters'], uk.maxWaiters);

  const backoffInitialMs = num('backoffInitialMs', N.backoffInitialMs, o.backoffInitialMs);
  const backoffMaxMs = num('backoffMaxMs', N.backoffMaxMs, o.backoffMaxMs);
  rule(backoffInitialMs <= backoffMaxMs, 'backoffInitialMs must not exceed backoffMaxMs');

  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new ConfigError('fetch must be a function');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.headers ?? {})) {
    if (typeof v !== 'string') throw new ConfigError(`header ${k} must be a string`);
    headers[k.toLowerCase()] = v;
  }
  const minRsaBits = num('minRsaBits', N.minRsaBits, o.minRsaBits);
  const maxRsaBits = num('maxRsaBits', N.maxRsaBits, o.maxRsaBits);
  rule(minRsaBits <= maxRsaBits, 'minRsaBits must not exceed maxRsaBits');

  return {
    jwksUri,
    discovery: o.discovery,
    transport: {
      timeoutMs: num('timeoutMs', N.timeoutMs, o.timeoutMs),
      maxResponseBytes: num('maxResponseBytes', N.maxResponseBytes, o.maxResponseBytes),
      allowRedirects: bool('allowRedirects', o.allowRedirects, false),
      allowInsecureHttp,
      acceptAnyContentType: bool('acceptAnyContentType', o.acceptAnyContentType, false),
      headers,
      fetch: o.fetch ?? defaultFetch,
    },
    freshness: { minRefreshIntervalMs, maxRefreshIntervalMs, defaultRefreshIntervalMs, maxStaleMs: num('maxStaleMs', N.maxStaleMs, o.maxStaleMs) },
    backoff: { initialMs: backoffInitialMs, maxMs: backoffMaxMs, maxRetryAfterMs: num('maxRetryAfterMs', N.maxRetryAfterMs, o.maxRetryAfterMs) },
    budget: { cooldownMs, burst: num('unknownKid.burst', N['unknownKid.burst'], uk.burst), custom: resolveBudget(o.budget, uk.burst) },
    sharedLayer: resolveSharedLayer(o.sharedLayer),
    fleet: resolveFleet(o.fleet, o.sharedLayer),
    unknownKid: {
      maxWaitMs,
      maxWaiters,
      maxWaitersPerClient: num('unknownKid.maxWaitersPerClient', N['unknownKid.maxWaitersPerClient'], uk.maxWaitersPerClient, Math.max(1, Math.floor(maxWaiters / 8))),
      negativeCacheSize: num('unknownKid.negativeCacheSize', N['unknownKid.negativeCacheSize'], uk.negativeCacheSize),
      negativeTtlMs: num('unknownKid.negativeTtlMs', N['unknownKid.negativeTtlMs'], uk.negativeTtlMs),
      priority: resolvePriority(uk.priority, maxWaiters),
    },
    validation: { maxKeys: num('maxKeys', N.maxKeys, o.maxKeys), minRsaBits, maxRsaBits, maxKidLength: num('maxKidLength', N.maxKidLength, o.maxKidLength) },
    store: resolveStore(o.persistence),
    runtime: {
      clock: o.clock ?? systemClock,
      scheduler: o.scheduler ?? systemScheduler,
      random: o.random ?? Math.random,
      onListenerError: o.onListenerError ?? (() => {}),
    },
  };
}
