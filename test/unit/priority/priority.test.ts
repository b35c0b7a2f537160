/**
 * The priority path's pure parts, as tables: popularity, the allowance and the attack bound
 * (the gate's decision with it: test/unit/gate/decide-priority.test.ts). Time is an explicit manual clock (`now` in ms).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  PRIORITY_DEFAULTS,
  PopularityTracker,
  PriorityAllowance,
  emptySightings,
  isPopular,
  priorityAttemptsPerWindow,
  recordSighting,
  seededHash,
  type PopularityConfig,
} from '../../../src/policy/priority.js';

const CFG: PopularityConfig = { minSightings: 3, windowMs: 1_000, minClients: 3 };
const seeded = () => 0.25;

describe('isPopular (table)', () => {
  // each sighting: [time, client or undefined]; verdict at the last sighting's time unless `at`
  const rows: { name: string; s: [number, number | undefined][]; at?: number; popular: boolean }[] = [
    { name: 'one sighting', s: [[0, 1]], popular: false },
    { name: 'two sightings, two clients', s: [[0, 1], [5, 2]], popular: false },
    { name: 'three sightings, three clients, within the window', s: [[0, 1], [5, 2], [10, 3]], popular: true },
    { name: 'three sightings, one client', s: [[0, 7], [5, 7], [10, 7]], popular: false },
    { name: '700 sightings, one client', s: Array.from({ length: 700 }, (_, i) => [i, 7] as [number, number]), popular: false },
    { name: 'three sightings, two clients', s: [[0, 1], [5, 2], [10, 1]], popular: false },
    { name: 'three anonymous sightings', s: [[0, undefined], [5, undefined], [10, undefined]], popular: true },
    { name: 'anonymous and one client: the client condition applies', s: [[0, undefined], [5, 1], [10, undefined]], popular: false },
    { name: 'three clients, spread over more than the window', s: [[0, 1], [600, 2], [1_200, 3]], popular: false },
    { name: 'exactly at the window edge', s: [[0, 1], [500, 2], [1_000, 3]], popular: true },
    { name: 'popular, then the window passes', s: [[0, 1], [5, 2], [10, 3]], at: 1_011, popular: false },
    { name: 'old clients out of the window, recent sightings by one client', s: [[0, 1], [1, 2], [2, 3], [2_000, 4], [2_001, 4], [2_002, 4]], popular: false },
    { name: 'many sightings, third distinct client arrives late in the window', s: [[0, 1], [1, 1], [2, 2], [3, 2], [900, 3]], popular: true },
  ];
  for (const r of rows) {
    test(r.name, () => {
      const s = emptySightings();
      for (const [t, c] of r.s) recordSighting(s, t, c, CFG);
      assert.equal(isPopular(s, r.at ?? r.s[r.s.length - 1]![0], CFG), r.popular);
      assert.ok(s.times.length <= CFG.minSightings, 'bounded: at most minSightings times');
      assert.ok(s.clients.length <= CFG.minClients, 'bounded: at most minClients clients');
    });
  }

  test('minClients 1 and minSightings 1 (configured down): any sighting is popular', () => {
    const cfg = { minSightings: 1, windowMs: 1_000, minClients: 1 };
    assert.equal(isPopular(recordSighting(emptySightings(), 0, 9, cfg), 0, cfg), true);
  });
});

describe('PopularityTracker', () => {
  test('one-off kids are never popular, memory stays within capacity', () => {
    const t = new PopularityTracker({ ...CFG, burst: 2, cooldownMs: 20_000, capacity: 1_000 }, seeded);
    for (let i = 0; i < 50_000; i++) assert.equal(t.observe(`r${i}`, `c${i % 97}`, i), false);
    assert.equal(t.size, 1_000);
  });

  test('a real kid from many clients is popular on its third sighting, even inside a flood of one-off kids', () => {
    const t = new PopularityTracker({ ...CFG, burst: 2, cooldownMs: 20_000, capacity: 1_000 }, seeded);
    const verdicts: boolean[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 200; j++) t.observe(`r${i}-${j}`, undefined, now); // 200 one-off kids between sightings
      verdicts.push(t.observe('new', `user-${i}`, now));
      now += 10;
    }
    assert.deepEqual(verdicts, [false, false, true, true, true]);
    assert.equal(t.isPopular('new', now), true);
    assert.equal(t.isPopular('new', now + 2_000), false, 'the window passed');
    assert.equal(t.isPopular('never-seen', now), false);
  });

  test('a kid pushed out by more than capacity one-off kids between its sightings is forgotten (documented limit)', () => {
    const t = new PopularityTracker({ ...CFG, burst: 2, cooldownMs: 20_000, capacity: 100 }, seeded);
    t.observe('new', 'a', 0);
    t.observe('new', 'b', 1);
    for (let j = 0; j < 100; j++) t.observe(`r${j}`, undefined, 2);
    assert.equal(t.observe('new', 'c', 3), false);
  });

  test('the hash is seeded: two trackers disagree on which kids collide', () => {
    assert.notEqual(seededHash('kid', 1), seededHash('kid', 2));
    assert.ok(Number.isSafeInteger(seededHash('x'.repeat(300), 12345)));
  });
});

describe('PriorityAllowance', () => {
  const A = { burst: 2, cooldownMs: 20_000 };

  test('table: a burst of 2, then one per 20 s', () => {
    const a = new PriorityAllowance(A, 0);
    const rows: [number, boolean][] = [
      [0, true],
      [0, true],
      [0, false],
      [19_999, false],
      [20_000, true],
      [20_001, false],
      [40_000, true],
      [100_000, true],
      [100_000, true],
      [100_000, false],
    ];
    rows.forEach(([now, ok], i) => {
      assert.equal(a.readyAt(now) <= now, ok, `row ${i} at ${now}`);
      if (ok) a.spend(`k${i}`, now, 1);
    });
  });

  test('a kid spends it at most once per generation; a new generation forgets', () => {
    const a = new PriorityAllowance(A, 0);
    assert.equal(a.eligible('fake', 1), true);
    a.spend('fake', 0, 1);
    assert.equal(a.eligible('fake', 1), false);
    assert.equal(a.eligible('other', 1), true);
    assert.equal(a.eligible('fake', 2), true, 'new generation');
  });

  test('the spent-kid memory is bounded', () => {
    const a = new PriorityAllowance({ burst: 100, cooldownMs: 1 }, 0, 4);
    for (let i = 0; i < 10; i++) a.spend(`k${i}`, i * 10, 1);
    assert.equal(a.eligible('k0', 1), true, 'oldest forgotten');
    assert.equal(a.eligible('k9', 1), false);
  });

  test('burst 0 disables the priority path', () => {
    assert.equal(new PriorityAllowance({ burst: 0, cooldownMs: 20_000 }, 0).readyAt(1e9), Infinity);
  });

  test('the documented bound: at most 2 + 3 = 5 priority attempts in any (closed) 60 s window, against an attacker spending whenever possible', () => {
    assert.equal(priorityAttemptsPerWindow(PRIORITY_DEFAULTS, 60_000), 5);
    const a = new PriorityAllowance(PRIORITY_DEFAULTS, 0);
    const spends: number[] = [];
    // an attacker with a fresh popular fake kid every 10 ms for 10 minutes
    for (let now = 0, i = 0; now < 600_000; now += 10, i++) {
      if (a.eligible(`fake-${i}`, 1) && a.readyAt(now) <= now) {
        a.spend(`fake-${i}`, now, 1);
        spends.push(now);
      }
    }
    let worst = 0;
    for (let i = 0; i < spends.length; i++) {
      const inWindow = spends.filter((t) => t >= spends[i]! && t <= spends[i]! + 60_000).length; // closed windows
      worst = Math.max(worst, inWindow);
    }
    console.log(`priority allowance under a fake-popular-kid attacker: ${spends.length} attempts in 10 min, worst 60 s window ${worst} (bound ${priorityAttemptsPerWindow(PRIORITY_DEFAULTS, 60_000)})`);
    assert.ok(worst <= priorityAttemptsPerWindow(PRIORITY_DEFAULTS, 60_000));
    assert.equal(worst, 5, 'the bound is tight (the test can fail)');
    assert.ok(spends.length <= 2 + 600_000 / 20_000);
  });

  test('repeating one fake kid buys one priority attempt per generation, however many clients send it', () => {
    const a = new PriorityAllowance(PRIORITY_DEFAULTS, 0);
    let spent = 0;
    for (let now = 0; now < 600_000; now += 10) {
      if (a.eligible('fake', 1) && a.readyAt(now) <= now) {
        a.spend('fake', now, 1);
        spent++;
      }
    }
    assert.equal(spent, 1);
  });
});
