/** Each source layer alone, with a manual clock and a scripted source below it. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KeysUnavailableError } from '../../../src/errors.js';
import type { RefreshReason } from '../../../src/events.js';
import type { KeySetRecord } from '../../../src/core/record.js';
import { BackoffLayer } from '../../../src/source/backoff.js';
import { budgetLayer, memoryBudget } from '../../../src/source/budget.js';
import type { RefreshBudget } from '../../../src/source/budget.js';
import { composeSource } from '../../../src/source/compose.js';
import { SingleFlight } from '../../../src/source/single-flight.js';
import type { RecordSource } from '../../../src/source/types.js';
import { LoadRefusedError } from '../../../src/source/types.js';
import { ManualClock } from '../../../src/testing/index.js';
import { record, snap } from '../core/fixtures.js';

/** A source below that answers from a script: a record, or an error. */
function scripted(answers: (KeySetRecord | Error)[]) {
  const calls: RefreshReason[] = [];
  const src: RecordSource = {
    async load(_c, reason) {
      calls.push(reason);
      const a = answers.shift();
      if (!a) throw new Error('script exhausted');
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { src, calls };
}
const signal = new AbortController().signal;
const R = record(snap(['a']), 1);
const fail = (retryAfterMs?: number) => new KeysUnavailableError('JWKS_HTTP_STATUS', 'down', { upstreamStatus: 503, ...(retryAfterMs ? { retryAfterMs } : {}) });
const refusedBy = (by: string) => (e: unknown) => e instanceof LoadRefusedError && e.by === by;

describe('backoff', () => {
  test('failures grow the delay (jitter 1 → full step), Retry-After is a floor, a success resets; initial/manual are never refused', async () => {
    const clock = new ManualClock();
    const { src, calls } = scripted([fail(), fail(), fail(60_000), R, fail()]);
    const b = new BackoffLayer(src, { initialMs: 1_000, maxMs: 8_000, maxRetryAfterMs: 30_000 }, clock, () => 1);
    const t0 = clock.monotonicNow();
    const expect: [reason: RefreshReason, outcome: 'fail' | 'ok' | 'refused', failures: number, delay: number][] = [
      ['initial', 'fail', 1, 1_000],
      ['retry', 'refused', 1, 1_000],
      ['manual', 'fail', 2, 2_000],
      ['manual', 'fail', 3, 30_000], // Retry-After 60 s capped at 30 s, above the 4 s step
      ['manual', 'ok', 0, 30_000],
      ['scheduled', 'fail', 1, 1_000],
    ];
    for (const [reason, outcome, failures, delay] of expect) {
      if (outcome === 'ok') assert.equal(await b.load(undefined, reason, signal), R);
      else if (outcome === 'refused') await assert.rejects(b.load(undefined, reason, signal), refusedBy('backoff'));
      else await assert.rejects(b.load(undefined, reason, signal), (e: unknown) => e instanceof KeysUnavailableError);
      assert.equal(b.consecutiveFailures, failures, reason);
      if (outcome !== 'ok') assert.equal(b.lastDelayMs, delay, reason);
    }
    assert.equal(b.readyAt(t0), t0 + 1_000);
    assert.deepEqual(calls, ['initial', 'manual', 'manual', 'manual', 'scheduled'], 'a refusal never reaches the source');
  });

  test('a load aborted by close is not counted as a failure', async () => {
    const clock = new ManualClock();
    const c = new AbortController();
    c.abort();
    const b = new BackoffLayer(scripted([fail()]).src, { initialMs: 1_000, maxMs: 8_000, maxRetryAfterMs: 0 }, clock, () => 0.5);
    await assert.rejects(b.load(undefined, 'initial', c.signal));
    assert.equal(b.consecutiveFailures, 0);
  });
});

describe('budget', () => {
  test('memoryBudget: burst, then one per cooldown (table over time)', async () => {
    const clock = new ManualClock();
    const budget = memoryBudget({ burst: 2, cooldownMs: 10_000 }, clock.monotonicNow());
    const t = clock.monotonicNow();
    const rows: [dt: number, granted: boolean][] = [
      [0, true],
      [0, true],
      [0, false],
      [9_999, false],
      [10_000, true],
      [15_000, false],
      [30_000, true],
      [30_000, true],
      [30_000, false],
    ];
    for (const [dt, granted] of rows) assert.equal((budget.tryTake(t + dt, 'unknown-kid') as { granted: boolean }).granted, granted, `t+${dt}`);
    assert.equal(budget.readyAt(t + 30_000), t + 40_000);
  });

  test('budgetLayer: budgeted reasons spend or are refused with readyAt; initial and manual bypass it; an async budget works', async () => {
    const clock = new ManualClock();
    const { src, calls } = scripted([R, R, R, R]);
    const layer = budgetLayer(src, memoryBudget({ burst: 1, cooldownMs: 5_000 }, clock.monotonicNow()), clock);
    await layer.load(undefined, 'unknown-kid', signal);
    await assert.rejects(layer.load(undefined, 'stale', signal), (e: unknown) => refusedBy('budget')(e) && (e as LoadRefusedError).readyAt === clock.monotonicNow() + 5_000);
    await layer.load(undefined, 'manual', signal);
    await layer.load(undefined, 'initial', signal);
    assert.deepEqual(calls, ['unknown-kid', 'manual', 'initial']);
    const asked: number[] = [];
    const remote: RefreshBudget = {
      tryTake: async (now) => (asked.push(now), asked.length === 1 ? { granted: true } : { granted: false, readyAt: now + 1 }),
      readyAt: (now) => now,
    };
    const viaRemote = budgetLayer(scripted([R]).src, remote, clock);
    assert.equal(await viaRemote.load(undefined, 'scheduled', signal), R);
    await assert.rejects(viaRemote.load(undefined, 'scheduled', signal), refusedBy('budget'));
  });
});

describe('single flight', () => {
  test('concurrent loads share one call below and its outcome; the next load is a new call', async () => {
    let release!: (r: KeySetRecord) => void;
    let n = 0;
    const below: RecordSource = { load: () => (n++, new Promise<KeySetRecord>((r) => (release = r))) };
    const sf = new SingleFlight(below);
    const ps = [sf.load(undefined, 'unknown-kid', signal), sf.load(undefined, 'manual', signal), sf.load(undefined, 'stale', signal)];
    assert.equal(sf.inflight, 'unknown-kid');
    assert.equal(n, 1);
    release(R);
    for (const r of await Promise.all(ps)) assert.equal(r, R);
    assert.equal(sf.inflight, undefined);
    void sf.load(undefined, 'manual', signal);
    assert.equal(n, 2);
    release(R);
  });

  test('a failure is shared too, and clears the flight', async () => {
    const sf = new SingleFlight(scripted([fail(), R]).src);
    const [a, b] = await Promise.allSettled([sf.load(undefined, 'manual', signal), sf.load(undefined, 'manual', signal)]);
    assert.equal(a.status, 'rejected');
    assert.equal(b.status, 'rejected');
    assert.equal(await sf.load(undefined, 'manual', signal), R);
  });
});

describe('composition', () => {
  test('order: a backing-off cache never spends budget; readyAt is the later of backoff and budget', async () => {
    const clock = new ManualClock();
    let taken = 0;
    const inner = memoryBudget({ burst: 5, cooldownMs: 1_000 }, clock.monotonicNow());
    const budget: RefreshBudget = { tryTake: (now, r) => (taken++, inner.tryTake(now, r)), readyAt: (now) => inner.readyAt(now) };
    const s = composeSource({ leaf: scripted([fail(), R]).src, budget, backoff: { initialMs: 4_000, maxMs: 8_000, maxRetryAfterMs: 0 }, clock, random: () => 1 });
    await assert.rejects(s.load(undefined, 'initial', signal));
    assert.equal(taken, 0, 'initial is unbudgeted');
    const now = clock.monotonicNow();
    assert.equal(s.readyAt(now), now + 4_000);
    await assert.rejects(s.load(undefined, 'unknown-kid', signal), refusedBy('backoff'));
    assert.equal(taken, 0, 'refused by the backoff before the budget');
    await clock.advance(4_000);
    assert.equal(await s.load(undefined, 'unknown-kid', signal), R);
    assert.equal(taken, 1);
  });

  test('incoherent compositions are refused at construction', () => {
    const clock = new ManualClock();
    const leaf = scripted([]).src;
    const budget = memoryBudget({ burst: 1, cooldownMs: 1 }, 0);
    const backoff = { initialMs: 1, maxMs: 2, maxRetryAfterMs: 0 };
    const bad: [string, Parameters<typeof composeSource>[0]][] = [
      ['leaf without load', { leaf: {} as RecordSource, budget, backoff, clock, random: Math.random }],
      ['budget without readyAt', { leaf, budget: { tryTake: budget.tryTake } as RefreshBudget, backoff, clock, random: Math.random }],
      ['shared layer not a function', { leaf, budget, backoff, shared: {} as never, clock, random: Math.random }],
      ['backoff initial above max', { leaf, budget, backoff: { initialMs: 5, maxMs: 2, maxRetryAfterMs: 0 }, clock, random: Math.random }],
    ];
    for (const [label, o] of bad) assert.throws(() => composeSource(o), (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID', label);
  });

  test('the shared-store seam sits above backoff and budget: a record it returns costs no token', async () => {
    const clock = new ManualClock();
    let taken = 0;
    const budget: RefreshBudget = { tryTake: () => (taken++, { granted: true }), readyAt: (n) => n };
    const fromStore = record(snap(['s']), 99);
    const s = composeSource({
      leaf: scripted([]).src,
      budget,
      backoff: { initialMs: 1, maxMs: 2, maxRetryAfterMs: 0 },
      shared: () => ({ load: async () => fromStore }),
      clock,
      random: Math.random,
    });
    assert.equal(await s.load(undefined, 'unknown-kid', signal), fromStore);
    assert.equal(taken, 0);
  });
});
