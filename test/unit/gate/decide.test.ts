/** The unknown-kid gate's pure decisions, as tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ArrivalState } from '../../../src/gate/decide.js';
import { decideRecheck, decideUnknownKid, negativeHit, settleWaiter, waiterTimesOut } from '../../../src/gate/decide.js';

const cfg = { negativeTtlMs: 300_000, maxWaitMs: 10_000 };
const NOW = 1_000_000;
const base: ArrivalState = { negative: undefined, generation: 3, needsNewFetch: false, admission: 'admitted', inflight: false, readyAt: NOW, frequency: 1 };

test('decideUnknownKid: table', () => {
  const rows: [label: string, over: Partial<ArrivalState>, kind: string, extra?: Record<string, unknown>][] = [
    ['negative entry of this generation, young', { negative: { generation: 3, at: NOW - 1 } }, 'negative-hit'],
    ['negative entry at its TTL', { negative: { generation: 3, at: NOW - 300_000 } }, 'refetch'],
    ['negative entry of an older generation', { negative: { generation: 2, at: NOW - 1 } }, 'refetch'],
    ['signature recheck ignores the negative cache', { negative: { generation: 3, at: NOW - 1 }, needsNewFetch: true }, 'refetch'],
    ['room not asked yet', { admission: 'not-asked' }, 'ask-admission'],
    ['negative hit before asking the room', { admission: 'not-asked', negative: { generation: 3, at: NOW } }, 'negative-hit'],
    ['room full', { admission: 'full', readyAt: NOW + 2_500 }, 'capacity-reject', { retryAfterMs: 2_500 }],
    ['room full, budget ready', { admission: 'full' }, 'capacity-reject', { retryAfterMs: 0 }],
    ['load in flight: join', { inflight: true }, 'joined'],
    ['load in flight, recheck: wait for the next load', { inflight: true, needsNewFetch: true }, 'waited', { armAt: undefined }],
    ['budget ready now', {}, 'refetch'],
    ['budget ready within maxWait', { readyAt: NOW + 10_000 }, 'waited', { armAt: NOW + 10_000 }],
    ['budget ready after maxWait', { readyAt: NOW + 10_001 }, 'wait-timeout', { retryAfterMs: 10_001 }],
    ['frequency does not change today’s rule (issue 11 seam)', { frequency: 1e6, readyAt: NOW + 10_001 }, 'wait-timeout'],
  ];
  for (const [label, over, kind, extra] of rows) {
    const d = decideUnknownKid({ ...base, ...over }, NOW, cfg);
    assert.equal(d.kind, kind, label);
    for (const [k, v] of Object.entries(extra ?? {})) assert.equal((d as Record<string, unknown>)[k], v, `${label}: ${k}`);
  }
});

test('negativeHit and waiterTimesOut: boundaries', () => {
  assert.equal(negativeHit(undefined, 1, NOW, cfg), false);
  assert.equal(negativeHit({ generation: 1, at: NOW - 299_999 }, 1, NOW, cfg), true);
  assert.equal(negativeHit({ generation: 1, at: NOW - 300_000 }, 1, NOW, cfg), false);
  assert.equal(waiterTimesOut(NOW, NOW), false);
  assert.equal(waiterTimesOut(NOW, NOW + 1), true);
});

test('settleWaiter: by version, not by local time', () => {
  const rows: [label: string, after: number, needsNewFetch: boolean, version: number, hasKid: boolean, outcome: string][] = [
    ['newer record with the kid', 10, false, 11, true, 'found'],
    ['newer record without the kid: confirmed absent', 10, false, 11, false, 'not-found'],
    ['record of the load already in flight, with the kid', 10, false, 10, true, 'found'],
    ['record of the load already in flight, without: keep waiting', 10, false, 10, false, 'keep'],
    ['recheck: the load in flight cannot answer, even with the kid', 10, true, 10, true, 'keep'],
    ['recheck: a newer record answers', 10, true, 11, true, 'found'],
    ['recheck: a newer record without the kid', 10, true, 11, false, 'not-found'],
    ['a record from another process with a larger version settles too', 10, false, 5_000_000, false, 'not-found'],
  ];
  for (const [label, after, needsNewFetch, version, hasKid, outcome] of rows) {
    assert.equal(settleWaiter({ after, needsNewFetch }, version, hasKid), outcome, label);
  }
});

test('decideRecheck: one recheck per generation', () => {
  assert.equal(decideRecheck(undefined, 2, 3), 'newer-set');
  assert.equal(decideRecheck(undefined, 3, 3), 'open');
  assert.equal(decideRecheck({ generation: 2, after: 0, settled: true }, 3, 3), 'open');
  assert.equal(decideRecheck({ generation: 3, after: 0, settled: false }, 3, 3), 'join');
  assert.equal(decideRecheck({ generation: 3, after: 0, settled: true }, 3, 3), 'done');
});
