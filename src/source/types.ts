/**
 * The source pipeline below the holder: one narrow asynchronous interface, implemented by a
 * leaf (the HTTP JWKS fetch; later an OpenID discovery leaf beside it) and by small layers
 * that wrap another source (backoff, budget, single flight, and later a shared store with a
 * distributed lock). `compose.ts` stacks them in one documented order.
 */
import type { RefreshReason } from '../events.js';
import type { KeySetRecord } from '../core/record.js';

/** Anything that can produce a key-set record. */
export interface RecordSource {
  /**
   * Produce a record: a new one (fetched, confirmed by a 304, or read from a shared store), given
   * the current record (for conditional requests and key reuse), why it is wanted, and a
   * signal that aborts it (the cache closed). Rejects with a `KeysUnavailableError` when the
   * source failed, or a {@link LoadRefusedError} when a layer refused to try (no budget,
   * backing off): a refusal is not an attempt and costs nothing upstream.
   */
  load(current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal): Promise<KeySetRecord>;
}

/** A layer: a source built on the source below it. */
export type SourceLayer = (below: RecordSource) => RecordSource;

/** Reasons that bypass the budget and the backoff: the first load, and an explicit `refresh()`. */
export const UNBUDGETED_REASONS: ReadonlySet<RefreshReason> = new Set<RefreshReason>(['initial', 'manual']);

/** A layer refused to start a load (not an attempt; nothing was sent). @internal */
export class LoadRefusedError extends Error {
  constructor(
    /** Which layer refused. */
    readonly by: 'budget' | 'backoff',
    /** Monotonic time (ms) at which it may say yes. */
    readonly readyAt: number,
  ) {
    super(`refresh refused by the ${by} until ${readyAt}`);
    this.name = 'LoadRefusedError';
  }
}
