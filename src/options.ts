/**
 * The public option types of the cache. Defaults, bounds and reasons are declared once in
 * `options/defaults.ts` and applied by `options/resolve.ts` (nested resolved options); the
 * TSDoc here and the README's configuration reference state the same values.
 */
import type { Clock, Random, Scheduler } from './runtime/clock.js';
import type { FetchLike } from './fetch/transport.js';
import type { PersistenceOptions } from './store/snapshot-store.js';
import type { RefreshBudget } from './source/budget.js';
import type { SourceLayer } from './source/types.js';
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
   * Distinct unknown kids one client (the `clientId` passed to `verify`) may hold waiting, and
   * its share of a full waiting room. Default: 1/8 of `maxWaiters` (512), so a single client
   * cannot occupy the waiting room. Lookups for a kid the client already waits for are never
   * refused by this cap while the room has space (behind a proxy every request carries the
   * same `clientId`, and a burst of tokens for one new key must all pass); once the room is
   * full, a client above its share cannot take a slot from another client. Applies only when
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
  /**
   * The priority path: a popular unknown kid (a real new key, carried by many tokens from
   * many clients) may start a refresh at once from a small allowance of its own instead of
   * waiting for the next slot of the shared budget. `false` turns it off. See
   * {@link PriorityOptions} for what "popular" means and what it costs.
   */
  priority?: PriorityOptions | false;
}

/**
 * The priority path of the unknown-kid defence. A kid is *popular* when it was looked up at
 * least `minSightings` times within `windowMs` and, when those lookups carry `clientId`s, by
 * at least `minClients` distinct ones. A popular kid still absent after the shared budget is
 * spent may start a refresh from the priority allowance (`burst`, one earned back per
 * `cooldownMs`), at most once per key-set generation per kid. Worst case (an attacker making
 * fake kids look popular): `burst + ⌈60 000 / cooldownMs⌉` extra JWKS requests in any minute
 * per instance (5 with the defaults, 3 a minute sustained), and a real kid then waits as
 * without the priority path: at most one `unknownKid.cooldownMs`. The allowance is local to
 * each instance, also with a custom (fleet-wide) `budget`.
 */
export interface PriorityOptions {
  /** Lookups of the kid needed within `windowMs`. Default: 3 (one-off random kids are seen once). */
  minSightings?: number;
  /** The popularity window. Unit: ms. Default: 10 000 (one default cooldown: a kid that slow gains little over the shared budget). */
  windowMs?: number;
  /** Distinct `clientId`s needed within `windowMs` when lookups carry one. Default: 3 (one client repeating a kid is not popularity). Set 1 if every request carries the same `clientId` (a proxy address). */
  minClients?: number;
  /** Priority refreshes available at once. Default: 2. `0` turns the priority path off. */
  burst?: number;
  /** One priority refresh is earned back per this many ms. Default: 20 000 (3 a minute sustained). */
  cooldownMs?: number;
}

/** Discovery settings of a cache (the `discovery` option). */
export interface CacheDiscoveryOptions {
  /** The issuer, exactly as tokens carry it in `iss`. */
  issuer: string;
  /** Well-known documents to try, in order. Default: `['openid-configuration', 'oauth-authorization-server']`. */
  wellKnown?: readonly ('openid-configuration' | 'oauth-authorization-server')[];
  /** How long the last good document serves while its refreshes fail. Unit: ms. Default: 604 800 000 (7 days). */
  maxStaleMs?: number;
}

/** Options of {@link createJwksCache}. */
export interface JwksCacheOptions {
  /**
   * The JWKS URL, from configuration only (never from a token). `https:` required except for
   * loopback hosts. Required unless `discovery` is given.
   */
  jwksUri?: string | URL;
  /**
   * Find the JWKS URL by OIDC discovery from the issuer instead of `jwksUri`:
   * `<issuer>/.well-known/openid-configuration`, RFC 8414's `oauth-authorization-server` as
   * fallback; the document's `issuer` must equal this one exactly. The document goes through
   * the same transport limits, `fetch`, `headers` and clocks, is asked for by each key-set load
   * (inside its budget) and refreshed when stale; the last good one survives outages for
   * `maxStaleMs` (default 7 days). Default: none. See docs/dropins.md.
   */
  discovery?: CacheDiscoveryOptions;
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
   * The refresh budget shared by every attempt except the first load and `refresh()`.
   * Default: an in-memory token bucket (`unknownKid.burst` at once, one earned back per
   * `unknownKid.cooldownMs`), per process. Give one to share the budget across a fleet (for
   * example a Redis bucket); it may answer asynchronously. Refused together with
   * `unknownKid.burst`, which configures only the default bucket.
   */
  budget?: RefreshBudget;
  /**
   * Advanced: the shared-store layer of the source pipeline (between single flight and the
   * budget; see docs/architecture.md), for fleet modules such as a Redis store that read
   * records other instances published before fetching, and lock so one instance fetches.
   * Default: none (every instance fetches for itself).
   */
  sharedLayer?: SourceLayer;
  /**
   * Fleet mode: share one key-set record per JWKS URL with the other instances through a
   * shared store, e.g. `redisFleet({ url, secret })` from `jwks-keeper/redis` (docs/fleet.md).
   * Default: none (this instance fetches, budgets and single-flights alone). A refresh first
   * reads the shared record, then takes a lease lock (held for `timeoutMs` + 2 s) so one
   * instance fetches; the others wait at most `unknownKid.maxWaitMs` for its record. The
   * unknown-kid and background budget is the fleet's when the store has one. The hot path
   * never touches the store; when it fails, the instance goes on local-only. Refused
   * together with `sharedLayer` (the fleet is the shared layer).
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

export type { ResolvedCacheOptions } from './options/resolve.js';
export { resolveCacheOptions } from './options/resolve.js';
