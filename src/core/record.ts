/**
 * The key-set record: one immutable value that says everything the cache knows about a key
 * set at one moment, so it can be handed between layers, persisted, and (later) shared with
 * other processes.
 *
 * ## Versions
 * `version` orders records ACROSS processes, so it cannot be a local counter that restarts at
 * 1. It is a hybrid logical clock stamp (HLC, Kulkarni et al. 2014, reduced to one integer):
 * milliseconds of wall time, bumped by one whenever that would not be greater than every
 * version this process has issued or seen:
 *
 *     next = max(floor(wallNow), last + 1)        (issue: a load starts)
 *     last = max(last, record.version)            (observe: any record accepted)
 *
 * A load is stamped when its request is SENT: a record describes the IdP's state as of that
 * moment, which is what the unknown-kid gate needs ("a record newer than the one I saw when I
 * arrived" is then "a request sent after I arrived", whichever process sent it). A 304 is a
 * new record (new version, same keys). Versions stay close to wall time, so records from
 * processes with sane clocks order by when their requests were sent; a process whose clock
 * runs behind only makes its records look older (conservative: they can still resolve a
 * waiter, never confirm a kid absent for a waiter that arrived later elsewhere).
 *
 * Local `generation` (events, stats, `snapshot()`) is a different thing: it counts material
 * changes seen by THIS cache and is assigned by the holder when it installs a record.
 */
import type { Validators } from '../fetch/transport.js';
import type { Snapshot } from '../jwks/snapshot.js';

/** How a record came to be; local information, never persisted or shared. */
export type RecordProvenance =
  /** A 200 answer of this process's own request. */
  | { readonly kind: 'modified'; readonly durationMs: number; readonly bytes: number }
  /** A 304 answer of this process's own request: the current keys, confirmed. */
  | { readonly kind: 'not-modified'; readonly durationMs: number }
  /** Decoded from a snapshot store (persistence) or a shared store. */
  | { readonly kind: 'decoded' };

/** One immutable key set and what is known about it. */
export interface KeySetRecord {
  /** The JWKS URL the keys were fetched from. */
  readonly jwksUri: string;
  /** The validated keys (see `Snapshot`); its `generation` is re-based by the holder on install. */
  readonly snapshot: Snapshot;
  /** Wall-clock time (ms since the epoch) of the fetch or 304 that produced (or last confirmed) these keys. */
  readonly fetchedAt: number;
  /** Freshness the response granted (cache headers clamped to the configured bounds), ms from `fetchedAt`. */
  readonly freshForMs: number;
  /** Conditional-request validators of the response. */
  readonly validators: Validators;
  /** Orders records across processes: larger is newer (see the module comment). */
  readonly version: number;
  /** How this record was produced (local only). */
  readonly provenance: RecordProvenance;
}

/**
 * The hybrid logical clock that issues and observes record versions. One per cache; shared by
 * the source (issues a version per request) and the holder (observes every accepted record).
 */
export class VersionClock {
  #last = 0;

  /** The greatest version issued or observed so far (0 before any). */
  get last(): number {
    return this.#last;
  }

  /** Issue a version for a request sent at `wallNow`: greater than every version issued or seen. */
  next(wallNow: number): number {
    const wall = Number.isFinite(wallNow) ? Math.floor(wallNow) : 0;
    this.#last = Math.max(wall, this.#last + 1);
    return this.#last;
  }

  /** Take note of a version seen elsewhere (a restored or shared record). */
  observe(version: number): void {
    if (Number.isFinite(version) && version > this.#last) this.#last = version;
  }
}

/** Build a frozen record. */
export function makeRecord(r: KeySetRecord): KeySetRecord {
  return Object.freeze({ ...r, validators: Object.freeze({ ...r.validators }) });
}
