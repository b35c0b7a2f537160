/**
 * The synchronous holder: the current key-set record and everything derived from it that the
 * hot path reads. It never awaits and never fetches.
 *
 * It accepts records from any source (this process's fetch, a restore, later another
 * instance through a shared store or a broadcast) and installs one only when it is newer by
 * version than the current one (see `record.ts`); the one exception is a restored record,
 * which is a bridge: any record this process fetched replaces it. Installing re-bases the
 * local `generation` (it grows by one per material change seen here) and emits the diff
 * (`keys.changed`), first-use (`key.firstUsed`) and stale (`keys.staleServed`) events.
 */
import type { JwksCacheStats, ResolvedKeys } from './api.js';
import type { KeySetRecord } from './record.js';
import { makeRecord, type VersionClock } from './record.js';
import { selectKeys } from './select.js';
import type { SafeEmitter } from '../events.js';
import type { Snapshot } from '../jwks/snapshot.js';
import { buildSnapshot, diffSnapshots, keyLabel } from '../jwks/snapshot.js';
import type { SupportedAlg, ValidatedKey } from '../jwks/validate.js';
import type { Usability } from '../policy/refresh.js';
import { usability } from '../policy/refresh.js';
import type { Clock } from '../runtime/clock.js';

/** Where a record offered to the holder comes from. */
export type RecordOrigin =
  /** This process's own request (200 or 304). */
  | 'fetch'
  /** A snapshot store read at start (persistence). */
  | 'restore'
  /** Read from a shared store written by another instance. */
  | 'shared'
  /** Announced by another instance (store subscription). */
  | 'broadcast';

/** What {@link KeyHolder.accept} did. */
export interface AcceptOutcome {
  /** The record replaced the current one. */
  readonly installed: boolean;
  /** The key material changed (a new generation; `keys.changed` was emitted). */
  readonly changed: boolean;
  /** The local generation after the call. */
  readonly generation: number;
}

/** What the holder needs. */
export interface HolderDeps {
  readonly clock: Clock;
  /** How long keys past their freshness keep being served, ms. */
  readonly maxStaleMs: number;
  readonly emitter: SafeEmitter;
  readonly stats: JwksCacheStats;
  readonly versions: VersionClock;
  /** Called whenever a lookup is answered with stale keys (the cache then tries a budgeted refresh). */
  readonly onStale: () => void;
  /** Called when the key material changed, before `keys.changed` is emitted (the gate clears its negative cache). */
  readonly onChanged: () => void;
}

/** When a key was first installed here, and whether it came with the first set. */
interface Appearance {
  readonly at: number;
  readonly initial: boolean;
}

/** The current record and its derived, synchronously readable state. */
export class KeyHolder {
  readonly #d: HolderDeps;
  #record: KeySetRecord | undefined;
  #origin: RecordOrigin | undefined;
  #snapshot: Snapshot | undefined;
  /** Monotonic time at which freshness ends. */
  #freshUntil = 0;
  /** Monotonic time of the fetch that produced the current record. */
  #lastSuccessAt: number | undefined;
  #closed = false;
  #staleNotified = false;
  readonly #appeared = new Map<string, Appearance>();
  readonly #usedVerified = new WeakSet<ValidatedKey>();
  readonly #usedUnverified = new WeakSet<ValidatedKey>();

  constructor(deps: HolderDeps) {
    this.#d = deps;
  }

  /** The current record (with its snapshot re-based to the local generation), if any. */
  get record(): KeySetRecord | undefined {
    return this.#record;
  }

  /** The current snapshot, usable or not. */
  get snapshot(): Snapshot | undefined {
    return this.#snapshot;
  }

  /** The local generation (0 before the first install). */
  get generation(): number {
    return this.#snapshot?.generation ?? 0;
  }

  /** Monotonic time at which the current record's freshness ends. */
  get freshUntil(): number {
    return this.#freshUntil;
  }

  /** Monotonic time of the fetch behind the current record, if any. */
  get lastSuccessAt(): number | undefined {
    return this.#lastSuccessAt;
  }

  /** How the current set may be used at `now` (`expired` without one). */
  usability(now: number): Usability {
    return this.#snapshot ? usability(now, this.#freshUntil, this.#d.maxStaleMs) : 'expired';
  }

  /** The current snapshot unless expired (or absent). */
  usable(): Snapshot | undefined {
    const s = this.#snapshot;
    if (!s) return undefined;
    return usability(this.#d.clock.monotonicNow(), this.#freshUntil, this.#d.maxStaleMs) === 'expired' ? undefined : s;
  }

  /** Stop answering `peek` (the cache closed). */
  close(): void {
    this.#closed = true;
  }

  /**
   * Offer a record. Installed only when newer by version than the current one (or when the
   * current one was restored and this one was fetched here). Own fetches are dated by the
   * monotonic clock at arrival (age 0); other records by the wall clock of their fetch, the
   * only place where wall time ages keys, since a monotonic clock does not survive a restart.
   */
  accept(record: KeySetRecord, origin: RecordOrigin): AcceptOutcome {
    const d = this.#d;
    const cur = this.#record;
    d.versions.observe(record.version);
    if (cur && !(record.version > cur.version) && !(this.#origin === 'restore' && origin === 'fetch')) {
      return { installed: false, changed: false, generation: this.generation };
    }
    const prev = this.#snapshot;
    let snap = record.snapshot;
    let changed = true;
    if (prev && snap.identity === prev.identity) {
      snap = prev;
      changed = false;
    } else if (snap.generation !== (prev?.generation ?? 0) + 1) {
      snap = buildSnapshot(snap.keys, (prev?.generation ?? 0) + 1, prev);
    }
    const now = d.clock.monotonicNow();
    const ageMs = origin === 'fetch' ? 0 : Math.max(0, d.clock.wallNow() - record.fetchedAt);
    this.#record = snap === record.snapshot ? record : makeRecord({ ...record, snapshot: snap });
    this.#origin = origin;
    this.#freshUntil = now - ageMs + record.freshForMs;
    this.#lastSuccessAt = now - ageMs;
    this.#staleNotified = false;
    if (changed) this.#install(prev, snap, now);
    return { installed: true, changed, generation: snap.generation };
  }

  #install(prev: Snapshot | undefined, next: Snapshot, at: number): void {
    const initial = prev === undefined;
    const appeared = new Map<string, Appearance>();
    for (const k of next.keys) appeared.set(k.thumbprint, this.#appeared.get(k.thumbprint) ?? { at, initial });
    this.#appeared.clear();
    for (const [k, v] of appeared) this.#appeared.set(k, v);
    const diff = diffSnapshots(prev, next);
    this.#snapshot = next;
    this.#d.onChanged();
    this.#d.stats.generation = next.generation;
    this.#d.stats.keyCount = next.keys.length;
    this.#d.emitter.emit('keys.changed', { ...diff, generation: next.generation, previousGeneration: prev?.generation ?? 0, initial });
  }

  /**
   * The hot path: the candidates for `kid` + `alg` when the current set is usable and has
   * them (for a token without a kid: its only candidate), else `undefined`.
   */
  peek(kid: string | undefined, alg: SupportedAlg): ResolvedKeys | undefined {
    const snap = this.#snapshot;
    if (!snap || this.#closed) return undefined;
    const now = this.#d.clock.monotonicNow();
    if (now > this.#freshUntil) {
      if (usability(now, this.#freshUntil, this.#d.maxStaleMs) === 'expired') return undefined;
      this.noteStale(now);
    }
    const s = selectKeys(snap, kid, alg);
    if (s.kind !== 'found') return undefined;
    this.#d.stats.hits++;
    return { kid, keys: s.keys, generation: snap.generation };
  }

  /** A lookup was answered with stale keys: count it, tell once per failed cycle, ask for a refresh. */
  noteStale(now: number): void {
    this.#d.stats.staleServes++;
    if (!this.#staleNotified) {
      this.#staleNotified = true;
      this.#d.emitter.emit('keys.staleServed', { staleForMs: now - this.#freshUntil, generation: this.generation });
    }
    this.#d.onStale();
  }

  /** A refresh failed: the next stale serve is reported again. */
  rearmStaleNotice(): void {
    this.#staleNotified = false;
  }

  /** Record that a key was handed out (`verified` false) or verified a token (`verified` true). */
  markUsed(key: ValidatedKey, verified: boolean): void {
    if (this.#usedVerified.has(key) || (!verified && this.#usedUnverified.has(key))) return;
    (verified ? this.#usedVerified : this.#usedUnverified).add(key);
    const appeared = this.#appeared.get(key.thumbprint);
    this.#d.emitter.emit('key.firstUsed', {
      kid: keyLabel(key),
      generation: this.generation,
      verified,
      publishedForMs: appeared === undefined ? 0 : this.#d.clock.monotonicNow() - appeared.at,
      initial: appeared?.initial ?? false,
    });
  }
}
