/** The waiting room and the recent-frequency counts, as scripted tables. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentFrequency } from '../../../src/policy/frequency.js';
import type { Waiter } from '../../../src/policy/waiting-room.js';
import { WaitingRoom } from '../../../src/policy/waiting-room.js';

const w = (kid: string, clientId?: string): Waiter<number> => ({ kid, clientId, arrivedAt: 0, deadline: 1, needsNewFetch: false, resolve: () => {}, reject: () => {} });

test('admission: per-client cap, then a full room admits only a more (or equally) frequent kid, displacing the least frequent', () => {
  const room = new WaitingRoom<number>(3, 2);
  const steps: [waiter: Waiter<number>, frequency: number, outcome: string][] = [
    [w('a', 'c1'), 1, 'admitted'],
    [w('b', 'c1'), 1, 'admitted'],
    [w('c', 'c1'), 1, 'client-capacity'],
    [w('c', 'c2'), 5, 'admitted'],
    [w('d'), 0, 'capacity'], // less frequent than every group
    [w('e'), 1, 'admitted, evicted a'], // as frequent as the least: displaces the oldest such
  ];
  for (const [waiter, f, outcome] of steps) {
    const r = room.admit(waiter, f);
    const got = r.admitted ? `admitted${r.evicted ? `, evicted ${r.evicted.kid}` : ''}` : r.reason;
    assert.equal(got, outcome, `${waiter.kid} (${f})`);
  }
  const last = room.admit(w('c'), 9);
  assert.ok(last.admitted && last.evicted?.kid === 'b', 'a popular kid displaces the least frequent other group');
  assert.equal(room.size, 3);
  assert.equal(room.drain().length, 3);
  assert.equal(room.size, 0);
});

test('RecentFrequency: counts repeat kids, forgets the least recent when full', () => {
  const f = new RecentFrequency(2, () => 0.25);
  assert.deepEqual(['a', 'a', 'b', 'a'].map((k) => f.add(k)), [1, 2, 1, 3]);
  f.add('c'); // evicts b (least recent)
  assert.equal(f.estimate('b'), 0);
  assert.equal(f.estimate('a'), 3);
  assert.equal(f.size, 2);
});
