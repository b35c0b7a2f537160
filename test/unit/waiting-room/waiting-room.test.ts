/**
 * The waiting room's admission rules, as tables: distinct kids per client, a fair share of a
 * full room, frequency, and the protection of popular kids.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { WaitingRoom, type Admission, type Waiter } from '../../../src/policy/waiting-room.js';

let seq = 0;
function waiter(kid: string, clientId?: string): Waiter<number> & { id: number } {
  return { id: seq++, kid, clientId, arrivedAt: 0, deadline: 0, needsNewFetch: false, resolve: () => {}, reject: () => {} };
}
const admitted = (a: Admission<number>) => a.admitted;

describe('waiting room: distinct kids per client', () => {
  test('issue 11 point 5: 700 lookups for one new kid from one client (a proxy) are all admitted with the default sizes', () => {
    const room = new WaitingRoom<number>(4096, 512);
    const results = Array.from({ length: 700 }, () => room.admit(waiter('new', '10.0.0.1'), 1));
    assert.equal(results.filter(admitted).length, 700);
    assert.deepEqual(room.heldBy('10.0.0.1'), { waiters: 700, kids: 1 });
  });

  test('a client may hold at most maxPerClient distinct kids; more lookups for kids it holds still pass', () => {
    const room = new WaitingRoom<number>(100, 3);
    for (const k of ['a', 'b', 'c']) {
      assert.ok(room.admit(waiter(k, 'x'), 5).admitted);
      assert.ok(room.admit(waiter(k, 'x'), 5).admitted, 'second waiter for the same kid');
    }
    assert.deepEqual(room.admit(waiter('d', 'x'), 5), { admitted: false, reason: 'client-capacity' }, 'no one-off waiter of its own to displace');
    assert.ok(room.admit(waiter('a', 'x'), 5).admitted, 'a kid it holds');
    assert.ok(room.admit(waiter('d', 'y'), 5).admitted, 'another client is not affected');
    assert.deepEqual(room.heldBy('x'), { waiters: 7, kids: 3 });
  });

  test('behind a proxy: a client at its kid limit with one-off random kids still gets the real new kid in, by displacing one of its own one-offs', () => {
    const room = new WaitingRoom<number>(4096, 512);
    const oneOffs = Array.from({ length: 512 }, (_, i) => waiter(`r${i}`, 'proxy'));
    for (const w of oneOffs) assert.ok(room.admit(w, 1).admitted);
    assert.deepEqual(room.admit(waiter('r-next', 'proxy'), 1).admitted, true, 'a one-off displaces the oldest one-off');
    const a = room.admit(waiter('new', 'proxy'), 1);
    assert.ok(a.admitted);
    assert.equal(a.evicted?.clientId, 'proxy');
    for (let i = 0; i < 699; i++) assert.ok(room.admit(waiter('new', 'proxy'), 2 + i).admitted, `real-kid lookup ${i}`);
    assert.equal(room.heldBy('proxy').kids, 512);
    // a random kid cannot displace the real kid's group (held many times, more frequent)
    for (let i = 0; i < 2_000; i++) room.admit(waiter(`z${i}`, 'proxy'), 1);
    assert.ok(room.has('new'));
    assert.equal(room.size, 512 - 1 + 700);
  });

  test('displacing its own waiter needs a kid held once, no more frequent than the newcomer, and not popular unless the newcomer is', () => {
    const rows: { name: string; held: [string, number, boolean][]; freq: number; popular: boolean; ok: boolean }[] = [
      { name: 'one-off, less frequent', held: [['a', 1, false]], freq: 2, popular: false, ok: true },
      { name: 'one-off, equally frequent', held: [['a', 2, false]], freq: 2, popular: false, ok: true },
      { name: 'one-off, more frequent', held: [['a', 3, false]], freq: 2, popular: false, ok: false },
      { name: 'one-off of a popular kid, newcomer not popular', held: [['a', 1, true]], freq: 2, popular: false, ok: false },
      { name: 'one-off of a popular kid, newcomer popular', held: [['a', 1, true]], freq: 2, popular: true, ok: true },
    ];
    for (const r of rows) {
      const room = new WaitingRoom<number>(100, 1);
      for (const [k, f, p] of r.held) room.admit(waiter(k, 'x'), f, p);
      assert.equal(room.admit(waiter('new', 'x'), r.freq, r.popular).admitted, r.ok, r.name);
    }
  });
});

describe('waiting room: a fair share of a full room', () => {
  test('table', () => {
    // room of 8, share 2; 'evil' fills the room with 8 waiters for 2 kids (allowed: there was space)
    const fill = () => {
      const room = new WaitingRoom<number>(8, 2);
      for (let i = 0; i < 4; i++) room.admit(waiter('e1', 'evil'), 100);
      for (let i = 0; i < 4; i++) room.admit(waiter('e2', 'evil'), 100);
      assert.equal(room.size, 8);
      return room;
    };
    const rows: { name: string; run: (room: WaitingRoom<number>) => Admission<number>; want: (a: Admission<number>) => boolean }[] = [
      { name: 'the client above its share cannot take more', run: (r) => r.admit(waiter('e1', 'evil'), 1_000), want: (a) => !a.admitted && a.reason === 'client-capacity' },
      { name: 'a client within its share displaces the one above it, even with a lower frequency', run: (r) => r.admit(waiter('real', 'u1'), 1), want: (a) => a.admitted && a.evicted?.clientId === 'evil' },
      { name: 'an anonymous lookup competes on frequency only', run: (r) => r.admit(waiter('real'), 1), want: (a) => !a.admitted && a.reason === 'capacity' },
    ];
    for (const r of rows) assert.ok(r.want(r.run(fill())), r.name);
  });

  test('waiters of a popular kid are never displaced for fairness', () => {
    const room = new WaitingRoom<number>(4, 1);
    for (let i = 0; i < 4; i++) room.admit(waiter('new', 'proxy'), 10 + i, true);
    const a = room.admit(waiter('r1', 'u1'), 1);
    assert.deepEqual(a, { admitted: false, reason: 'capacity' });
    assert.equal(room.heldBy('proxy').waiters, 4);
  });

  test('under a long flood from one client repeating kids, every lookup of the other clients is admitted (no refresh ever settles anyone here)', () => {
    const room = new WaitingRoom<number>(128, 16);
    let evilIn = 0;
    for (let i = 0; i < 10_000; i++) {
      if (room.admit(waiter(`evil-${Math.floor(i / 200)}`, 'evil'), 1 + (i % 200)).admitted) evilIn++;
      if (i % 100 === 0) assert.ok(room.admit(waiter('real', `user-${i}`), 1 + i / 100).admitted, `real lookup ${i}`);
    }
    assert.ok(evilIn > 0);
    assert.equal(room.size, 128);
    assert.equal(room.heldBy('evil').waiters, 128 - 100, 'the flooding client keeps only what the others leave');
    assert.ok(room.heldBy('evil').kids <= 16);
  });
});

describe('waiting room: frequency when full', () => {
  test('a popular group is not displaced by a non-popular newcomer, even a more frequent one', () => {
    const room = new WaitingRoom<number>(2, 10);
    room.admit(waiter('new'), 1, true);
    room.admit(waiter('new'), 2, true);
    assert.deepEqual(room.admit(waiter('r'), 50), { admitted: false, reason: 'capacity' });
    assert.equal(room.admit(waiter('other'), 50, true).admitted, true, 'a popular newcomer competes on frequency');
  });

  test('gauges after sweep and drain', () => {
    const room = new WaitingRoom<number>(10, 5);
    room.admit(waiter('a', 'x'), 1);
    room.admit(waiter('a', 'y'), 1);
    room.admit(waiter('b', 'x'), 1);
    room.sweep((kid) => kid === 'a');
    assert.deepEqual(room.heldBy('x'), { waiters: 1, kids: 1 });
    assert.deepEqual(room.heldBy('y'), { waiters: 0, kids: 0 });
    assert.equal(room.clientCount, 1);
    assert.equal(room.drain().length, 1);
    assert.equal(room.size, 0);
    assert.equal(room.clientCount, 0);
  });
});
