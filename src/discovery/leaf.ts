/**
 * The discovery leaf of the cache's source pipeline (the seam of `source/compose.ts`): each
 * load asks the discovery document for the JWKS URL (fresh, last good, or fetched), then
 * delegates to an HTTP leaf for that URL. It sits under the budget and backoff like the HTTP
 * leaf, so a discovery request is part of a budgeted attempt, never an extra one.
 */
import { KeysUnavailableError } from '../errors.js';
import type { ResolvedCacheOptions } from '../options.js';
import type { RecordSource } from '../source/types.js';
import type { Discovery } from './document.js';
import { createDiscovery } from './document.js';

/** What the leaf needs: the discovery source and a factory of HTTP leaves. */
export interface DiscoveryLeafOptions {
  readonly discovery: Discovery;
  /** An HTTP leaf for one JWKS URL (the cache's `httpLeaf` with its transport settings). */
  readonly http: (jwksUri: URL) => RecordSource;
}

/** A {@link RecordSource} that resolves `jwks_uri` by discovery first. */
export function discoveryLeaf(o: DiscoveryLeafOptions): RecordSource {
  let leaf: { jwksUri: string; source: RecordSource } | undefined;
  return {
    async load(current, reason, signal) {
      let doc;
      try {
        doc = await o.discovery.get({ awaitRefresh: true });
      } catch (err) {
        // the refresher reports the failure itself (KEYS_NOT_LOADED wraps it): pass the cause
        throw err instanceof KeysUnavailableError && err.code === 'KEYS_NOT_LOADED' && err.cause instanceof KeysUnavailableError ? err.cause : err;
      }
      if (leaf?.jwksUri !== doc.jwksUri) leaf = { jwksUri: doc.jwksUri, source: o.http(new URL(doc.jwksUri)) };
      // validators of another URL's response mean nothing here
      return leaf.source.load(current?.jwksUri === doc.jwksUri ? current : undefined, reason, signal);
    },
  };
}

/**
 * The cache's leaf: the HTTP leaf for `jwksUri`, or with `discovery` a discovery leaf whose
 * document request shares the cache's fetch, headers, deadline and clocks (no timers of its own).
 */
export function leafFor(o: ResolvedCacheOptions, http: (jwksUri: URL) => RecordSource): RecordSource {
  if (!o.discovery) return http(o.jwksUri);
  const discovery = createDiscovery({
    ...o.discovery,
    fetch: o.transport.fetch,
    headers: o.transport.headers,
    allowInsecureHttp: o.transport.allowInsecureHttp,
    timeoutMs: o.transport.timeoutMs,
    clock: o.runtime.clock,
    scheduler: o.runtime.scheduler,
    background: false,
  });
  return discoveryLeaf({ discovery, http });
}
