/**
 * Typed events. Events observe, never steer: a listener that throws (or returns a promise
 * that rejects) is isolated and cannot break a refresh or a verification.
 */

import type { FleetRefusal } from './fleet/types.js';
import type { RestoreRefusal } from './store/codec.js';

/**
 * Why a refresh started. `unknown-kid-priority`: a popular unknown kid started it from the
 * priority allowance (not the shared budget; see the README's "Unknown-kid defence").
 */
export type RefreshReason = 'initial' | 'scheduled' | 'retry' | 'unknown-kid' | 'unknown-kid-priority' | 'signature-failure' | 'manual' | 'stale';

/** What the unknown-kid defence decided for one lookup. */
export type UnknownKidDecision =
  /** The lookup started a refresh (it had budget). */
  | 'refetch'
  /**
   * The shared budget was spent, but the kid is popular (looked up several times, by several
   * clients, within the popularity window): a refresh started on the priority allowance. Also
   * counted when a refresh for waiting lookups starts this way.
   */
  | 'priority-refetch'
  /** A refresh was already in flight; the lookup joined it. */
  | 'joined'
  /** The budget was spent; the lookup waits for the next permitted refresh. */
  | 'waited'
  /** The kid was confirmed absent from the current generation: rejected without waiting. */
  | 'negative-hit'
  /** The token failed a cheap check before any lookup (counted by the verifier). */
  | 'pregate-reject'
  /** Waiting capacity full and this lookup lost admission: rejected fast. */
  | 'capacity-reject'
  /** A waiting lookup was displaced by a more frequently requested kid. */
  | 'evicted'
  /** No refresh could start before the lookup's deadline. */
  | 'wait-timeout'
  /** A refresh brought the kid: the lookup resolved. */
  | 'found'
  /** A refresh that started after the lookup arrived confirmed the kid absent. */
  | 'not-found';

/** Every event name and its payload. */
export interface JwksEvents {
  /** A JWKS request is about to be sent. */
  'refresh.started': { reason: RefreshReason; attempt: number };
  /** A JWKS request succeeded. `modified` is false for a 304 or an identical body. */
  'refresh.succeeded': { reason: RefreshReason; modified: boolean; notModified304: boolean; durationMs: number; generation: number; freshForMs: number };
  /** A JWKS request failed; the current keys (if any) stay. */
  'refresh.failed': {
    reason: RefreshReason;
    code: string;
    message: string;
    status: number | undefined;
    consecutiveFailures: number;
    /** How long the served keys have been stale, in ms (0 while still fresh, undefined without keys). */
    staleForMs: number | undefined;
    /** When the next attempt may run, in ms from now. */
    nextAttemptInMs: number;
  };
  /**
   * The key set changed. Kids are lists of strings (keys without a kid appear as `#<thumbprint>`).
   * `initial` is true for the first set this cache installs (fetched or restored): a boot, not
   * a rotation, so a "JWKS rotated" log line can skip it.
   */
  'keys.changed': { added: string[]; removed: string[]; replaced: string[]; generation: number; previousGeneration: number; initial: boolean };
  /**
   * A key was used for the first time since it appeared (a key unchanged across generations
   * fires once): the moment a newly
   * published key starts signing tokens. `verified` is true when a signature checked with it
   * (verifier path), false when it was only handed out by `getKey`. `initial` is true for a
   * key of the first set this cache installed (its first use is a boot, not a rotation).
   */
  'key.firstUsed': { kid: string; generation: number; verified: boolean; publishedForMs: number; initial: boolean };
  /** Keys past their freshness were served because refreshes fail (emitted once per failed cycle). */
  'keys.staleServed': { staleForMs: number; generation: number };
  /** A key of a fetched set was dropped at ingest. */
  'key.dropped': { kid: string | undefined; index: number; reason: string; detail: string | undefined };
  /** A persisted snapshot was restored at start (see the `persistence` option). `ageMs`: since the IdP last confirmed it. */
  'persistence.restored': { ageMs: number; generation: number; keyCount: number };
  /** A persisted snapshot was refused; the cache fetches as if there were none. */
  'persistence.refused': { reason: RestoreRefusal };
  /** The snapshot store failed (or timed out) on `load` or `save`; nothing else is affected. */
  'persistence.failed': { operation: 'load' | 'save'; message: string };
  /** A decision of the unknown-kid defence. `kid` is sanitised for logging. */
  'unknownKid': { kid: string; decision: UnknownKidDecision; clientId: string | undefined };
  /**
   * Fleet mode: the shared store failed or its circuit opened; this instance runs local-only
   * (own fetches, own budget) until `fleet.recovered`. `reason` is the store's error code.
   */
  'fleet.degraded': { reason: string; message: string };
  /** Fleet mode: the shared store answers again; the instance rejoins (and catches up on the stored record). */
  'fleet.recovered': { degradedForMs: number };
  /** Fleet mode: a shared record was refused (never installed); `version` is the one it was stored under. */
  'fleet.refused': { reason: FleetRefusal; version: number };
}

/** Name of an event. */
export type JwksEventName = keyof JwksEvents;
/** A listener for event `K`. */
export type JwksListener<K extends JwksEventName> = (event: JwksEvents[K]) => void;

/** A tiny typed emitter with listener isolation. */
export class SafeEmitter {
  #listeners = new Map<JwksEventName, Set<(e: never) => void>>();
  #onListenerError: (err: unknown, event: JwksEventName) => void;

  constructor(onListenerError?: (err: unknown, event: JwksEventName) => void) {
    this.#onListenerError = onListenerError ?? (() => {});
  }

  on<K extends JwksEventName>(name: K, listener: JwksListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as (e: never) => void);
    return () => this.off(name, listener);
  }

  off<K extends JwksEventName>(name: K, listener: JwksListener<K>): void {
    this.#listeners.get(name)?.delete(listener as (e: never) => void);
  }

  /** True when someone listens: lets hot paths skip building payloads. */
  has(name: JwksEventName): boolean {
    const set = this.#listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  emit<K extends JwksEventName>(name: K, event: JwksEvents[K]): void {
    const set = this.#listeners.get(name);
    if (!set || set.size === 0) return;
    for (const l of [...set]) {
      try {
        const r = (l as unknown as JwksListener<K>)(event) as unknown;
        if (r && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (err: unknown) => this.#report(err, name));
        }
      } catch (err) {
        this.#report(err, name);
      }
    }
  }

  #report(err: unknown, name: JwksEventName): void {
    try {
      this.#onListenerError(err, name);
    } catch {
      // an error handler that throws is ignored too
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
