/**
 * OIDC discovery (OpenID Connect Discovery 1.0 §4) with RFC 8414 as fallback: the JWKS URL of
 * a configured issuer, from `<issuer>/.well-known/openid-configuration`, else
 * `https://host/.well-known/oauth-authorization-server<path>`.
 *
 * The document's `issuer` must equal the configured issuer exactly (OIDC §4.3, RFC 8414 §3.3),
 * its `jwks_uri` must pass the same URL rules as a configured `jwksUri`, and the document is
 * fetched through the JWKS transport (one total deadline, byte cap, no redirects, JSON only).
 * It is cached by its HTTP freshness (clamped), refreshed in the background, and the last good
 * document keeps serving while refreshes fail (up to `maxStaleMs`). No URL here ever comes
 * from a token.
 */
import { KeysUnavailableError, ConfigError } from '../errors.js';
import { checkJwksUrl, fetchJwksDocument } from '../fetch/transport.js';
import type { FetchLike, Validators } from '../fetch/transport.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import { systemClock, systemScheduler } from '../runtime/clock.js';

/** Options of {@link createDiscovery}. */
export interface DiscoveryOptions {
  /** The issuer, exactly as tokens carry it in `iss` (and as the document must state it). `https:` unless loopback or `allowInsecureHttp`. */
  issuer: string;
  /** Which well-known documents to try, in order. Default: `['openid-configuration', 'oauth-authorization-server']`. */
  wellKnown?: readonly ('openid-configuration' | 'oauth-authorization-server')[];
  /** Total deadline of one document request. Unit: ms. Default: 5 000 (as the JWKS request). */
  timeoutMs?: number;
  /** Cap on the document's decoded bytes. Default: 262 144 (real documents are 1–10 KiB). */
  maxResponseBytes?: number;
  /** Allow `http:` issuers and `jwks_uri`s to non-loopback hosts. Default: false. */
  allowInsecureHttp?: boolean;
  /** Extra request headers. Default: none. */
  headers?: Record<string, string>;
  /** Your fetch; the deadline and byte cap apply around it. Default: global `fetch`. */
  fetch?: FetchLike;
  /** Lower clamp of the document's HTTP freshness. Unit: ms. Default: 300 000 (5 min). */
  minRefreshIntervalMs?: number;
  /** Upper clamp of the document's HTTP freshness. Unit: ms. Default: 86 400 000 (24 h; `jwks_uri` almost never moves). */
  maxRefreshIntervalMs?: number;
  /** Freshness without cache headers. Unit: ms. Default: 3 600 000 (1 h). */
  defaultRefreshIntervalMs?: number;
  /**
   * How long the last good document keeps serving after its freshness while refreshes fail.
   * Unit: ms. Default: 604 800 000 (7 days): a discovery outage alone should never stop
   * verification; the key set has its own, shorter staleness bound.
   */
  maxStaleMs?: number;
  /** First retry delay after a failed refresh, doubled per failure up to 5 min. Unit: ms. Default: 2 000. */
  backoffInitialMs?: number;
  /**
   * Refresh the document on its own timer when its freshness ends, and retry on a timer after a
   * failure. Default: true. The cache's discovery leaf sets false: its loads ask for the
   * document (refreshing it when stale, within their budget) and no timer outlives the cache.
   */
  background?: boolean;
  /** Injected clocks and timers. Default: the process clocks, unref'd timers. */
  clock?: Clock;
  scheduler?: Scheduler;
}

/** A validated discovery document. */
export interface DiscoveryDocument {
  /** The issuer (equal to the configured one). */
  readonly issuer: string;
  /** The JWKS URL (checked like a configured `jwksUri`). */
  readonly jwksUri: string;
  /** Which well-known document it came from. */
  readonly source: 'openid-configuration' | 'oauth-authorization-server';
  /** The whole document as parsed JSON (frozen copy). */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** A cached discovery document. */
export interface Discovery {
  /**
   * The current document: fresh, or last good while refreshes fail; fetched first when there
   * is none. A stale document is refreshed in the background, or, with `awaitRefresh`, before
   * answering (falling back to the last good one if that fails). Rejects with `KeysUnavailableError`.
   */
  get(opts?: { awaitRefresh?: boolean }): Promise<DiscoveryDocument>;
  /** The document in hand, without fetching (`undefined` before the first success). */
  current(): DiscoveryDocument | undefined;
  /** Fetch now (joins a fetch in flight). */
  refresh(): Promise<DiscoveryDocument>;
  /** Subscribe to changes of the JWKS URL (not called for the first document). Returns an unsubscribe function. */
  onJwksUriChange(listener: (doc: DiscoveryDocument, previous: DiscoveryDocument) => void): () => void;
  /** Stop background refreshes. */
  close(): void;
}

const num = (name: string, v: number | undefined, dflt: number, min: number): number => {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || Number.isNaN(v) || v < min) throw new ConfigError(`${name} must be a number ≥ ${min}`);
  return v;
};

/** The well-known URLs for an issuer, in the order given (pure; exported for tests). */
export function discoveryUrls(issuer: URL, which: readonly ('openid-configuration' | 'oauth-authorization-server')[]): { url: URL; source: DiscoveryDocument['source'] }[] {
  const path = issuer.pathname.replace(/\/+$/, '');
  return which.map((source) =>
    source === 'openid-configuration'
      ? { source, url: new URL(`${issuer.origin}${path}/.well-known/openid-configuration`) }
      : { source, url: new URL(`${issuer.origin}/.well-known/oauth-authorization-server${path}`) },
  );
}

/** Create a discovery source for one issuer. Nothing is fetched until `get()`. */
export function createDiscovery(options: DiscoveryOptions): Discovery {
  if (!options || typeof options.issuer !== 'string' || options.issuer.length === 0) throw new ConfigError('issuer is required for discovery');
  if (options.issuer.includes('{')) throw new ConfigError('a templated issuer cannot be discovered: give jwksUri');
  const allowHttp = options.allowInsecureHttp ?? false;
  const issuerUrl = checkJwksUrl(options.issuer, allowHttp);
  if (issuerUrl.search !== '' || issuerUrl.hash !== '') throw new ConfigError('an issuer URL has no query or fragment (OIDC Discovery §4)');
  const urls = discoveryUrls(issuerUrl, options.wellKnown ?? ['openid-configuration', 'oauth-authorization-server']);
  if (urls.length === 0) throw new ConfigError('wellKnown must name at least one document');
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? systemScheduler;
  const minMs = num('minRefreshIntervalMs', options.minRefreshIntervalMs, 300_000, 0);
  const maxMs = num('maxRefreshIntervalMs', options.maxRefreshIntervalMs, 86_400_000, 1);
  const dfltMs = num('defaultRefreshIntervalMs', options.defaultRefreshIntervalMs, 3_600_000, 0);
  const maxStaleMs = num('maxStaleMs', options.maxStaleMs, 604_800_000, 0);
  const backoffInitialMs = num('backoffInitialMs', options.backoffInitialMs, 2_000, 1);
  const limits = {
    timeoutMs: num('timeoutMs', options.timeoutMs, 5_000, 1),
    maxResponseBytes: num('maxResponseBytes', options.maxResponseBytes, 256 * 1024, 64),
    allowRedirects: false,
    allowInsecureHttp: allowHttp,
    acceptAnyContentType: false,
    headers: options.headers ?? {},
  };
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const controller = new AbortController();
  const listeners = new Set<(doc: DiscoveryDocument, previous: DiscoveryDocument) => void>();

  let doc: DiscoveryDocument | undefined;
  let freshUntil = -Infinity;
  let validators: Validators = {};
  let preferred = 0;
  let failures = 0;
  let nextAttemptAt = -Infinity;
  let lastError: KeysUnavailableError | undefined;
  let inflight: Promise<DiscoveryDocument> | undefined;
  let timer: unknown;
  let closed = false;

  function validate(body: unknown, source: DiscoveryDocument['source']): DiscoveryDocument {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new KeysUnavailableError('JWKS_MALFORMED', `discovery document (${source}) is not a JSON object`);
    }
    const m = body as Record<string, unknown>;
    if (m.issuer !== options.issuer) {
      throw new KeysUnavailableError('JWKS_MALFORMED', `discovery document (${source}) names another issuer than the configured one`);
    }
    if (typeof m.jwks_uri !== 'string') throw new KeysUnavailableError('JWKS_MALFORMED', `discovery document (${source}) has no jwks_uri`);
    let jwks: URL;
    try {
      jwks = checkJwksUrl(m.jwks_uri, allowHttp);
    } catch (cause) {
      throw new KeysUnavailableError('JWKS_MALFORMED', `discovery document (${source}) has an unusable jwks_uri`, { cause });
    }
    return Object.freeze({ issuer: options.issuer, jwksUri: jwks.href, source, metadata: Object.freeze(structuredClone(m)) });
  }

  async function fetchOnce(): Promise<DiscoveryDocument> {
    let firstError: KeysUnavailableError | undefined;
    // the document that worked last time first, then the others
    const order = [urls[preferred]!, ...urls.filter((_, i) => i !== preferred)];
    for (const { url, source } of order) {
      try {
        const sameSource = doc?.source === source;
        const r = await fetchJwksDocument(url, sameSource ? validators : {}, limits, { fetch: fetchImpl, clock, scheduler, signal: controller.signal });
        let next: DiscoveryDocument;
        if (r.kind === 'not-modified') next = doc!;
        else next = validate(r.body, source);
        validators = r.validators;
        preferred = urls.findIndex((u) => u.source === source);
        const freshness = Math.min(maxMs, Math.max(minMs, r.freshnessMs ?? dfltMs));
        return install(next, freshness);
      } catch (err) {
        const e = err instanceof KeysUnavailableError ? err : new KeysUnavailableError('JWKS_NETWORK', 'discovery failed', { cause: err });
        if (e.code === 'CLOSED') throw e;
        firstError ??= e;
      }
    }
    throw firstError!;
  }

  function install(next: DiscoveryDocument, freshnessMs: number): DiscoveryDocument {
    const now = clock.monotonicNow();
    const previous = doc;
    doc = next;
    freshUntil = now + freshnessMs;
    failures = 0;
    nextAttemptAt = -Infinity;
    lastError = undefined;
    schedule(freshUntil);
    if (previous && previous.jwksUri !== next.jwksUri) {
      for (const l of [...listeners]) {
        try {
          l(next, previous);
        } catch {
          // listeners observe; they cannot break discovery
        }
      }
    }
    return next;
  }

  const background = options.background ?? true;
  function schedule(at: number): void {
    if (closed || !background) return;
    scheduler.clearTimeout(timer);
    timer = scheduler.setTimeout(() => void refresh().catch(() => {}), Math.max(0, at - clock.monotonicNow()));
  }

  function refresh(): Promise<DiscoveryDocument> {
    if (closed) return Promise.reject(new KeysUnavailableError('CLOSED', 'discovery was closed'));
    inflight ??= fetchOnce()
      .catch((err: KeysUnavailableError) => {
        failures++;
        lastError = err;
        const delay = Math.min(300_000, backoffInitialMs * 2 ** Math.min(failures - 1, 20));
        nextAttemptAt = clock.monotonicNow() + delay;
        schedule(nextAttemptAt);
        throw err;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  async function get(opts?: { awaitRefresh?: boolean }): Promise<DiscoveryDocument> {
    const now = clock.monotonicNow();
    if (doc && now <= freshUntil) return doc;
    if (doc && now <= freshUntil + maxStaleMs) {
      if (now >= nextAttemptAt) {
        const p = refresh();
        if (opts?.awaitRefresh) return p.catch(() => doc!);
        void p.catch(() => {});
      }
      return doc;
    }
    if (now < nextAttemptAt && lastError) {
      throw new KeysUnavailableError('KEYS_NOT_LOADED', `discovery unavailable (${lastError.code})`, { cause: lastError, retryAfterMs: nextAttemptAt - now });
    }
    try {
      return await refresh();
    } catch (err) {
      const e = err as KeysUnavailableError;
      throw new KeysUnavailableError('KEYS_NOT_LOADED', `discovery unavailable (${e.code}: ${e.message})`, { cause: e, retryAfterMs: Math.max(0, nextAttemptAt - clock.monotonicNow()) });
    }
  }

  return {
    get,
    current: () => doc,
    refresh,
    onJwksUriChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      scheduler.clearTimeout(timer);
      controller.abort();
    },
  };
}
