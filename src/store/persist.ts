/**
 * Persistence: the last installed record is saved to a snapshot store after every successful
 * fetch, and restored at start while the first fetch runs (a bridge: any record this process
 * fetches replaces it, see the holder). Every store call is bounded in time; a store that
 * fails or hangs is reported (`persistence.failed`) and otherwise ignored.
 */
import { sanitizeForLog } from '../errors.js';
import type { SafeEmitter } from '../events.js';
import { buildSnapshot } from '../jwks/snapshot.js';
import type { ValidateOptions } from '../jwks/validate.js';
import { validateJwks } from '../jwks/validate.js';
import type { Clock, Scheduler } from '../runtime/clock.js';
import type { KeySetRecord } from '../core/record.js';
import { makeRecord } from '../core/record.js';
import { decodeRecord, encodeRecord, persistableKeys } from './codec.js';
import type { SnapshotStore } from './snapshot-store.js';

/** What persistence needs. */
export interface PersistenceDeps {
  readonly store: SnapshotStore;
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
  #saving: Promise<void> = Promise.resolve();

  constructor(deps: PersistenceDeps) {
    this.#d = deps;
  }

  /** A promise that settles after `ms` (never rejects), on the injected scheduler. */
  #deadline(ms: number): Promise<'deadline'> {
    return new Promise((resolve) => this.#d.scheduler.setTimeout(() => resolve('deadline'), ms));
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
    let data: string | undefined | 'deadline';
    try {
      data = await Promise.race([d.store.load(), this.#deadline(d.timeoutMs)]);
    } catch (err) {
      this.#failed('load', err);
      return undefined;
    }
    if (data === 'deadline') {
      this.#failed('load', new Error(`no answer within ${d.timeoutMs} ms`));
      return undefined;
    }
    if (data === undefined || closed()) return undefined;
    const nowWall = d.clock.wallNow();
    const r = decodeRecord(data, d.key, { jwksUri: d.jwksUri, nowWall, maxStaleMs: d.maxStaleMs });
    if (typeof r === 'string') {
      d.emitter.emit('persistence.refused', { reason: r });
      return undefined;
    }
    if (loaded()) return undefined;
    const { keys } = validateJwks({ keys: r.keys }, d.validation);
    if (keys.length === 0) {
      d.emitter.emit('persistence.refused', { reason: 'no-usable-keys' });
      return undefined;
    }
    return makeRecord({
      jwksUri: r.jwksUri,
      snapshot: buildSnapshot(keys, 1),
      fetchedAt: r.fetchedAt,
      freshForMs: r.freshForMs,
      validators: r.validators,
      version: r.version,
      provenance: { kind: 'decoded' },
    });
  }

  /** Save a record; saves run one at a time, failures are reported only. */
  save(record: KeySetRecord): void {
    const d = this.#d;
    const encoded = encodeRecord(
      {
        jwksUri: record.jwksUri,
        fetchedAt: record.fetchedAt,
        freshForMs: record.freshForMs,
        version: record.version,
        validators: record.validators,
        keys: persistableKeys(record.snapshot.keys),
      },
      d.key,
    );
    this.#saving = this.#saving.then(() =>
      d.store.save(encoded).then(undefined, (err: unknown) => {
        this.#failed('save', err);
      }),
    );
  }

  /** Resolves when pending saves are done, or after `timeoutMs`. */
  async flush(): Promise<void> {
    await Promise.race([this.#saving, this.#deadline(this.#d.timeoutMs)]);
  }
}
