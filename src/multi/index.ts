/**
 * `jwks-keeper/multi`: one verifier for tokens of several issuers.
 *
 * The token's UNVERIFIED `iss` only chooses among the issuers you configured (exact match, or
 * an Entra-style `{tenantid}` template filled with the token's `tid`); the chosen issuer's
 * verifier then checks everything, `iss` included. An `iss` that matches no configured issuer
 * is rejected with `ISSUER_NOT_ALLOWED` before any key lookup, so it never causes a fetch.
 * No URL is ever taken from a token. Issuers that use the same JWKS URL share one cache, hence
 * one unknown-kid budget.
 *
 * ```ts
 * const verifier = createMultiIssuerVerifier({
 *   issuers: [
 *     { issuer: 'https://tenant-a.auth0.com/', audience: 'api://orders', jwksUri: 'https://tenant-a.auth0.com/.well-known/jwks.json' },
 *     { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: ['…'], audience: 'api://orders',
 *       jwksUri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys' },
 *   ],
 * });
 * ```
 *
 * @packageDocumentation
 */
import { decodeJwt } from 'jose';
import { ConfigError, TokenInvalidError, createJwksCache, createVerifier } from '../index.js';
import type { JwksCache, JwksCacheOptions, LookupContext, VerifierOptions, VerifyResult } from '../index.js';
import { createDiscoveredVerifier } from '../discovery/verifier.js';
import type { DiscoveredVerifier, DiscoveredVerifierOptions } from '../discovery/verifier.js';

/** One accepted issuer: the options of `createVerifier`, with the key source given as `jwksUri` or `keys`. */
export type IssuerOptions = Omit<VerifierOptions, 'jwksUri' | 'keys' | 'cacheOptions'> & {
  /**
   * The issuer's JWKS URL. Issuers with the same URL (compared after URL normalisation) share
   * one cache. Default: discovered from the issuer's `/.well-known/openid-configuration`
   * (RFC 8414 as fallback); discovered URLs share caches too.
   */
  jwksUri?: string | URL;
  /** Discovery settings, when `jwksUri` and `keys` are not given. */
  discovery?: DiscoveredVerifierOptions['discovery'];
  /** An existing cache instead of `jwksUri` (not closed by `close()`). */
  keys?: JwksCache;
};

/** Options of {@link createMultiIssuerVerifier}. */
export interface MultiIssuerOptions {
  /** The accepted issuers. At least one; an exact `issuer` may appear once. */
  issuers: readonly IssuerOptions[];
  /** Options of every cache the router creates (one per distinct JWKS URL). Default: the cache defaults. */
  cacheOptions?: Omit<JwksCacheOptions, 'jwksUri'>;
  /** Longest token looked at for routing, in characters. Default: 16 384 (the verifier's default `maxTokenBytes`). */
  maxTokenBytes?: number;
}

/** A successful verification, with the configured issuer that accepted the token. */
export interface MultiVerifyResult extends VerifyResult {
  /** The configured `issuer` (the template, for a templated issuer) whose verifier accepted the token. */
  issuer: string;
}

/** The multi-issuer verifier. */
export interface MultiIssuerVerifier {
  /** Verify a token of any configured issuer. Rejects with `TokenInvalidError` or `KeysUnavailableError` only. */
  verify(token: string, ctx?: LookupContext): Promise<MultiVerifyResult>;
  /** The caches in use, by JWKS URL (for health checks, metrics, `ready()`); discovered URLs appear once discovered. */
  readonly caches: ReadonlyMap<string, JwksCache>;
  /** Start every cache and resolve when all have keys; rejects with the first failure. */
  ready(): Promise<void>;
  /** Close the caches the router created. */
  close(): Promise<void>;
}

const TENANT = '{tenantid}';
const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

interface Route {
  issuer: string;
  verifier: { verify(token: string, ctx?: LookupContext): Promise<VerifyResult>; close?(): Promise<void> };
}

interface Template {
  prefix: string;
  suffix: string;
  route: Route;
}

/** Create a verifier for several issuers. Nothing is fetched until the first token (or `ready()`). */
export function createMultiIssuerVerifier(options: MultiIssuerOptions): MultiIssuerVerifier {
  if (!options || typeof options !== 'object' || !Array.isArray(options.issuers) || options.issuers.length === 0) {
    throw new ConfigError('issuers must be a non-empty array');
  }
  const maxTokenBytes = options.maxTokenBytes ?? 16_384;
  const caches = new Map<string, JwksCache>();
  const owned: JwksCache[] = [];
  const exact = new Map<string, Route>();
  const templates: Template[] = [];

  function cacheFor(uri: string | URL): JwksCache {
    let href: string;
    try {
      href = new URL(uri).href;
    } catch {
      throw new ConfigError(`jwksUri is not a valid URL: ${String(uri)}`);
    }
    let cache = caches.get(href);
    if (!cache) {
      cache = createJwksCache({ ...options.cacheOptions, jwksUri: href });
      caches.set(href, cache);
      owned.push(cache);
    }
    return cache;
  }

  const discovered: DiscoveredVerifier[] = [];
  for (const io of options.issuers) {
    if (!io || typeof io !== 'object') throw new ConfigError('each issuer must be an options object');
    const { jwksUri, keys, discovery, ...rest } = io;
    if (jwksUri !== undefined && keys !== undefined) throw new ConfigError(`issuer ${String(io.issuer)}: give at most one of jwksUri or keys`);
    let verifier: Route['verifier'];
    if (jwksUri === undefined && keys === undefined) {
      const d = createDiscoveredVerifier({ ...rest, cacheOptions: options.cacheOptions, discovery }, (uri) => ({ cache: cacheFor(uri), owned: false }));
      discovered.push(d);
      verifier = d;
    } else {
      const cache = keys ?? cacheFor(jwksUri!);
      if (keys && !caches.has(keys.jwksUri)) caches.set(keys.jwksUri, keys);
      verifier = createVerifier({ ...rest, keys: cache });
    }
    const route: Route = { issuer: io.issuer, verifier };
    if (io.issuer.includes(TENANT)) {
      const at = io.issuer.indexOf(TENANT);
      const t = { prefix: io.issuer.slice(0, at), suffix: io.issuer.slice(at + TENANT.length), route };
      if (templates.some((x) => x.prefix === t.prefix && x.suffix === t.suffix)) throw new ConfigError(`issuer ${io.issuer} is configured twice`);
      templates.push(t);
    } else {
      if (exact.has(io.issuer)) throw new ConfigError(`issuer ${io.issuer} is configured twice`);
      exact.set(io.issuer, route);
    }
  }

  /** The configured issuer for an unverified `iss`: exact first, then templates (the tenant is checked by its verifier). */
  function route(iss: string): Route | undefined {
    const hit = exact.get(iss);
    if (hit) return hit;
    for (const t of templates) {
      if (iss.length > t.prefix.length + t.suffix.length && iss.startsWith(t.prefix) && iss.endsWith(t.suffix)) {
        const tid = iss.slice(t.prefix.length, iss.length - t.suffix.length);
        if (TENANT_ID.test(tid)) return t.route;
      }
    }
    return undefined;
  }

  async function verify(token: string, ctx?: LookupContext): Promise<MultiVerifyResult> {
    if (typeof token !== 'string' || token.length > maxTokenBytes) {
      throw new TokenInvalidError(typeof token === 'string' ? 'TOKEN_TOO_LARGE' : 'TOKEN_MALFORMED', 'token too large or not a string');
    }
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch (err) {
      throw new TokenInvalidError('TOKEN_MALFORMED', 'not a compact JWT', { cause: err });
    }
    const r = typeof iss === 'string' ? route(iss) : undefined;
    if (!r) throw new TokenInvalidError('ISSUER_NOT_ALLOWED', 'the token issuer is not configured', { claim: 'iss' });
    const result = await r.verifier.verify(token, ctx);
    return { ...result, issuer: r.issuer };
  }

  return {
    verify,
    caches,
    async ready() {
      await Promise.all([...discovered.map((d) => d.ready()), ...[...caches.values()].map((c) => c.ready())]);
    },
    async close() {
      await Promise.all(discovered.map((d) => d.close()));
      await Promise.all(owned.map((c) => c.close()));
    },
  };
}
