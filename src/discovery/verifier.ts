/**
 * A verifier configured by issuer alone: the JWKS URL comes from the issuer's discovery
 * document (see {@link createDiscovery}). The cache for that URL is created once the document
 * is known; if a later document names another `jwks_uri`, a cache for the new URL takes over.
 * Before the first document, a token whose unverified `iss` is not the configured issuer is
 * rejected without any request, so garbage tokens cannot trigger discovery.
 */
import { decodeJwt } from 'jose';
import { ConfigError, TokenInvalidError, createJwksCache, createVerifier } from '../index.js';
import type { JwksCache, LookupContext, Verifier, VerifierOptions, VerifyResult } from '../index.js';
import { createDiscovery } from './document.js';
import type { Discovery, DiscoveryOptions } from './document.js';

/** Options of {@link createDiscoveredVerifier}: the verifier's, without a key source, plus discovery's. */
export type DiscoveredVerifierOptions = Omit<VerifierOptions, 'jwksUri' | 'keys'> & {
  /** Discovery settings (timeouts, freshness, staleness). `fetch`, `clock`, `scheduler`, `headers`, `allowInsecureHttp` default to `cacheOptions`'. */
  discovery?: Omit<DiscoveryOptions, 'issuer'>;
};

/** A verifier whose key set is found by discovery. */
export interface DiscoveredVerifier {
  /** Verify a token (discovering the JWKS URL first if needed). Rejects with `TokenInvalidError` or `KeysUnavailableError`. */
  verify(token: string, ctx?: LookupContext): Promise<VerifyResult>;
  /** Discover and load the key set; rejects with the first failure. */
  ready(): Promise<void>;
  /** The discovery source (document, refresh). */
  readonly discovery: Discovery;
  /** The cache in use, once discovery succeeded. */
  keys(): JwksCache | undefined;
  /** Stop discovery and close the caches this verifier created. */
  close(): Promise<void>;
}

/** How a cache is obtained for a discovered URL: the router shares one per URL. @internal */
export type CacheProvider = (jwksUri: string) => { cache: JwksCache; owned: boolean };

/** Create a verifier from `issuer` (+ `audience` …) alone. Nothing is fetched until the first token or `ready()`. */
export function createDiscoveredVerifier(options: DiscoveredVerifierOptions, provider?: CacheProvider): DiscoveredVerifier {
  if (!options || typeof options.issuer !== 'string') throw new ConfigError('issuer is required');
  // the cache options (and logger) go to the caches created here, not to createVerifier
  const { discovery: dOpts, cacheOptions, logger, ...verifierOptions } = options;
  const co = { ...cacheOptions, ...(logger !== undefined && { logger }) };
  const discovery = createDiscovery({
    fetch: co.fetch,
    clock: co.clock,
    scheduler: co.scheduler,
    headers: co.headers,
    allowInsecureHttp: co.allowInsecureHttp,
    ...dOpts,
    issuer: options.issuer,
  });
  const getCache: CacheProvider = provider ?? ((jwksUri) => ({ cache: createJwksCache({ ...co, jwksUri }), owned: true }));
  // validate the verifier options now (a bad audience is a configuration error at startup)
  createVerifier({ ...verifierOptions, keys: placeholderCache() });
  const owned: JwksCache[] = [];
  let current: { jwksUri: string; verifier: Verifier; cache: JwksCache } | undefined;

  function use(jwksUri: string): { verifier: Verifier; cache: JwksCache } {
    if (current?.jwksUri === jwksUri) return current;
    const { cache, owned: isOwned } = getCache(jwksUri);
    if (isOwned) owned.push(cache);
    const previous = current;
    current = { jwksUri, cache, verifier: createVerifier({ ...verifierOptions, keys: cache }) };
    // the previous cache keeps serving lookups already in flight; it is closed with the verifier
    void previous;
    return current;
  }

  discovery.onJwksUriChange((doc) => void use(doc.jwksUri));

  async function verify(token: string, ctx?: LookupContext): Promise<VerifyResult> {
    const doc = discovery.current();
    if (doc && current?.jwksUri === doc.jwksUri) {
      void discovery.get().catch(() => {}); // background refresh when due
      return current.verifier.verify(token, ctx);
    }
    if (!doc) {
      let iss: unknown;
      try {
        iss = decodeJwt(token).iss;
      } catch (err) {
        throw new TokenInvalidError('TOKEN_MALFORMED', 'not a compact JWT', { cause: err });
      }
      if (iss !== options.issuer) throw new TokenInvalidError('ISSUER_NOT_ALLOWED', 'the token issuer is not the configured issuer', { claim: 'iss' });
    }
    const d = await discovery.get();
    return use(d.jwksUri).verifier.verify(token, ctx);
  }

  return {
    verify,
    discovery,
    keys: () => current?.cache,
    async ready() {
      const d = await discovery.get();
      await use(d.jwksUri).cache.ready();
    },
    async close() {
      discovery.close();
      await Promise.all(owned.map((c) => c.close()));
    },
  };
}

/** A cache that is never started: only used to validate verifier options at construction. */
function placeholderCache(): JwksCache {
  return createJwksCache({ jwksUri: 'https://discovery.invalid/jwks' });
}
