/**
 * jwks-rsa 4's `JwksClient`, backed by a jwks-keeper cache. Same constructor options, methods,
 * key objects and errors; the choices made where jwks-rsa's behaviour conflicts with our
 * defences are listed in docs/dropins.md (explicit options keep jwks-rsa's meaning, unset
 * ones get jwks-keeper's defaults).
 */
import type { Agent as HttpAgent } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { KeyObject } from 'node:crypto';
import { importJWK } from 'jose';
import type { JWK } from 'jose';
import { createJwksCache, JwksKeeperError, KeysUnavailableError, TokenInvalidError } from '../../index.js';
import type { FetchLike, JwksCache, JwksCacheOptions, SigningKey as KeeperKey } from '../../index.js';
import { ArgumentError, JwksError, JwksRateLimitError, SigningKeyNotFoundError } from './errors.js';
import { nodeHttpFetch } from './node-fetch.js';

/** Request headers (jwks-rsa's `Headers`). */
export interface Headers {
  [key: string]: string;
}

/** A JWK as returned by `getKeys()` and by a `getKeysInterceptor`. */
export interface JSONWebKey {
  kid: string;
  alg: string;
  [key: string]: unknown;
}

/** jwks-rsa's key object with `publicKey`. The drop-in's objects carry both `publicKey` and `rsaPublicKey`. */
export interface CertSigningKey {
  kid: string;
  alg: string;
  getPublicKey(): string;
  publicKey: string;
}

/** jwks-rsa's key object with `rsaPublicKey`. */
export interface RsaSigningKey {
  kid: string;
  alg: string;
  getPublicKey(): string;
  rsaPublicKey: string;
}

/** What `getSigningKey` resolves with: an SPKI PEM behind `getPublicKey()`, `publicKey` and `rsaPublicKey`. */
export type SigningKey = CertSigningKey | RsaSigningKey;

/** jwks-rsa's options. Every one is accepted; docs/dropins.md says what each maps to. */
export interface OptionsBase {
  /** `true`: at most `jwksRequestsPerMinute` JWKS requests caused by unknown kids, then `JwksRateLimitError` at once. Default (unset): jwks-keeper's unknown-kid defence (bounded, waiting). */
  rateLimit?: boolean;
  /** `false`: fetch on every lookup (jwks-rsa's meaning). Default: true. */
  cache?: boolean;
  /** Accepted, no effect: the whole key set is cached (bounded by `maxKeys`, 100), not an LRU of kids. */
  cacheMaxEntries?: number;
  /** Refetch the set every `cacheMaxAge` ms, ignoring cache headers, no floor. Default (unset): the IdP's cache headers clamped to 1 min–1 h (10 min without). */
  cacheMaxAge?: number;
  /** How long keys keep verifying after `cacheMaxAge` while the endpoint fails, ms. Default (unset): jwks-keeper's `maxStaleMs`, 24 h. */
  cacheMaxAgeFallback?: number;
  /** Called when a lookup was answered with keys past their freshness because the endpoint fails. */
  onStaleCacheFallback?(err: Error, kid: string | null | undefined, staleKey: SigningKey): void;
  /** With `rateLimit: true`: JWKS requests per minute. Default: 10 (jwks-rsa's). */
  jwksRequestsPerMinute?: number;
  /** Accepted, no effect (as in jwks-rsa 4): use `requestAgent` with a proxy agent. */
  proxy?: string;
  /** Headers sent with the JWKS request; the only headers sent, as jwks-rsa. Default: none. */
  requestHeaders?: Headers;
  /** Total deadline of one JWKS request (connect, headers, body), ms; `0` = the maximum, 600 000. Default (unset): 5 000 (jwks-rsa: 30 000 idle). */
  timeout?: number;
  /** Agent for the `node:http(s)` request (private CA, proxy). Default: Node's global agent. */
  requestAgent?: HttpAgent | HttpsAgent;
  /** Keys consulted before the endpoint on every lookup (trusted local data). */
  getKeysInterceptor?(): Promise<JSONWebKey[]> | JSONWebKey[];
  /** Further jwks-keeper cache options (`maxStaleMs`, `persistence`, `unknownKid` …); explicit jwks-rsa options win. */
  cacheOptions?: Omit<JwksCacheOptions, 'jwksUri'>;
}

/** Options with a custom `fetcher` (the URL is then optional). */
export interface OptionsWithFetcher extends OptionsBase {
  /** Replaces the HTTP request; its result must be `{ keys: [...] }`. The deadline and size cap still apply. */
  fetcher(jwksUri: string): Promise<{ keys: unknown }>;
  jwksUri?: string;
}

/** Options with a JWKS URL. `http:` is accepted (warned once), as jwks-rsa accepts it. */
export interface OptionsWithUri extends OptionsBase {
  jwksUri: string;
  fetcher?(jwksUri: string): Promise<{ keys: unknown }>;
}

/** jwks-rsa's `Options`. */
export type Options = OptionsWithFetcher | OptionsWithUri;

const FETCHER_PLACEHOLDER = 'https://jwks-rsa-fetcher.invalid/jwks';
const MAX_TIMEOUT_MS = 600_000;
let warnedHttp = false;

function warnHttpOnce(url: URL): void {
  if (warnedHttp) return;
  warnedHttp = true;
  process.emitWarning(`jwks-keeper/jwks-rsa: the JWKS URL ${url.host} uses plain http: keys can be replaced by anyone on the path`, { code: 'JWKS_KEEPER_INSECURE_HTTP' });
}

/** Map jwks-rsa options to cache options (pure, exported for tests). @internal */
export function mapJwksRsaOptions(options: Options): JwksCacheOptions {
  const base = options.cacheOptions ?? {};
  const uri = options.jwksUri ?? (options.fetcher ? FETCHER_PLACEHOLDER : undefined);
  let url: URL;
  try {
    url = new URL(String(uri));
  } catch {
    throw new ArgumentError('Invalid JWKS URI: The provided URI is not a valid URL.');
  }
  const o: JwksCacheOptions = { acceptAnyContentType: true, ...base, jwksUri: url };
  if (url.protocol === 'http:') {
    o.allowInsecureHttp = true;
    if (!['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)) warnHttpOnce(url);
  }
  const headers = options.requestHeaders ?? {};
  o.headers = { ...base.headers, ...headers };
  if (options.fetcher) {
    const fetcher = options.fetcher;
    const f: FetchLike = async () => Response.json(await fetcher(options.jwksUri as string));
    o.fetch = f;
  } else if (!base.fetch) {
    o.fetch = nodeHttpFetch({ agent: options.requestAgent, onlyHeaders: new Set(Object.keys(o.headers).map((h) => h.toLowerCase())) });
  }
  if (options.timeout !== undefined) o.timeoutMs = options.timeout > 0 ? Math.min(options.timeout, MAX_TIMEOUT_MS) : MAX_TIMEOUT_MS;
  if (options.cacheMaxAge !== undefined) {
    const ms = Math.max(1, Math.min(options.cacheMaxAge, Number.MAX_SAFE_INTEGER));
    o.minRefreshIntervalMs = ms;
    o.maxRefreshIntervalMs = ms;
    o.defaultRefreshIntervalMs = ms;
  }
  if (options.cacheMaxAgeFallback !== undefined) o.maxStaleMs = Math.max(0, options.cacheMaxAgeFallback);
  if (options.rateLimit) {
    const perMinute = Math.max(1, Math.floor(options.jwksRequestsPerMinute ?? 10));
    o.unknownKid = { ...base.unknownKid, burst: Math.min(perMinute, 100), cooldownMs: Math.ceil(60_000 / perMinute), maxWaitMs: 0 };
  } else {
    // jwks-rsa never makes a lookup wait: one that cannot refresh now fails at once (budget kept).
    o.unknownKid = { maxWaitMs: 0, ...base.unknownKid };
  }
  return o;
}

const pems = new WeakMap<KeyObject, string>();

function pemOf(key: KeyObject): string {
  let pem = pems.get(key);
  if (pem === undefined) {
    // jwks-rsa's PEM (jose's exportSPKI) has no trailing newline
    pem = (key.export({ format: 'pem', type: 'spki' }) as string).replace(/\n$/, '');
    pems.set(key, pem);
  }
  return pem;
}

/** A jwks-rsa key object: `getPublicKey()`, `publicKey`, `rsaPublicKey` (SPKI PEM), `kid`/`alg` when present. */
function keyObjectOf(getSpki: () => string, kid: string | undefined, alg: string | undefined): SigningKey {
  return {
    get publicKey() {
      return getSpki();
    },
    get rsaPublicKey() {
      return getSpki();
    },
    getPublicKey() {
      return getSpki();
    },
    ...(typeof kid === 'string' && kid ? { kid } : undefined),
    ...(typeof alg === 'string' && alg ? { alg } : undefined),
  } as SigningKey;
}

function fromKeeper(k: KeeperKey): SigningKey {
  return keyObjectOf(() => pemOf(k.keyObject), k.kid, k.alg);
}

const DEFAULT_ALG: Record<string, string | undefined> = { RSA: 'RS256', 'EC:P-256': 'ES256', 'EC:P-384': 'ES384', 'EC:P-521': 'ES512', 'OKP:Ed25519': 'EdDSA' };

/** jwks-rsa's conversion for interceptor keys: signing keys of known types, public only, via jose. */
async function interceptorKeys(jwks: readonly JSONWebKey[]): Promise<SigningKey[]> {
  const out: SigningKey[] = [];
  for (const jwk of jwks) {
    if (!jwk || typeof jwk !== 'object' || !(jwk.use === 'sig' || jwk.use === undefined)) continue;
    const alg = typeof jwk.alg === 'string' ? jwk.alg : DEFAULT_ALG[jwk.kty === 'RSA' ? 'RSA' : `${String(jwk.kty)}:${String(jwk.crv)}`];
    if (alg === undefined) continue;
    try {
      const key = await importJWK({ ...(jwk as JWK), ext: true }, alg);
      if (key instanceof Uint8Array || key.type !== 'public') continue;
      const keyObject = KeyObject.from(key);
      out.push(keyObjectOf(() => pemOf(keyObject), jwk.kid, jwk.alg));
    } catch {
      continue;
    }
  }
  return out;
}

/** The endpoint's own failure behind "not loaded"/"stale", when there is one. */
function rootCause(err: KeysUnavailableError): KeysUnavailableError {
  return (err.code === 'KEYS_NOT_LOADED' || err.code === 'KEYS_STALE') && err.cause instanceof KeysUnavailableError ? err.cause : err;
}

/** The first non-jwks-keeper error in a cause chain (the socket error jwks-rsa would surface). */
function systemCause(err: unknown): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (!(e instanceof JwksKeeperError) && (e as { code?: unknown }).code !== undefined) return e;
  }
  return undefined;
}

/** Map a jwks-keeper error to what jwks-rsa would throw. @internal */
export function toJwksRsaError(err: unknown, kid: string | null | undefined, rateLimited: boolean): Error {
  if (err instanceof TokenInvalidError) {
    if (err.code === 'KID_REQUIRED') return new SigningKeyNotFoundError('No KID specified and JWKS endpoint returned more than 1 key', { cause: err });
    return new SigningKeyNotFoundError(`Unable to find a signing key that matches '${kid}'`, { cause: err });
  }
  if (!(err instanceof KeysUnavailableError)) return err instanceof Error ? err : new JwksError(String(err));
  if (err.code === 'UNKNOWN_KID_CAPACITY' || err.code === 'UNKNOWN_KID_WAIT_TIMEOUT') {
    // the endpoint failing is what jwks-rsa would report (it refetches on every miss)
    if (!rateLimited && err.cause instanceof KeysUnavailableError) return toJwksRsaError(err.cause, kid, false);
    return rateLimited
      ? new JwksRateLimitError('Too many requests to the JWKS endpoint', { cause: err })
      : new SigningKeyNotFoundError(`Unable to find a signing key that matches '${kid}'`, { cause: err });
  }
  const root = rootCause(err);
  let out: Error & { isEndpointUnavailable?: boolean };
  switch (root.code) {
    case 'JWKS_HTTP_STATUS':
    case 'JWKS_REDIRECT': {
      const status = root.upstreamStatus;
      out = new JwksError((status !== undefined && STATUS_CODES[status]) || `Http Error ${status}`, { cause: err });
      break;
    }
    case 'JWKS_NETWORK':
      out = systemCause(root) ?? new JwksError(root.message, { cause: err });
      break;
    case 'JWKS_MALFORMED':
      // a body that is not JSON: jwks-rsa surfaces JSON.parse's SyntaxError
      out = root.cause instanceof SyntaxError ? root.cause : new JwksError('The JWKS endpoint did not contain any keys', { cause: err });
      break;
    case 'JWKS_NO_USABLE_KEYS':
      out = new JwksError('The JWKS endpoint did not contain any signing keys', { cause: err });
      break;
    default:
      out = new JwksError(root.message, { cause: err });
  }
  out.isEndpointUnavailable = true;
  return out;
}

/** jwks-rsa's `JwksClient`. One cache per client: share the client, as with jwks-rsa. */
export class JwksClient {
  /** The options as given, with jwks-rsa's defaults filled in (`rateLimit: false`, `cache: true`, `timeout: 30000` as displayed; see docs). */
  readonly options: Options;
  readonly #cache: JwksCache | undefined;
  readonly #configError: Error | undefined;

  constructor(options: Options) {
    this.options = { rateLimit: false, cache: true, timeout: 30000, ...options };
    let cache: JwksCache | undefined;
    let error: Error | undefined;
    try {
      cache = createJwksCache(mapJwksRsaOptions(options));
    } catch (err) {
      // jwks-rsa reports a bad URL when a key is first requested, not at construction.
      error = err instanceof ArgumentError ? err : new ArgumentError(err instanceof Error ? err.message : String(err));
    }
    this.#cache = cache;
    this.#configError = error;
    const lookup = this.#lookup.bind(this);
    // an own property, like jwks-rsa's wrapped method (destructuring keeps working)
    this.getSigningKey = ((kid?: string | null, cb?: (err: Error | null, key?: SigningKey) => void) => {
      const p = lookup(kid);
      if (typeof cb !== 'function') return p;
      p.then((key) => cb(null, key), (err: Error) => cb(err));
      return undefined;
    }) as JwksClient['getSigningKey'];
  }

  /** The jwks-keeper cache behind this client (events, stats, health). Throws `ArgumentError` for a bad `jwksUri`. */
  get cache(): JwksCache {
    if (!this.#cache) throw this.#configError!;
    return this.#cache;
  }

  /** Resolve the key for `kid` (promise), or call `cb(err, key)`. `kid` null/undefined: the only key of the set. */
  getSigningKey: {
    (kid?: string | null): Promise<SigningKey>;
    (kid: string | null | undefined, cb: (err: Error | null, key?: SigningKey) => void): void;
  };

  async #lookup(kid: string | null | undefined): Promise<SigningKey> {
    const interceptor = this.options.getKeysInterceptor;
    if (interceptor) {
      const keys = await interceptor();
      if (keys && keys.length) {
        const found = (await interceptorKeys(keys)).find((k) => !kid || k.kid === kid);
        if (found) return found;
      }
    }
    const cache = this.cache;
    const rateLimited = this.options.rateLimit === true;
    try {
      if (this.options.cache === false) {
        const r = await cache.refresh();
        if (!r.ok) throw r.error;
      }
      const k = await cache.getSigningKey(kid ?? undefined);
      const key = fromKeeper(k);
      if (this.options.onStaleCacheFallback && cache.snapshot()?.status === 'stale') {
        const why = new JwksError(`JWKS endpoint unavailable (${cache.health().lastErrorCode ?? 'refresh failing'})`);
        why.isEndpointUnavailable = true;
        this.options.onStaleCacheFallback(why, kid, key);
      }
      return key;
    } catch (err) {
      throw toJwksRsaError(err, kid, rateLimited);
    }
  }

  /** The key set's public JWKs (validated; private members, `x5c` and extensions removed). */
  async getKeys(): Promise<unknown> {
    return (await this.#keys()).map((k) => ({ ...k.jwk }));
  }

  /** Every signing key of the set, as jwks-rsa key objects. */
  async getSigningKeys(): Promise<SigningKey[]> {
    return (await this.#keys()).map(fromKeeper);
  }

  async #keys(): Promise<KeeperKey[]> {
    const cache = this.cache;
    try {
      if (this.options.cache === false) {
        const r = await cache.refresh();
        if (!r.ok) throw r.error;
      }
      return await cache.getSigningKeys();
    } catch (err) {
      throw toJwksRsaError(err, undefined, this.options.rateLimit === true);
    }
  }

  /** Stop the cache's timers and abort a fetch in flight (not in jwks-rsa; timers never keep a process alive anyway). */
  async close(): Promise<void> {
    await this.#cache?.close();
  }
}
