/**
 * The refresh budget: every attempt except the first load and an explicit `refresh()` spends
 * one token of the same budget, so background refreshes, retries, stale revalidation and
 * unknown-kid refreshes together stay within it.
 *
 * {@link RefreshBudget} is an interface so the budget can live elsewhere: its default is the
 * in-memory token bucket of `policy/refresh.ts` (synchronous), and a fleet-wide bucket (in
 * Redis) may answer asynchronously. A synchronous answer is used in the same tick, so with
 * the default budget the cache's decisions are exactly as synchronous as before.
 */
import type { RefreshReason } from '../events.js';
import type { BucketConfig, BucketState } from '../policy/refresh.js';
import { bucketInit, bucketReadyAt, bucketTake } from '../policy/refresh.js';
import type { KeySetRecord } from '../core/record.js';
import type { Clock } from '../runtime/clock.js';
import type { RecordSource } from './types.js';
import { LoadRefusedError, UNBUDGETED_REASONS } from './types.js';

/** The answer of {@link RefreshBudget.tryTake}. */
export type BudgetAnswer = { readonly granted: true } | { readonly granted: false; readonly readyAt: number };

/** A budget of refresh attempts. Times are monotonic milliseconds of the cache's clock. */
export interface RefreshBudget {
  /**
   * Spend one attempt at `now` if one is available. May be asynchronous (a shared budget);
   * a denial says when an attempt should be available.
   */
  tryTake(now: number, reason: RefreshReason): BudgetAnswer | Promise<BudgetAnswer>;
  /**
   * Earliest time at which `tryTake` is expected to grant, synchronously (`now` when it would
   * grant now). For a shared budget this is a local estimate (e.g. from its last answer); the
   * cache uses it to decide whether to wait or to give up, and `tryTake` has the last word.
   */
  readyAt(now: number): number;
}

/** The default budget: an in-memory token bucket (`burst` at once, one earned back per `cooldownMs`). */
export function memoryBudget(cfg: BucketConfig, now: number): RefreshBudget {
  let bucket: BucketState = bucketInit(now, cfg);
  return {
    tryTake(at) {
      const readyAt = bucketReadyAt(bucket, at, cfg);
      if (readyAt > at) return { granted: false, readyAt };
      bucket = bucketTake(bucket, at, cfg);
      return { granted: true };
    },
    readyAt(at) {
      return bucketReadyAt(bucket, at, cfg);
    },
  };
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** The budget as a layer: budgeted reasons take a token first, or are refused with `readyAt`. */
export function budgetLayer(below: RecordSource, budget: RefreshBudget, clock: Clock): RecordSource {
  return {
    async load(current: KeySetRecord | undefined, reason: RefreshReason, signal: AbortSignal): Promise<KeySetRecord> {
      if (UNBUDGETED_REASONS.has(reason)) return below.load(current, reason, signal);
      const answer = budget.tryTake(clock.monotonicNow(), reason);
      // a synchronous answer is used in the same tick (no await): see the module comment
      const a = isPromise(answer) ? await answer : answer;
      if (!a.granted) throw new LoadRefusedError('budget', a.readyAt);
      return below.load(current, reason, signal);
    },
  };
}
