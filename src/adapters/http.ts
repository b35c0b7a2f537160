/**
 * What every framework adapter shares: RFC 6750 bearer-token extraction, the answer for each
 * error (status, `WWW-Authenticate`, `Retry-After`, JSON body), the scope check, and a
 * readiness probe. Framework-free; uses only the public API.
 */
import type { JWTPayload } from 'jose';
import type { JwksCache, JwksCacheHealth } from '../cache.js';
import { createVerifier } from '../verify/verifier.js';
import type { Verifier, VerifierOptions } from '../verify/verifier.js';
import {
  BearerRequestError,
  ConfigError,
  KeysUnavailableError,
  TokenInvalidError,
  bearerChallenge,
  describeTokenError,
  retryAfterSeconds,
} from '../errors.js';

/** Where the adapters find the token. */
export interface TokenSourceOptions<Req> {
  /**
   * Request header carrying `Bearer <token>`. Default: `'authorization'`. `false` turns the
   * header off (cookie or `getToken` only). Case-insensitive.
   */
  header?: string | false;
  /**
   * Cookie holding the bare token, read when the header carries no Bearer credentials.
   * Default: none (cookies are sent by browsers on cross-site requests: use them with CSRF
   * protection).
   */
  cookie?: string;
  /**
   * Your own extraction; replaces `header` and `cookie`. Return the bare token, or
   * `undefined`/`null`/`''` for "no token" (answered 401 with a bare challenge). Default: none.
   */
  getToken?: (req: Req) => string | undefined | null | Promise<string | undefined | null>;
}

/** Options every adapter takes besides the verifier's. */
export interface BearerAdapterOptions<Req> extends TokenSourceOptions<Req> {
  /**
   * An existing verifier to use (not closed by the adapter). Default: none: the adapter
   * creates one from the verifier options given alongside (`issuer`, `audience`,
   * `jwksUri`...), owns it and exposes it as `.verifier`.
   */
  verifier?: Verifier;
  /**
   * The `realm` of the `WWW-Authenticate` challenges. Default: `'api'`. `''` leaves it out
   * (RFC 6750 makes it optional).
   */
  realm?: string;
  /**
   * The `clientId` passed to `verify` so one client cannot fill the unknown-kid waiting room.
   * Default: the request's IP as the framework reports it (behind a proxy, configure the
   * framework's trust-proxy setting so it is the client's, not the proxy's).
   */
  clientId?: (req: Req) => string | undefined;
  /**
   * Hand errors to the framework's error handling (Express `next(err)`, Koa/Fastify `throw`)
   * instead of answering. Default: false. The errors carry `status`, `statusCode`, `headers`
   * (`WWW-Authenticate` without realm, `Retry-After`) and `expose`, which the frameworks'
   * default handlers read, so the answer stays 400/401/403/503.
   */
  passErrors?: boolean;
}

/** Verifier options (when no `verifier` is given) plus the adapter's options. */
export type AdapterOptions<Req> = BearerAdapterOptions<Req> & Partial<VerifierOptions>;

/** An HTTP answer for an authentication failure. */
export interface BearerAnswer {
  status: 400 | 401 | 403 | 503;
  headers: Record<string, string>;
  body: { error: string; error_description: string; code: string };
}

/** The adapter's resolved settings. @internal */
export interface AdapterCore<Req> {
  verifier: Verifier;
  owned: boolean;
  realm: string;
  passErrors: boolean;
  clientId: ((req: Req) => string | undefined) | undefined;
  extract(req: Req, getHeader: (name: string) => string | string[] | undefined): Promise<string | BearerRequestError>;
}

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;

/**
 * Parse an `Authorization` header value (RFC 6750 §2.1): the token for `Bearer <b64token>`,
 * `undefined` when absent, empty or another scheme (Basic ...: not for us, answered with a
 * bare challenge), `AUTHORIZATION_MALFORMED` for a Bearer header whose credentials are
 * missing or not one b64token, or for a repeated header.
 */
export function parseAuthorization(value: string | string[] | undefined, realm?: string): string | undefined | BearerRequestError {
  if (Array.isArray(value)) return malformed(realm);
  if (value === undefined || value.trim() === '') return undefined;
  const m = SCHEME.exec(value.trim());
  if (!m) return malformed(realm);
  if (m[1]!.toLowerCase() !== 'bearer') return undefined;
  const credentials = m[2];
  if (credentials === undefined || !TOKEN68.test(credentials)) return malformed(realm);
  return credentials;
}

function malformed(realm: string | undefined): BearerRequestError {
  return new BearerRequestError('AUTHORIZATION_MALFORMED', 'the Authorization header is not "Bearer <token>"', { realm });
}

/** The value of cookie `name` in a `Cookie` header, or undefined. Quotes are removed; no decoding (JWTs are URL-safe). */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text) return undefined;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const v = part.slice(eq + 1).trim();
    return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
  }
  return undefined;
}

/**
 * Build the shared core from an adapter's options: the verifier (created from the options
 * when none is given), realm, token extraction. Throws `ConfigError` for bad options.
 * @internal
 */
export function createAdapterCore<Req>(options: AdapterOptions<Req>): AdapterCore<Req> {
  if (options === null || typeof options !== 'object') throw new ConfigError('options object required');
  if (options.verifier !== undefined && (['issuer', 'audience', 'jwksUri', 'keys', 'cacheOptions', 'logger'] as const).some((k) => options[k] !== undefined)) {
    throw new ConfigError('give either verifier or the verifier options (issuer, audience, jwksUri ...), not both');
  }
  const owned = options.verifier === undefined;
  const verifier = options.verifier ?? createVerifier(options as VerifierOptions);
  const realm = options.realm ?? 'api';
  if (typeof realm !== 'string') throw new ConfigError('realm must be a string');
  const header = options.header === undefined ? 'authorization' : options.header;
  if (header !== false && (typeof header !== 'string' || header === '')) throw new ConfigError('header must be a header name or false');
  const headerName = header === false ? undefined : header.toLowerCase();
  const { cookie, getToken } = options;
  if (cookie !== undefined && (typeof cookie !== 'string' || cookie === '')) throw new ConfigError('cookie must be a cookie name');
  if (getToken !== undefined && typeof getToken !== 'function') throw new ConfigError('getToken must be a function');
  if (options.clientId !== undefined && typeof options.clientId !== 'function') throw new ConfigError('clientId must be a function');
  const missing = () => new BearerRequestError('TOKEN_MISSING', 'no bearer token in the request', { realm });
  return {
    verifier,
    owned,
    realm,
    passErrors: options.passErrors ?? false,
    clientId: options.clientId,
    async extract(req, getHeader) {
      if (getToken) {
        const t = await getToken(req);
        return typeof t === 'string' && t !== '' ? t : missing();
      }
      if (headerName !== undefined) {
        const parsed = parseAuthorization(getHeader(headerName), realm);
        if (parsed !== undefined) return parsed;
      }
      if (cookie !== undefined) {
        const t = readCookie(getHeader('cookie'), cookie);
        if (t) return t;
      }
      return missing();
    },
  };
}

/**
 * The answer for an error, or `undefined` when it is not ours to answer (a `ConfigError`,
 * anything else: let the framework's error handling have it).
 */
export function answerFor(err: unknown, realm?: string): BearerAnswer | undefined {
  if (err instanceof TokenInvalidError) {
    const description = describeTokenError(err);
    return { status: 401, headers: { 'WWW-Authenticate': bearerChallenge(err, realm) }, body: { error: 'invalid_token', error_description: description, code: err.code } };
  }
  if (err instanceof BearerRequestError) {
    const error = err.code === 'AUTHORIZATION_MALFORMED' ? 'invalid_request' : err.code === 'INSUFFICIENT_SCOPE' ? 'insufficient_scope' : 'unauthorized';
    const description = err.code === 'AUTHORIZATION_MALFORMED' ? 'malformed Authorization header' : err.code === 'INSUFFICIENT_SCOPE' ? 'insufficient scope' : 'bearer token required';
    return { status: err.httpStatus, headers: { 'WWW-Authenticate': bearerChallenge(err, realm) }, body: { error, error_description: description, code: err.code } };
  }
  if (err instanceof KeysUnavailableError) {
    const headers: Record<string, string> = {};
    const s = retryAfterSeconds(err.retryAfterMs);
    if (s !== undefined) headers['Retry-After'] = s;
    return { status: 503, headers, body: { error: 'temporarily_unavailable', error_description: 'signing keys are unavailable, retry later', code: err.code } };
  }
  return undefined;
}

function addScopes(into: Set<string>, value: unknown): void {
  if (typeof value === 'string') {
    for (const s of value.split(' ')) if (s !== '') into.add(s);
  } else if (Array.isArray(value)) {
    for (const s of value) if (typeof s === 'string' && s !== '') into.add(s);
  }
}

/**
 * The scopes a token grants: `scope` (RFC 8693/9068, space-separated; an array is accepted
 * too), `scp` (Okta: array; Entra: space-separated string) and `permissions` (Auth0 RBAC:
 * array), merged.
 */
export function scopesOf(payload: JWTPayload | undefined): Set<string> {
  const out = new Set<string>();
  if (payload === undefined || payload === null || typeof payload !== 'object') return out;
  addScopes(out, payload.scope);
  addScopes(out, payload.scp);
  addScopes(out, payload.permissions);
  return out;
}

/** Validate the scopes given to a `requireScopes` helper. @internal */
export function checkScopeList(scopes: readonly string[]): readonly string[] {
  if (scopes.length === 0 || scopes.some((s) => typeof s !== 'string' || s === '' || /\s/.test(s))) {
    throw new ConfigError('requireScopes needs at least one scope, each a non-empty string without spaces');
  }
  return [...scopes];
}

/**
 * `undefined` when `payload` grants every scope of `required`, else the `INSUFFICIENT_SCOPE`
 * error (403) naming them; `TOKEN_MISSING` (401) when there is no verified payload (the scope
 * check ran without the authentication middleware before it).
 */
export function scopeError(payload: JWTPayload | undefined, required: readonly string[], realm?: string): BearerRequestError | undefined {
  if (payload === undefined) return new BearerRequestError('TOKEN_MISSING', 'no verified token: put the authentication middleware first', { realm });
  const granted = scopesOf(payload);
  if (required.every((s) => granted.has(s))) return undefined;
  return new BearerRequestError('INSUFFICIENT_SCOPE', 'the token lacks a required scope', { realm, requiredScopes: required });
}

/** What {@link readinessProbe} reports. */
export interface Readiness {
  /** True once a usable key set is loaded and not expired (`health().state` is not `failing`). */
  ready: boolean;
  /** 200 when ready, else 503: what a `/readyz` route answers. */
  status: 200 | 503;
  /** The cache's health. */
  health: JwksCacheHealth;
}

/**
 * A readiness check for a `/readyz` route: ready once keys are loaded. The first call starts
 * the initial load in the background if nothing did (so a probe alone brings the cache up,
 * instead of `health()` saying `not-loaded` until the first token), and never throws.
 * For a hard start gate, `await verifier.keys.ready()` before `listen()`.
 */
export function readinessProbe(target: Verifier | JwksCache): () => Readiness {
  const keys: JwksCache = 'verify' in target ? target.keys : target;
  let started = false;
  return () => {
    let health = keys.health();
    if (!started && health.reasons.includes('not-loaded')) {
      started = true;
      try {
        keys.ready().catch(() => undefined);
      } catch {
        // closed: health says so
      }
      health = keys.health();
    }
    const ready = health.state !== 'failing';
    return { ready, status: ready ? 200 : 503, health };
  };
}
