/**
 * The gate's pure decision with the priority path (issue 11), as a table: when the shared
 * budget is spent, a popular kid may start a load on the priority allowance; the allowance
 * only ever makes a wait shorter.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decideUnknownKid, type ArrivalState, type GateDecision, type GateDecisionConfig } from '../../../src/gate/decide.js';

const CFG: GateDecisionConfig = { negativeTtlMs: 300_000, maxWaitMs: 10_000 };
const NOW = 1_000;
const base: ArrivalState = {
  negative: undefined,
  generation: 1,
  needsNewFetch: false,
  admission: 'admitted',
  inflight: false,
  readyAt: NOW,
  frequency: 3,
  priorityReadyAt: Infinity,
};

describe('decideUnknownKid with the priority path (table)', () => {
  const rows: { name: string; s: Partial<ArrivalState>; want: GateDecision }[] = [
    { name: 'in flight: join (the allowance is kept)', s: { inflight: true, readyAt: 5_000, priorityReadyAt: NOW }, want: { kind: 'joined' } },
    { name: 'in flight, needs a newer load: wait for it', s: { inflight: true, needsNewFetch: true, priorityReadyAt: NOW }, want: { kind: 'waited', armAt: undefined } },
    { name: 'budget ready: refetch on the budget (the allowance is kept)', s: { priorityReadyAt: 0 }, want: { kind: 'refetch' } },
    { name: 'budget spent, popular, allowance ready: priority refetch', s: { readyAt: 9_000, priorityReadyAt: NOW }, want: { kind: 'priority-refetch' } },
    { name: 'budget spent, not popular: wait for the slot', s: { readyAt: 9_000 }, want: { kind: 'waited', armAt: 9_000 } },
    { name: 'budget spent, popular, allowance later than the slot: wait for the slot', s: { readyAt: 9_000, priorityReadyAt: 15_000 }, want: { kind: 'waited', armAt: 9_000 } },
    { name: 'budget spent, popular, allowance sooner: wait for the allowance', s: { readyAt: 9_000, priorityReadyAt: 4_000 }, want: { kind: 'waited', armAt: 4_000 } },
    { name: 'no load before the deadline: give up', s: { readyAt: 20_000 }, want: { kind: 'wait-timeout', retryAfterMs: 19_000 } },
    { name: 'the allowance saves a lookup the slot would not', s: { readyAt: 20_000, priorityReadyAt: 10_000 }, want: { kind: 'waited', armAt: 10_000 } },
    { name: 'backing off (both later than the deadline): give up', s: { readyAt: 60_000, priorityReadyAt: 60_000 }, want: { kind: 'wait-timeout', retryAfterMs: 59_000 } },
    { name: 'room full: capacity reject even when popular', s: { admission: 'full', readyAt: 9_000, priorityReadyAt: NOW }, want: { kind: 'capacity-reject', retryAfterMs: 8_000 } },
    { name: 'negative cache first, popular or not', s: { negative: { generation: 1, at: 500 }, admission: 'not-asked', priorityReadyAt: NOW }, want: { kind: 'negative-hit' } },
  ];
  for (const r of rows) test(r.name, () => assert.deepEqual(decideUnknownKid({ ...base, ...r.s }, NOW, CFG), r.want));

  test('never later than without the priority path: for any budget and allowance, the wait ends no later than the budget slot', () => {
    const at = (d: GateDecision) => (d.kind === 'waited' ? (d.armAt ?? NOW) : d.kind === 'wait-timeout' ? Infinity : NOW);
    for (let b = 0; b < 30_000; b += 1_250) {
      for (const p of [0, 500, 5_000, 12_000, 40_000, Infinity]) {
        const without = decideUnknownKid({ ...base, readyAt: b }, NOW, CFG);
        const withP = decideUnknownKid({ ...base, readyAt: b, priorityReadyAt: p }, NOW, CFG);
        assert.ok(at(withP) <= at(without), `budget ${b}, allowance ${p}`);
      }
    }
  });
});
