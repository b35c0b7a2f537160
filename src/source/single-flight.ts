/**
 * Single flight: at most one load in flight; a load asked for while one runs joins it (same
 * promise, same record or error), whatever its reason. The first caller's reason and signal
 * are the load's.
 */
import type { RefreshReason } from '../events.js';
import type { KeySetRecord } from '../core/record.js';
import type { RecordSource } from './types.js';

/** Single flight as a layer, with the in-flight load readable synchronously. */
export class SingleFlight implements RecordSource {
  #inflight: { reason: RefreshReason; promise: Promise<KeySetRecord> } | undefined;

  constructor(private readonly below: RecordSource) {}

  /** The reason of the load in flight, if one is. */
  get inflight(): RefreshReason | undefined {
    return this.#inflight?.reason;
  }

  load(current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal): Promise<KeySetRecord> {
    if (this.#inflight) return this.#inflight.promise;
    let settle!: { resolve: (r: KeySetRecord) => void; reject: (e: unknown) => void };
    const promise = new Promise<KeySetRecord>((resolve, reject) => (settle = { resolve, reject }));
    // registered before the load starts, so a caller re-entering from an event joins it
    const flight = { reason, promise };
    this.#inflight = flight;
    const clear = (): void => {
      if (this.#inflight === flight) this.#inflight = undefined;
    };
    let started: Promise<KeySetRecord>;
    try {
      started = this.below.load(current, reason, signal);
    } catch (e) {
      started = Promise.reject(e);
    }
    started.then(
      (r) => {
        clear();
        settle.resolve(r);
      },
      (e: unknown) => {
        clear();
        settle.reject(e);
      },
    );
    return promise;
  }
}
