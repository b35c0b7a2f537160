/** The circuit breaker policy, as tables: pure functions of (state, now). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { breakerAdmit, breakerDegraded, breakerInit, breakerRecord, type BreakerState } from '../../src/redis/breaker.js';

const cfg = { failureThreshold: 3, openMs: 5_000 };

test('admission by state and time', () => {
  const open: BreakerState = { mode: 'open', failures: 3, openedAt: 1_000 };
  const rows: [BreakerState, number, string, BreakerState['mode']][] = [
    [breakerInit, 0, 'call', 'closed'],
    [{ mode: 'closed', failures: 2, openedAt: 0 }, 10, 'call', 'closed'],
    [open, 1_000, 'refuse', 'open'],
    [open, 5_999, 'refuse', 'open'],
    [open, 6_000, 'probe', 'probing'],
    [open, 60_000, 'probe', 'probing'],
    [{ mode: 'probing', failures: 3, openedAt: 1_000 }, 60_000, 'refuse', 'probing'],
  ];
  for (const [s, now, verdict, mode] of rows) {
    const r = breakerAdmit(s, now, cfg);
    assert.equal(r.verdict, verdict, JSON.stringify({ s, now }));
    assert.equal(r.state.mode, mode, JSON.stringify({ s, now }));
  }
});

test('outcomes: N consecutive failures open, a success closes, a failed probe re-opens from now', () => {
  let s = breakerInit;
  s = breakerRecord(s, 1, false, cfg);
  s = breakerRecord(s, 2, false, cfg);
  assert.equal(s.mode, 'closed');
  assert.equal(breakerDegraded(s), false);
  s = breakerRecord(s, 3, true, cfg);
  assert.deepEqual(s, breakerInit, 'a success resets the count');
  for (let i = 0; i < 3; i++) s = breakerRecord(s, 10 + i, false, cfg);
  assert.deepEqual(s, { mode: 'open', failures: 3, openedAt: 12 });
  assert.equal(breakerDegraded(s), true);
  const probing = breakerAdmit(s, 5_012, cfg).state;
  const reopened = breakerRecord(probing, 5_020, false, cfg);
  assert.deepEqual(reopened, { mode: 'open', failures: 4, openedAt: 5_020 });
  assert.equal(breakerAdmit(reopened, 10_019, cfg).verdict, 'refuse');
  assert.deepEqual(breakerRecord(breakerAdmit(reopened, 10_020, cfg).state, 10_021, true, cfg), breakerInit);
});

test('threshold 1 opens on the first failure', () => {
  assert.equal(breakerRecord(breakerInit, 0, false, { failureThreshold: 1, openMs: 1 }).mode, 'open');
});
