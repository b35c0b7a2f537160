/**
 * `jwks-keeper/jose`: a drop-in for jose's `createRemoteJWKSet`. Same signature, options,
 * getters and error classes (jose's own, so `instanceof errors.JWKSNoMatchingKey` keeps
 * working), backed by a jwks-keeper cache: hard-limited transport, last-known-good during IdP
 * outages, and the bounded unknown-kid defence instead of jose's single cooldown.
 *
 * ```ts
 * import { jwtVerify } from 'jose';
 * import { createRemoteJWKSet } from 'jwks-keeper/jose';
 * const JWKS = createRemoteJWKSet(new URL('https://idp.example.com/.well-known/jwks.json'));
 * const { payload } = await jwtVerify(token, JWKS, { issuer, audience });
 * ```
 *
 * Every option mapping and behavioural difference is listed in docs/dropins.md.
 *
 * @packageDocumentation
 */
import type { KeyObject } from 'node:crypto';
import { customFetch, errors, jwksCache } from 'jose';
import type { FetchImplementation, JSONWebKeySet, JWK, FlattenedJWSInput, JWSHeaderParameters } from 'jose';
import { createJwksCache, JwksKeeperError, SUPPORTED_ALGS, KeysUnavailableError, TokenInvalidError } from '../index.js';
import type { FetchLike, JwksCache, JwksCacheOptions, SigningKey, SupportedAlg } from '../index.js';

export { customFetch, jwksCache };
export type { FetchImplementation };

/** jose's default `timeoutDuration`: 5 000 ms. */
const JOSE_TIMEOUT_MS = 5_000;
/** jose's default `cooldownDuration` (30 000 ms); used only for the `coolingDown` getter when the option is unset. */
const JOSE_COOLDOWN_MS = 30_000;
/** jose's default `cacheMaxAge` (600 000 ms); used only for the `fresh` getter when the option is unset. */
const JOSE_MAX_AGE_MS = 600_000;
/** Longest `kid` looked up (the cache's default `maxKidLength`); longer ones cannot match. */
const MAX_KID_LENGTH = 256;
/** Longest wait for a budgeted refresh when `cooldownDuration` is set: jose never waits, we wait at most this long (ms). */
const MAX_WAIT_WITH_COOLDOWN_MS = 10_000;
/** Asymmetric JWS algorithms jose can verify with a JWK set (jose 6): refused by our policy rather than unknown. */
const JOSE_JWKS_ALGS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87',
]);

/**
 * jose's `RemoteJWKSetOptions`, plus `cacheOptions` for jwks-keeper's own settings.
 * Unset options keep jwks-keeper's defaults (docs/dropins.md).
 */
export interface RemoteJWKSetOptions {
  /** Total deadline of one JWKS request (connect, headers, body). Unit: ms. Default: 5 000 (jose's and ours). Non-negative integer, as jose requires. */
  timeoutDuration?: number;
  /**
   * jose: time after a successful fetch before a missing kid may fetch again. Here, when set:
   * the unknown-kid budget earns one refresh per `cooldownDuration` (burst 1), and a lookup
   * waits at most min(10 s, cooldownDuration) for it. Unit: ms. Default (unset): our
   * unknown-kid defaults (burst 2, one per 10 s). Must not be NaN or negative.
   */
  cooldownDuration?: number;
  /**
   * jose: maximum age of cached keys. Here, when set: the key set is refetched every
   * `cacheMaxAge` ms, ignoring the IdP's cache headers, with no floor; `Infinity` disables the
   * scheduled refresh. Default (unset): the IdP's cache headers clamped to 1 min–1 h (10 min
   * without headers). Last-known-good still applies when a refetch fails (see docs/dropins.md).
   */
  cacheMaxAge?: number;
  /** Request headers sent with the JWKS request. Default: none beyond `accept`. */
  headers?: Record<string, string>;
  /** jose's externally persisted cache. Not supported: ignored with a one-time warning; use `cacheOptions.persistence`. */
  [jwksCache]?: unknown;
  /** jose's custom fetch (receives a `Headers` object, like jose's). Deadline and byte cap still apply around it. */
  [customFetch]?: FetchImplementation;
  /** Any further jwks-keeper cache option (`maxStaleMs`, `persistence`, `unknownKid` …). Explicit jose options above win. */
  cacheOptions?: Omit<JwksCacheOptions, 'jwksUri'>;
}

/**
 * The resolver `createRemoteJWKSet` returns: pass it to jose's `jwtVerify` as the key.
 * Resolves with a Node `KeyObject` (jose accepts it everywhere it accepts a `CryptoKey`).
 */
export interface RemoteJWKSet {
  (protectedHeader?: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<KeyObject>;
  /** Whether `cooldownDuration` (default 30 000 ms, jose's) has not elapsed since the last successful fetch. */
  readonly coolingDown: boolean;
  /** Whether the cached set is younger than `cacheMaxAge` when set, else whether it is within the IdP's freshness. */
  readonly fresh: boolean;
  /** Whether a JWKS fetch is in flight. */
  readonly reloading: boolean;
  /** Fetch now (joins an in-flight fetch), bypassing the unknown-kid budget. Rejects with jose errors. */
  reload: () => Promise<void>;
  /** A copy of the cached set's public JWKs, or `undefined` before the first load. */
  jwks: () => JSONWebKeySet | undefined;
  /** The jwks-keeper cache behind this resolver (events, stats, health). */
  readonly cache: JwksCache;
}

let warnedJwksCache = false;

function duration(value: unknown, option: string): number | undefined {
  if (Number.isNaN(value)) throw new TypeError(`"${option}" option must not be NaN`);
  if (typeof value === 'number' && value < 0) throw new TypeError(`"${option}" option must not be negative`);
  return typeof value === 'number' ? value : undefined;
}

/** Map jose's options onto cache options (pure; exported for tests). @internal */
export function mapJoseOptions(href: string, opts: RemoteJWKSetOptions): JwksCacheOptions {
  const timeout = opts.timeoutDuration;
  if (typeof timeout === 'number' && (!Number.isInteger(timeout) || timeout < 0)) {
    throw new TypeError('"timeoutDuration" option must be a non-negative integer');
  }
  const cooldown = duration(opts.cooldownDuration, 'cooldownDuration');
  const maxAge = duration(opts.cacheMaxAge, 'cacheMaxAge');
  const base = opts.cacheOptions ?? {};
  const o: JwksCacheOptions = { ...base, jwksUri: href };
  o.timeoutMs = Math.max(1, typeof timeout === 'number' ? timeout : base.timeoutMs ?? JOSE_TIMEOUT_MS);
  if (opts.headers !== undefined) o.headers = { ...base.headers, ...Object.fromEntries(new Headers(opts.headers)) };
  if (cooldown !== undefined) {
    const cooldownMs = Math.max(1, Math.min(cooldown, Number.MAX_SAFE_INTEGER));
    o.unknownKid = { ...base.unknownKid, cooldownMs, burst: 1, maxWaitMs: Math.min(MAX_WAIT_WITH_COOLDOWN_MS, cooldownMs) };
  }
  if (maxAge !== undefined) {
    const ms = Math.max(1, Math.min(maxAge, Number.MAX_SAFE_INTEGER));
    o.minRefreshIntervalMs = ms;
    o.maxRefreshIntervalMs = ms;
    o.defaultRefreshIntervalMs = ms;
  }
  const userFetch = opts[customFetch];
  if (userFetch !== undefined) {
    if (typeof userFetch !== 'function') throw new TypeError('[customFetch] must be a function');
    const f: FetchLike = (input, init) => userFetch(input, { ...init, headers: new Headers(init.headers) });
    o.fetch = f;
  }
  return o;
}

/** Whether jose itself would know this `alg` for a JWK set (so our refusal is a policy, not "unsupported"). */
function joseKnows(alg: unknown): boolean {
  return typeof alg === 'string' && JOSE_JWKS_ALGS.has(alg);
}

/**
 * Map a jwks-keeper error to the jose error class jose would throw in the same situation.
 * The original error is the `cause`, so its stable `code` stays reachable.
 */
export function toJoseError(err: unknown, alg?: unknown): Error {
  if (!(err instanceof JwksKeeperError)) return err instanceof Error ? err : new errors.JOSEError('JWKS lookup failed', { cause: err });
  const cause = { cause: err };
  if (err instanceof TokenInvalidError) {
    switch (err.code) {
      case 'ALG_NOT_ALLOWED':
        return joseKnows(alg)
          ? new errors.JOSEAlgNotAllowed(`"alg" (Algorithm) Header Parameter value not allowed`, cause)
          : new errors.JOSENotSupported('Unsupported "alg" value for a JSON Web Key Set', cause);
      case 'KID_NOT_FOUND':
      case 'KID_INVALID':
      case 'KEY_ALG_MISMATCH':
      case 'KID_REQUIRED':
        return new errors.JWKSNoMatchingKey(undefined, cause);
      default:
        return new errors.JOSEError(err.message, cause);
    }
  }
  if (err instanceof KeysUnavailableError) {
    // "not loaded"/"stale" wrap the fetch failure that caused them: jose reports that failure.
    if ((err.code === 'KEYS_NOT_LOADED' || err.code === 'KEYS_STALE') && err.cause instanceof KeysUnavailableError) {
      return rewrap(toJoseError(err.cause, alg), err);
    }
    switch (err.code) {
      case 'JWKS_TIMEOUT':
        return new errors.JWKSTimeout(undefined, cause);
      case 'JWKS_MALFORMED':
      case 'JWKS_NO_USABLE_KEYS':
        return new errors.JWKSInvalid('JSON Web Key Set malformed', cause);
      case 'JWKS_PRIVATE_KEY':
        return new errors.JWKSInvalid('JSON Web Key Set members must be public keys', cause);
      case 'JWKS_HTTP_STATUS':
      case 'JWKS_REDIRECT':
        return new errors.JOSEError('Expected 200 OK from the JSON Web Key Set HTTP response', cause);
      case 'UNKNOWN_KID_CAPACITY':
      case 'UNKNOWN_KID_WAIT_TIMEOUT':
        // jose answers an unknown kid during its cooldown with "no matching key" at once.
        return new errors.JWKSNoMatchingKey(undefined, cause);
      default:
        return new errors.JOSEError(err.message, cause);
    }
  }
  return new errors.JOSEError(err.message, cause);
}

/** The same jose class as `inner`, with the outer error as its cause (jose's classes take `(message, options)`). */
function rewrap(inner: Error, cause: unknown): Error {
  const Ctor = inner.constructor as new (message?: string, options?: { cause?: unknown }) => Error;
  return new Ctor(inner.message, { cause });
}

/**
 * jose's `createRemoteJWKSet(url, options)`, backed by a jwks-keeper cache.
 *
 * @param url - the JWKS URL (a `URL` instance, as jose requires); `https:` unless loopback,
 *   or `cacheOptions.allowInsecureHttp`.
 * @throws TypeError for a non-URL or invalid durations (as jose); `ConfigError` for an unusable URL.
 */
export function createRemoteJWKSet(url: URL, options?: RemoteJWKSetOptions): RemoteJWKSet {
  if (!(url instanceof URL)) throw new TypeError('url must be an instance of URL');
  const opts = options ?? {};
  if (opts[jwksCache] !== undefined && !warnedJwksCache) {
    warnedJwksCache = true;
    process.emitWarning('jwks-keeper/jose: the [jwksCache] option is ignored; use cacheOptions.persistence', { code: 'JWKS_KEEPER_JOSE_JWKSCACHE' });
  }
  const cooldownForGetter = duration(opts.cooldownDuration, 'cooldownDuration') ?? JOSE_COOLDOWN_MS;
  const maxAgeForGetter = duration(opts.cacheMaxAge, 'cacheMaxAge');
  const cache = createJwksCache(mapJoseOptions(new URL(url.href).href, opts));
  const clock = opts.cacheOptions?.clock;
  const wallNow = (): number => (clock ? clock.wallNow() : Date.now());
  let inflight = 0;
  cache.on('refresh.started', () => void inflight++);
  cache.on('refresh.succeeded', () => void (inflight = Math.max(0, inflight - 1)));
  cache.on('refresh.failed', () => void (inflight = Math.max(0, inflight - 1)));
  // The set's keys, indexed once per change (keys.changed also fires for the first load):
  // candidates for jose's "several keys match" and the copy `jwks()` returns.
  let index: Promise<readonly SigningKey[]> | undefined;
  let lastJwks: JSONWebKeySet | undefined;
  cache.on('keys.changed', () => void (index = undefined));
  function indexed(): Promise<readonly SigningKey[]> {
    index ??= cache.getSigningKeys().then(
      (keys) => {
        lastJwks = { keys: keys.map((k) => ({ ...k.jwk }) as JWK) };
        return keys;
      },
      (err: unknown) => {
        index = undefined;
        throw err;
      },
    );
    return index;
  }

  async function resolveKey(protectedHeader?: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<KeyObject> {
    const header = { ...protectedHeader, ...(token?.header as JWSHeaderParameters | undefined) };
    const { alg, kid } = header;
    try {
      if (typeof alg !== 'string' || !(SUPPORTED_ALGS as readonly string[]).includes(alg)) {
        throw new TokenInvalidError('ALG_NOT_ALLOWED', 'alg not supported for remote keys');
      }
      if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) {
        throw new TokenInvalidError('KID_INVALID', 'kid must be a non-empty string of bounded length');
      }
      const usable = (k: SigningKey): boolean => k.algorithms.includes(alg as SupportedAlg);
      let key: KeyObject;
      try {
        // the cache's jose-compatible resolver: unknown-kid defence, last-known-good, key.firstUsed
        key = await cache.getKey({ kid, alg });
      } catch (err) {
        if (err instanceof TokenInvalidError && err.code === 'KID_REQUIRED') {
          const candidates = (await indexed()).filter(usable);
          if (candidates.length > 1) throw multiple(candidates.map((k) => k.keyObject), err);
        }
        throw err;
      }
      const keys = await indexed();
      if (kid !== undefined) {
        const same = keys.filter((k) => k.kid === kid && usable(k));
        if (same.length > 1) throw multiple(same.map((k) => k.keyObject));
      }
      return key;
    } catch (err) {
      if (err instanceof errors.JOSEError) throw err;
      throw toJoseError(err, alg);
    }
  }

  let reloads = 0;
  const reload = async (): Promise<void> => {
    reloads++;
    try {
      const r = await cache.refresh();
      if (!r.ok) throw toJoseError(r.error);
      await indexed();
    } finally {
      reloads--;
    }
  };

  return Object.defineProperties(resolveKey, {
    coolingDown: {
      get: () => {
        const s = cache.snapshot();
        return s !== undefined && wallNow() < s.lastSuccessAt + cooldownForGetter;
      },
      enumerable: true,
    },
    fresh: {
      get: () => {
        const s = cache.snapshot();
        if (s === undefined) return false;
        return maxAgeForGetter === undefined ? s.status === 'fresh' : wallNow() < s.lastSuccessAt + maxAgeForGetter;
      },
      enumerable: true,
    },
    reloading: { get: () => inflight > 0 || reloads > 0, enumerable: true },
    reload: { value: reload, enumerable: true },
    jwks: { value: () => (lastJwks ? structuredClone(lastJwks) : undefined), enumerable: true },
    cache: { value: cache, enumerable: false },
  }) as RemoteJWKSet;
}

/** jose's error for several candidates, iterable over them like jose's (`for await (const key of err)`). */
function multiple(keys: readonly KeyObject[], cause?: unknown): errors.JWKSMultipleMatchingKeys {
  const err = new errors.JWKSMultipleMatchingKeys(undefined, cause === undefined ? undefined : { cause });
  err[Symbol.asyncIterator] = async function* () {
    for (const k of keys) yield k as never;
  };
  return err;
}

// Re-exported so `import { errors } from 'jwks-keeper/jose'` matches jose's namespace.
export { errors };
