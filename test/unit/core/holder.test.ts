/** The holder: installs only newer versions (a restore is a bridge), re-bases generations, emits diffs with `initial`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyHolder } from '../../../src/core/holder.js';
import { VersionClock } from '../../../src/core/record.js';
import { newStats } from '../../../src/core/stats.js';
import { SafeEmitter } from '../../../src/events.js';
import type { JwksEvents } from '../../../src/events.js';
import { ManualClock } from '../../../src/testing/index.js';
import { record, snap } from './fixtures.js';

function setup() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const emitter = new SafeEmitter();
  const changed: JwksEvents['keys.changed'][] = [];
  emitter.on('keys.changed', (e) => changed.push(e));
  let stale = 0;
  let cleared = 0;
  const versions = new VersionClock();
  const h = new KeyHolder({ clock, maxStaleMs: 1_000, emitter, stats: newStats(), versions, onStale: () => stale++, onChanged: () => cleared++ });
  return { clock, h, changed, versions, stale: () => stale, cleared: () => cleared };
}

test('accept: table of offers (version, origin) → installed / changed / generation', () => {
  const { h, changed, versions, cleared } = setup();
  const A = snap(['a']);
  const B = snap(['b']);
  const steps: [label: string, rec: ReturnType<typeof record>, origin: 'fetch' | 'restore' | 'shared', installed: boolean, changed: boolean, generation: number][] = [
    ['first set (restore)', record(A, 100), 'restore', true, true, 1],
    ['own fetch replaces a restore even when not newer', record(B, 50), 'fetch', true, true, 2],
    ['older shared record refused', record(A, 40), 'shared', false, false, 2],
    ['equal version refused', record(A, 50), 'shared', false, false, 2],
    ['newer 304-like record, same keys: installed, not changed', record(B, 60), 'fetch', true, false, 2],
    ['newer shared record with other keys', record(A, 70), 'shared', true, true, 3],
    ['an own fetch older than a shared record is refused', record(B, 65), 'fetch', false, false, 3],
  ];
  for (const [label, rec, origin, installed, ch, generation] of steps) {
    assert.deepEqual(h.accept(rec, origin), { installed, changed: ch, generation }, label);
    assert.equal(h.generation, generation, label);
  }
  assert.equal(versions.last, 100, 'every offered version observed');
  assert.deepEqual(
    changed.map((e) => [e.generation, e.previousGeneration, e.initial, e.added, e.removed]),
    [
      [1, 0, true, ['a'], []],
      [2, 1, false, ['b'], ['a']],
      [3, 2, false, ['a'], ['b']],
    ],
  );
  assert.equal(cleared(), 3, 'onChanged once per material change');
});

test('freshness: own fetches age from arrival; other records from their wall-clock fetchedAt; fresh → stale (noted once) → expired', async () => {
  const { clock, h, stale } = setup();
  h.accept(record(snap(['a']), 1, { fetchedAt: clock.wallNow() - 400, freshForMs: 1_000 }), 'restore');
  assert.equal(h.usability(clock.monotonicNow()), 'fresh');
  await clock.advance(600);
  assert.equal(h.usability(clock.monotonicNow()), 'fresh');
  await clock.advance(1);
  assert.equal(h.usability(clock.monotonicNow()), 'stale', 'restored record aged by 400 ms at install');
  assert.ok(h.peek('a', 'ES256'), 'stale keys are served');
  assert.equal(stale(), 1);
  h.accept(record(snap(['a']), 2, { fetchedAt: clock.wallNow() - 10_000, freshForMs: 1_000 }), 'fetch');
  assert.equal(h.usability(clock.monotonicNow()), 'fresh', 'an own fetch is dated by its arrival');
  await clock.advance(2_001);
  assert.equal(h.usability(clock.monotonicNow()), 'expired');
  assert.equal(h.peek('a', 'ES256'), undefined, 'expired keys are not served');
  h.close();
});

test('peek: the hot path answers only found selections and counts hits', () => {
  const { h } = setup();
  assert.equal(h.peek('a', 'ES256'), undefined, 'nothing installed');
  h.accept(record(snap(['a', 'b']), 1), 'fetch');
  assert.equal(h.peek('a', 'ES256')?.keys.length, 1);
  assert.equal(h.peek('a', 'RS256'), undefined);
  assert.equal(h.peek(undefined, 'ES256'), undefined, 'no kid with two keys');
  assert.equal(h.peek('zz', 'ES256'), undefined);
  h.close();
  assert.equal(h.peek('a', 'ES256'), undefined, 'closed');
});
