/**
 * The composition of the source pipeline, in ONE place. From the holder down:
 *
 *     holder ← single flight ← [shared store + lock] ← backoff ← budget ← leaf
 *
 * 1. **single flight** (`single-flight.ts`): one load at a time; concurrent asks join it.
 * 2. **shared store + lock** (`shared.ts`): the fleet seam; the identity layer by default. Above
 *    the budget so a record another instance published costs no token, below single flight so
 *    a process asks the store once.
 * 3. **backoff** (`backoff.ts`): after failures, budgeted loads wait out a jittered exponential
 *    delay; refusing here first means a backing-off cache never spends budget.
 * 4. **budget** (`budget.ts`): one token per budgeted attempt (every reason except the first
 *    load and `refresh()`), in memory by default, possibly shared and asynchronous.
 * 5. **leaf**: the HTTP JWKS fetch (`http-leaf.ts`), or a leaf beside it (OpenID discovery,
 *    which resolves `jwks_uri` and then delegates to the HTTP leaf) given as `leaf`.
 *
 * `readyAt(now)` answers synchronously when a budgeted load may start: the later of the
 * backoff's and the budget's answer; the cache's scheduler and unknown-kid gate use it.
 */
import { ConfigError } from '../errors.js';
import type { RefreshReason } from '../events.js';
import type { BackoffConfig } from '../policy/refresh.js';
import type { Clock, Random } from '../runtime/clock.js';
import type { KeySetRecord } from '../core/record.js';
import { BackoffLayer, type BackoffState } from './backoff.js';
import type { RefreshBudget } from './budget.js';
import { budgetLayer } from './budget.js';
import { noSharedStore } from './shared.js';
import { SingleFlight } from './single-flight.js';
import type { RecordSource, SourceLayer } from './types.js';

/** What to compose. */
export interface CompositionOptions {
  /** The leaf: the HTTP JWKS leaf, or a leaf beside it (discovery). */
  readonly leaf: RecordSource;
  /** The budget of attempts (default in the cache: `memoryBudget`). */
  readonly budget: RefreshBudget;
  /** Backoff bounds. */
  readonly backoff: BackoffConfig;
  /** The shared-store + lock layer. Default: {@link noSharedStore}. */
  readonly shared?: SourceLayer;
  readonly clock: Clock;
  readonly random: Random;
}

/** The composed pipeline. */
export interface ComposedSource extends RecordSource {
  /** Earliest monotonic time at which a budgeted load may start (`now` if it may now). */
  readyAt(now: number): number;
  /** Failure state (consecutive failures, last error, next attempt). */
  readonly backoff: BackoffState;
  /** The reason of the load in flight, if one is. */
  readonly inflight: RefreshReason | undefined;
}

/** Compose the pipeline; refuses incoherent options with a `ConfigError`. */
export function composeSource(o: CompositionOptions): ComposedSource {
  if (!o.leaf || typeof o.leaf.load !== 'function') throw new ConfigError('the source leaf must have load()');
  if (!o.budget || typeof o.budget.tryTake !== 'function' || typeof o.budget.readyAt !== 'function') {
    throw new ConfigError('a refresh budget must have tryTake() and readyAt()');
  }
  if (o.shared !== undefined && typeof o.shared !== 'function') throw new ConfigError('the shared-store layer must be a function of the source below it');
  if (!(o.backoff.initialMs > 0) || o.backoff.initialMs > o.backoff.maxMs) throw new ConfigError('backoffInitialMs must be > 0 and not exceed backoffMaxMs');
  const budgeted = budgetLayer(o.leaf, o.budget, o.clock);
  const backoff = new BackoffLayer(budgeted, o.backoff, o.clock, o.random);
  const shared = (o.shared ?? noSharedStore)(backoff);
  const flight = new SingleFlight(shared);
  return {
    load: (current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal) => flight.load(current, reason, signal),
    readyAt: (now: number) => Math.max(o.budget.readyAt(now), backoff.readyAt(now)),
    backoff,
    get inflight() {
      return flight.inflight;
    },
  };
}
