/**
 * The backoff layer: after a failed attempt, budgeted loads are refused until an exponential,
 * jittered delay has passed (never shorter than a capped `Retry-After`). The first load and an
 * explicit `refresh()` are never refused, but their failures count too. A success resets it.
 */
import type { KeysUnavailableError } from '../errors.js';
import { KeysUnavailableError as KeysUnavailable } from '../errors.js';
import type { RefreshReason } from '../events.js';
import type { BackoffConfig } from '../policy/refresh.js';
import { backoffDelayMs } from '../policy/refresh.js';
import type { Clock, Random } from '../runtime/clock.js';
import type { KeySetRecord } from '../core/record.js';
import type { RecordSource } from './types.js';
import { LoadRefusedError, UNBUDGETED_REASONS } from './types.js';

/** What the backoff knows about recent failures. */
export interface BackoffState {
  /** Failed attempts since the last success. */
  readonly consecutiveFailures: number;
  /** The last failure, until a success. */
  readonly lastError: KeysUnavailableError | undefined;
  /** Monotonic time before which budgeted loads are refused (`-Infinity` when not backing off). */
  readonly nextAttemptAt: number;
  /** The delay chosen after the last failure, ms. */
  readonly lastDelayMs: number;
}

/** The backoff as a layer, with its state readable synchronously. */
export class BackoffLayer implements RecordSource, BackoffState {
  #failures = 0;
  #lastError: KeysUnavailableError | undefined;
  #nextAttemptAt = -Infinity;
  #lastDelayMs = 0;

  constructor(
    private readonly below: RecordSource,
    private readonly cfg: BackoffConfig,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  get consecutiveFailures(): number {
    return this.#failures;
  }
  get lastError(): KeysUnavailableError | undefined {
    return this.#lastError;
  }
  get nextAttemptAt(): number {
    return this.#nextAttemptAt;
  }
  get lastDelayMs(): number {
    return this.#lastDelayMs;
  }

  /** Earliest monotonic time at which a budgeted load is not refused by the backoff. */
  readyAt(now: number): number {
    return Math.max(now, this.#nextAttemptAt);
  }

  async load(current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal): Promise<KeySetRecord> {
    const startedAt = this.clock.monotonicNow();
    if (!UNBUDGETED_REASONS.has(reason) && this.#nextAttemptAt > startedAt) throw new LoadRefusedError('backoff', this.#nextAttemptAt);
    let record: KeySetRecord;
    try {
      record = await this.below.load(current, reason, signal);
    } catch (e) {
      if (e instanceof LoadRefusedError || signal.aborted) throw e;
      const err = e instanceof KeysUnavailable ? e : new KeysUnavailable('JWKS_NETWORK', `unexpected refresh failure: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      this.#failures++;
      this.#lastError = err;
      this.#lastDelayMs = backoffDelayMs(this.#failures, this.cfg, this.random(), err.retryAfterMs);
      this.#nextAttemptAt = Math.max(this.clock.monotonicNow(), startedAt) + this.#lastDelayMs;
      throw err;
    }
    this.#failures = 0;
    this.#lastError = undefined;
    this.#nextAttemptAt = -Infinity;
    return record;
  }
}
