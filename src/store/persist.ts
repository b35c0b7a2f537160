/**
 * Persistence: the last installed record is saved to a snapshot store after every successful
 * fetch, and restored at start while the first fetch runs (a bridge: any record this process
 * fetches replaces it, see the holder). Every store call is bounded in time; a store that
 * fails or hangs is reported (`persistence.failed`) and otherwise ignored.
 */
import { sanitizeForLog } from '../errors.js';
import type { SafeEmitter } from '../events.js';
import type { ValidateOptions } from '../jwks/validate.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import type { KeySetRecord } from '../core/record.js';
import { decodeRecord } from './codec.js';
import { encodeKeySetRecord, recordFromDecoded } from './records.js';
import type { SharedStore } from './contract.js';
import type { SnapshotStore } from './snapshot-store.js';

/** The store key of a key set: derived from its JWKS URL. */
export function storeKeyFor(jwksUri: string): string {
  return `jwks-keeper/v1 ${jwksUri}`;
}

/** True for a store of the shared-store contract (as opposed to the `{ load, save }` shape). */
export function isSharedStore(s: SnapshotStore | SharedStore): s is SharedStore {
  return typeof (s as SharedStore).get === 'function' && typeof (s as SharedStore).setIfNewer === 'function';
}

/**
 * The `{ load, save }` shape seen through the shared-store contract: one record whatever the
 * key, `get` reports version 0 (the codec carries the real version), and `setIfNewer` always
 * writes (that shape has no compare-and-set: the last write wins, as before).
 */
export function adaptSnapshotStore(s: SnapshotStore): SharedStore {
  return {
    async get() {
      const value = await s.load();
      return value === undefined ? undefined : { version: 0, value };
    },
    async setIfNewer(_key, _version, value) {
      await s.save(value);
      return true;
    },
  };
}

/** What persistence needs. */
export interface PersistenceDeps {
  /** Either shape; `{ load, save }` is adapted ({@link adaptSnapshotStore}). */
  readonly store: SnapshotStore | SharedStore;
  /** The HMAC key. */
  readonly key: Buffer;
  readonly jwksUri: string;
  /** Records older than their freshness plus this are refused, ms. */
  readonly maxStaleMs: number;
  /** Bound on every store call, ms. */
  readonly timeoutMs: number;
  readonly validation: ValidateOptions;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly emitter: SafeEmitter;
}

/** Saves and restores records through a snapshot store. */
export class Persistence {
  readonly #d: PersistenceDeps;
  readonly #store: SharedStore;
  readonly #key: string;
  #saving: Promise<void> = Promise.resolve();

  constructor(deps: PersistenceDeps) {
    this.#d = deps;
    this.#store = isSharedStore(deps.store) ? deps.store : adaptSnapshotStore(deps.store);
    this.#key = storeKeyFor(deps.jwksUri);
  }

  /**
   * Race `p` against a deadline of `ms` on the injected scheduler; the deadline's timer is
   * cleared as soon as either settles, so no timer outlives the call.
   */
  async #bounded<T>(p: Promise<T>, ms: number): Promise<T | 'deadline'> {
    const { scheduler } = this.#d;
    let timer: unknown;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = scheduler.setTimeout(() => resolve('deadline'), ms);
    });
    try {
      return await Promise.race([p, deadline]);
    } finally {
      scheduler.clearTimeout(timer);
    }
  }

  /** Report a store that failed or did not answer; the cache goes on without it. */
  #failed(operation: 'load' | 'save', err: unknown): void {
    this.#d.emitter.emit('persistence.failed', { operation, message: sanitizeForLog(err instanceof Error ? err.message : String(err)) });
  }

  /**
   * Read, authenticate, check and re-validate the stored record. Resolves the record, or
   * `undefined` (none, refused, failed: each reported by its event). Never rejects.
   * @param closed - true once the cache closed (nothing is decoded then)
   * @param loaded - true once keys are installed (a restore is then of no use: not validated)
   */
  async restore(closed: () => boolean, loaded: () => boolean): Promise<KeySetRecord | undefined> {
    const d = this.#d;
    let stored;
    try {
      stored = await this.#bounded(this.#store.get(this.#key), d.timeoutMs);
    } catch (err) {
      this.#failed('load', err);
      return undefined;
    }
    if (stored === 'deadline') {
      this.#failed('load', new Error(`no answer within ${d.timeoutMs} ms`));
      return undefined;
    }
    const data: unknown = stored?.value;
    if (data === undefined || closed()) return undefined;
    const nowWall = d.clock.wallNow();
    const r = decodeRecord(data, d.key, { jwksUri: d.jwksUri, nowWall, maxStaleMs: d.maxStaleMs });
    if (typeof r === 'string') {
      d.emitter.emit('persistence.refused', { reason: r });
      return undefined;
    }
    if (loaded()) return undefined;
    const record = recordFromDecoded(r, d.validation);
    if (record === 'no-usable-keys') {
      d.emitter.emit('persistence.refused', { reason: record });
      return undefined;
    }
    return record;
  }

  /** Save a record; saves run one at a time, failures are reported only. */
  save(record: KeySetRecord): void {
    const d = this.#d;
    const encoded = encodeKeySetRecord(record, d.key);
    this.#saving = this.#saving
      .then(() => this.#store.setIfNewer(this.#key, record.version, encoded))
      .then(
        () => undefined,
        (err: unknown) => this.#failed('save', err),
      );
  }

  /** Resolves when pending saves are done, or after `timeoutMs`. */
  async flush(): Promise<void> {
    await this.#bounded(this.#saving, this.#d.timeoutMs);
  }
}
