/**
 * The seam of the fleet: where a shared store and a distributed lock sit in the pipeline,
 * between single flight (above) and the budget (below).
 *
 * A shared-store layer is a {@link SourceLayer}. The intended behaviour (issue 13, Redis):
 *   1. `store.get(key)`: a record newer (by version) than `current`, written by another
 *      instance, is decoded, checked (HMAC, URL, age) and returned: no budget spent, no request.
 *   2. otherwise `store.lock(key, ttlMs)`: the lock holder loads from below (budget, backoff,
 *      leaf) and publishes with `store.setIfNewer(key, record.version, encoded)`; an instance
 *      that did not get the lock waits (bounded) for the holder's record, then falls back to
 *      loading from below itself.
 * Because it sits above the budget, a record read from the store never spends a token; because
 * it sits below single flight, one process asks the store once however many lookups wait.
 *
 * Without a store the seam is the identity layer, {@link noSharedStore}.
 */
import type { RecordSource, SourceLayer } from './types.js';

/** The seam's default: no shared store, loads go straight to the budget. */
export const noSharedStore: SourceLayer = (below: RecordSource) => below;
