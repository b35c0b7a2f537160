/**
 * Small shared helpers of the adversarial suite: event recording, ordering on events and on a
 * ManualClock (never on real time), and the
 * per-file summary line (`adversarial <file>: cases N, ... forged/hostile JWKS accepted: 0`).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JwksKeeperError, KeysUnavailableError, TokenInvalidError } from '../../src/index.js';
import type { JwksCache, JwksEventName, JwksEvents } from '../../src/index.js';
import { flushMicrotasks, type ManualClock } from '../../src/testing/index.js';

const ALL_EVENTS: JwksEventName[] = ['refresh.started', 'refresh.succeeded', 'refresh.failed', 'keys.changed', 'key.firstUsed', 'keys.staleServed', 'key.dropped', 'persistence.restored', 'persistence.refused', 'persistence.failed', 'unknownKid'];

/**
 * Record every event of a cache, in emission order (`seq`); `of(name)` lists the payloads of
 * one event, in order; `next(name)` resolves with the next emission of `name` (register it
 * before the action that causes it); `idle()` resolves once no refresh attempt is in flight
 * (every `refresh.started` has had its `refresh.succeeded` or `refresh.failed`).
 */
export function recordEvents(cache: JwksCache, names: JwksEventName[] = ALL_EVENTS.filter((n) => n !== 'unknownKid')) {
  const events: { name: JwksEventName; seq: number; e: unknown }[] = [];
  const waiters: { name: JwksEventName; resolve: (e: unknown) => void }[] = [];
  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const watched = new Set<JwksEventName>([...names, 'refresh.started', 'refresh.succeeded', 'refresh.failed']);
  for (const name of watched) {
    cache.on(name, (e) => {
      if (name === 'refresh.started') inFlight++;
      else if (name === 'refresh.succeeded' || name === 'refresh.failed') inFlight--;
      if (names.includes(name)) events.push({ name, seq: events.length, e });
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.name === name) waiters.splice(i, 1)[0]!.resolve(e);
      }
      if (inFlight === 0 && idleWaiters.length > 0) {
        const ws = idleWaiters;
        idleWaiters = [];
        for (const w of ws) w();
      }
    });
  }
  const of = <K extends JwksEventName>(name: K): JwksEvents[K][] => events.filter((x) => x.name === name).map((x) => x.e as JwksEvents[K]);
  const next = <K extends JwksEventName>(name: K): Promise<JwksEvents[K]> => new Promise((resolve) => waiters.push({ name, resolve: resolve as (e: unknown) => void }));
  const idle = (): Promise<void> => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve)));
  return { events, of, next, idle, inFlight: () => inFlight };
}

/**
 * Drive a ManualClock until `done()` holds: wait for in-flight refreshes (real sockets answer
 * in real time, whatever the clock says), then advance `stepMs`. Fails after `maxSteps`
 * steps, a bound in test time, not in real time.
 */
export async function driveUntil(clock: ManualClock, idle: () => Promise<void>, done: () => boolean, stepMs: number, maxSteps: number, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    await idle();
    await flushMicrotasks();
    if (done()) return;
    if (i >= maxSteps) assert.fail(`${what}: not done after ${maxSteps} steps of ${stepMs} ms of test time`);
    await clock.advance(stepMs);
  }
}

/** A promise with its settled state observable synchronously (for ordering assertions). */
export function track<T>(p: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  const t = {
    promise: p,
    settled: false,
  };
  p.then(
    () => (t.settled = true),
    () => (t.settled = true),
  );
  return t;
}

/**
 * Per-test bound for tests that prove an ordering ("settles while the refresh is held"): there
 * a regression deadlocks instead of failing, and this turns the deadlock into a failure. Not a
 * timing assertion: far above what a loaded machine needs for the few seconds these tests take.
 */
export const HANG_GUARD_MS = 120_000;

/** The stable code of a library error, else a description (for messages and tallies). */
export function codeOf(err: unknown): string {
  if (err instanceof JwksKeeperError) return err.code;
  return `NOT-A-LIBRARY-ERROR(${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`;
}

/** Assert `p` rejects with a KeysUnavailableError, of exactly `code` when given; returns it. */
export async function rejects503(p: Promise<unknown>, code?: string): Promise<KeysUnavailableError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KeysUnavailableError, `expected KeysUnavailableError, got ${codeOf(err)}`);
    if (code !== undefined) assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected a KeysUnavailableError ${code ?? ''}, but it resolved`);
}

/** Assert `p` rejects with a TokenInvalidError, of exactly `code` when given; returns it. */
export async function rejects401(p: Promise<unknown>, code?: string): Promise<TokenInvalidError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TokenInvalidError, `expected TokenInvalidError, got ${codeOf(err)}`);
    if (code !== undefined) assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected a TokenInvalidError ${code ?? ''}, but it resolved`);
}

/** Percentile of a list of numbers (nearest rank). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Per-file tally, printed once by `print()` (call it from `after`). */
export class Summary {
  cases = 0;
  hostileServed = 0;
  hostileAccepted = 0;
  /** Acceptances inside `todo` tests that document a reported bug. */
  knownBugAccepted = 0;
  readonly extra: Record<string, number | string> = {};

  constructor(readonly file: string) {}

  /** Count one case. */
  case(): void {
    this.cases++;
  }

  /**
   * Count one hostile or forged JWKS (or forged token backed by one) that was served, and
   * whether it was accepted (it must not be; the caller also asserts).
   */
  hostile(accepted: boolean, knownBug = false): void {
    this.hostileServed++;
    if (accepted && knownBug) this.knownBugAccepted++;
    else if (accepted) this.hostileAccepted++;
  }

  print(): void {
    const extra = Object.entries(this.extra)
      .map(([k, v]) => `, ${k}: ${v}`)
      .join('');
    const dir = process.env.JWKS_KEEPER_SUMMARY_DIR;
    if (dir) {
      writeFileSync(
        join(dir, `${this.file}.json`),
        JSON.stringify({ file: this.file, cases: this.cases, hostileServed: this.hostileServed, hostileAccepted: this.hostileAccepted, knownBugAccepted: this.knownBugAccepted, extra: this.extra }),
      );
    }
    console.log(`adversarial ${this.file}: cases ${this.cases}, hostile JWKS/endpoint answers served ${this.hostileServed}${extra}, forged/hostile JWKS accepted: ${this.hostileAccepted}${this.knownBugAccepted > 0 ? ` (plus ${this.knownBugAccepted} in todo tests documenting a reported bug)` : ''}`);
  }
}
