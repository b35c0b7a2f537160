/**
 * Small shared helpers of the adversarial suite: event recording, polling, timing, and the
 * per-file summary line (`adversarial <file>: cases N, ... forged/hostile JWKS accepted: 0`).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JwksKeeperError, KeysUnavailableError, TokenInvalidError } from '../../src/index.js';
import type { JwksCache, JwksEventName, JwksEvents, Verifier } from '../../src/index.js';

const ALL_EVENTS: JwksEventName[] = ['refresh.started', 'refresh.succeeded', 'refresh.failed', 'keys.changed', 'key.firstUsed', 'keys.staleServed', 'key.dropped', 'persistence.restored', 'persistence.refused', 'persistence.failed', 'unknownKid'];

/** Record every event of a cache; `of(name)` lists the payloads of one event, in order. */
export function recordEvents(cache: JwksCache, names: JwksEventName[] = ALL_EVENTS.filter((n) => n !== 'unknownKid')) {
  const events: { name: JwksEventName; at: number; e: unknown }[] = [];
  for (const name of names) cache.on(name, (e) => events.push({ name, at: performance.now(), e }));
  const of = <K extends JwksEventName>(name: K): JwksEvents[K][] => events.filter((x) => x.name === name).map((x) => x.e as JwksEvents[K]);
  return { events, of };
}

/** Poll `cond` every few ms of real time until it holds or `timeoutMs` passes. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The stable code of a library error, else a description (for messages and tallies). */
export function codeOf(err: unknown): string {
  if (err instanceof JwksKeeperError) return err.code;
  return `NOT-A-LIBRARY-ERROR(${err instanceof Error ? `${err.name}: ${err.message}` : String(err)})`;
}

/** Assert `p` rejects with a KeysUnavailableError of `code` (or one of `codes`); returns it. */
export async function rejects503(p: Promise<unknown>, ...codes: string[]): Promise<KeysUnavailableError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KeysUnavailableError, `expected KeysUnavailableError, got ${codeOf(err)}`);
    if (codes.length > 0) assert.ok(codes.includes(err.code), `expected ${codes.join('|')}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a KeysUnavailableError ${codes.join('|')}, but it resolved`);
}

/** Assert `p` rejects with a TokenInvalidError of `code` (or one of `codes`); returns it. */
export async function rejects401(p: Promise<unknown>, ...codes: string[]): Promise<TokenInvalidError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof TokenInvalidError, `expected TokenInvalidError, got ${codeOf(err)}`);
    if (codes.length > 0) assert.ok(codes.includes(err.code), `expected ${codes.join('|')}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a TokenInvalidError ${codes.join('|')}, but it resolved`);
}

/** Real time of `n` sequential verifications of `token`, in ms. */
export async function timeVerifications(verifier: Verifier, token: string, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await verifier.verify(token);
  return performance.now() - t0;
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
