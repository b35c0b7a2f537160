/**
 * The priority path of the unknown-kid defence: tell a real new kid from noise by its traffic.
 *
 * A kid the IdP has just started signing with is carried by many tokens, usually from many
 * clients, within milliseconds; the kids of a random-kid flood are seen once each. A kid that
 * is demonstrably *popular* may start a refresh at once from a small allowance of its own,
 * instead of waiting for the next slot of the shared refresh budget.
 *
 * **Popular**, precisely: at the moment of a lookup, the kid was looked up at least
 * `minSightings` times within the last `windowMs` (this lookup included) and, when any of
 * those lookups carried a `clientId`, by at least `minClients` distinct `clientId`s within the
 * same window. Lookups answered by the negative cache are not sightings (a kid confirmed
 * absent cannot become popular again until that answer expires).
 *
 * **The allowance** is a token bucket separate from the shared budget: `burst` attempts, one
 * earned back per `cooldownMs`. One-off kids never spend it (they are never popular), and a
 * kid may spend it at most once per key-set generation, so repeating one fake kid, or
 * spreading it over many `clientId`s, buys one refresh at most, after which the kid is
 * negative-cached like any other. An attacker who mimics a real kid's traffic with ever new
 * fake kids spends at most the allowance: in any window of 60 s, at most
 * {@link priorityAttemptsPerWindow}(cfg, 60 000) extra IdP requests (5 with the defaults).
 * The shared budget is untouched by priority refreshes, so a real kid is never delayed beyond
 * the bound it had without the priority path: the next slot of the shared budget (one
 * cooldown).
 *
 * Everything here takes `now` (monotonic ms) and never touches a clock or a timer; memory is
 * bounded by `capacity` kids of a few numbers each.
 */
import type { BucketState } from './refresh.js';
import { bucketInit, bucketReadyAt, bucketTake } from './refresh.js';

/** What makes a kid popular. */
export interface PopularityConfig {
  /** Lookups of the kid needed within `windowMs`. Default: 3. */
  minSightings: number;
  /** The window, in ms. Default: 10 000 (one default cooldown). */
  windowMs: number;
  /** Distinct `clientId`s needed within `windowMs` when lookups carry `clientId`s. Default: 3. */
  minClients: number;
}

/** The priority allowance. */
export interface AllowanceConfig {
  /** Priority attempts available at once. Default: 2. */
  burst: number;
  /** One priority attempt is earned back per this many ms. Default: 20 000 (3 a minute sustained). */
  cooldownMs: number;
}

/** All priority settings. */
export interface PriorityConfig extends PopularityConfig, AllowanceConfig {
  /** Kids tracked at once (least recently seen forgotten first). */
  capacity: number;
}

/** The defaults, with the reasons given on each field of {@link PopularityConfig} and {@link AllowanceConfig}. */
export const PRIORITY_DEFAULTS: Readonly<Omit<PriorityConfig, 'capacity'>> = Object.freeze({
  minSightings: 3,
  windowMs: 10_000,
  minClients: 3,
  burst: 2,
  cooldownMs: 20_000,
});

/**
 * The most priority attempts a token bucket with this configuration can grant within any
 * (closed) window of `windowMs`: the burst plus one per cooldown in the window. With the
 * defaults and a 60 s window: 2 + 3 = 5 (3 a minute sustained).
 */
export function priorityAttemptsPerWindow(cfg: AllowanceConfig, windowMs: number): number {
  return cfg.burst + Math.ceil(windowMs / cfg.cooldownMs);
}

/**
 * The recent sightings of one kid: the times of its last `minSightings` lookups, and its last
 * `minClients` distinct clients (hashed) with the time each was last seen.
 */
export interface Sightings {
  /** Times of the most recent lookups, oldest first; at most `minSightings`. */
  readonly times: number[];
  /** Most recently seen distinct clients, least recent first; at most `minClients`. */
  readonly clients: { id: number; at: number }[];
}

/** A new, empty record. */
export function emptySightings(): Sightings {
  return { times: [], clients: [] };
}

/**
 * Record one lookup at `now` by `client` (a hash of the `clientId`, or `undefined`). Mutates
 * and returns `s`. Keeping only the last `minSightings` times and the last `minClients`
 * distinct clients is exact for {@link isPopular}: if the window holds enough of either, the
 * most recent ones are in it.
 */
export function recordSighting(s: Sightings, now: number, client: number | undefined, cfg: PopularityConfig): Sightings {
  s.times.push(now);
  while (s.times.length > Math.max(1, cfg.minSightings)) s.times.shift();
  if (client !== undefined) {
    const i = s.clients.findIndex((c) => c.id === client);
    if (i >= 0) s.clients.splice(i, 1);
    s.clients.push({ id: client, at: now });
    while (s.clients.length > Math.max(1, cfg.minClients)) s.clients.shift();
  }
  return s;
}

/** Whether the kid with sightings `s` is popular at `now` (see the module comment). */
export function isPopular(s: Sightings, now: number, cfg: PopularityConfig): boolean {
  const since = now - cfg.windowMs;
  const need = Math.max(1, cfg.minSightings);
  if (s.times.length < need || s.times[s.times.length - need]! < since) return false;
  const recentClients = s.clients.filter((c) => c.at >= since).length;
  if (recentClients === 0) return true; // no lookup in the window named a client
  return recentClients >= Math.max(1, cfg.minClients);
}

/** A seeded 53-bit hash of a string (two 32-bit FNV-1a variants), so an entry stays small whatever the kid's length. */
export function seededHash(s: string, seed: number): number {
  let a = (0x811c9dc5 ^ seed) >>> 0;
  let b = (0x01000193 ^ Math.imul(seed, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b) >>> 0;
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae35) >>> 0;
  return (a >>> 0) * 0x200000 + (b & 0x1fffff);
}

/**
 * Popularity of recently looked-up kids, in bounded memory: a recency-ordered map from a
 * seeded hash of the kid to its {@link Sightings}. One-off kids pass through and are
 * forgotten; a kid that keeps being looked up stays at the recent end.
 */
export class PopularityTracker {
  readonly #entries = new Map<number, Sightings>();
  readonly #cfg: PriorityConfig;
  readonly #seed: number;

  /**
   * @param cfg - popularity settings and `capacity` (kids remembered; ≈ 150 bytes each).
   * @param random - seeds the hash, so an attacker cannot aim collisions.
   */
  constructor(cfg: PriorityConfig, random: () => number = Math.random) {
    this.#cfg = { ...cfg, capacity: Math.max(1, Math.floor(cfg.capacity)) };
    this.#seed = Math.floor(random() * 0xffffffff) >>> 0;
  }

  /** Record a lookup of `kid` by `clientId` at `now`; returns whether the kid is popular now. */
  observe(kid: string, clientId: string | undefined, now: number): boolean {
    const h = seededHash(kid, this.#seed);
    let s = this.#entries.get(h);
    if (s) this.#entries.delete(h);
    else {
      if (this.#entries.size >= this.#cfg.capacity) {
        const oldest = this.#entries.keys().next().value;
        if (oldest !== undefined) this.#entries.delete(oldest);
      }
      s = emptySightings();
    }
    this.#entries.set(h, s);
    recordSighting(s, now, clientId === undefined ? undefined : seededHash(clientId, this.#seed ^ 0x5f3759df), this.#cfg);
    return isPopular(s, now, this.#cfg);
  }

  /** Whether `kid` is popular at `now`, without recording a lookup. */
  isPopular(kid: string, now: number): boolean {
    const s = this.#entries.get(seededHash(kid, this.#seed));
    return s !== undefined && isPopular(s, now, this.#cfg);
  }

  /** Kids remembered now. */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * The priority allowance: its own token bucket, and the kids that already spent it in the
 * current generation (each may spend it once per generation; bounded, oldest forgotten).
 */
export class PriorityAllowance {
  #bucket: BucketState;
  readonly #cfg: AllowanceConfig;
  readonly #spent = new Set<string>();
  #generation = -1;
  readonly #maxSpent: number;

  /**
   * @param cfg - the bucket.
   * @param now - monotonic ms; the bucket starts full.
   * @param maxSpent - kids remembered as having spent the allowance (bounded memory). Default 256.
   */
  constructor(cfg: AllowanceConfig, now: number, maxSpent = 256) {
    this.#cfg = { burst: cfg.burst, cooldownMs: cfg.cooldownMs };
    this.#bucket = bucketInit(now, this.#cfg);
    this.#maxSpent = Math.max(1, maxSpent);
  }

  #sync(generation: number): void {
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#spent.clear();
    }
  }

  /** Whether `kid` may still spend the allowance in `generation` (it has not yet). */
  eligible(kid: string, generation: number): boolean {
    this.#sync(generation);
    return !this.#spent.has(kid);
  }

  /** Earliest time the allowance has an attempt (ignoring eligibility). */
  readyAt(now: number): number {
    return this.#cfg.burst <= 0 ? Infinity : bucketReadyAt(this.#bucket, now, this.#cfg);
  }

  /** Spend one attempt for `kid` at `now`; the caller checked {@link readyAt} and {@link eligible}. */
  spend(kid: string, now: number, generation: number): void {
    this.#sync(generation);
    this.#bucket = bucketTake(this.#bucket, now, this.#cfg);
    if (this.#spent.size >= this.#maxSpent) {
      const oldest = this.#spent.values().next().value;
      if (oldest !== undefined) this.#spent.delete(oldest);
    }
    this.#spent.add(kid);
  }
}
