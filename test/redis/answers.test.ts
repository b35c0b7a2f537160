/**
 * The store's answer checking and failure handling over a scripted fake link (no server):
 * every shape of garbage a client could return is FLEET_GARBAGE, error replies are
 * FLEET_ERROR, silence is FLEET_TIMEOUT at callTimeoutMs, NOSCRIPT falls back to EVAL once,
 * and the breaker opens, refuses, probes on its own timer and recovers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PubSubLink, RedisLink } from '../../src/redis/link.js';
import { RedisStore, type StoreSettings, type FleetStatusChange } from '../../src/redis/store.js';
import { GET, LOCK, SET_IF_NEWER, TAKE } from '../../src/redis/scripts.js';
import { ManualClock } from '../../src/testing/index.js';

type Reply = unknown | Error | 'hang';

class FakeLink implements RedisLink {
  sent: string[][] = [];
  next: (args: readonly string[]) => Reply = () => 'hang';
  command(args: readonly string[], signal: AbortSignal): Promise<unknown> {
    this.sent.push([...args]);
    const r = this.next(args);
    if (r === 'hang') return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
  }
  subscriber(): PubSubLink {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

function setup(overrides: Partial<StoreSettings> = {}) {
  const clock = new ManualClock();
  const link = new FakeLink();
  const store = new RedisStore(link, {
    secret: new Uint8Array(32),
    keyPrefix: 't:',
    callTimeoutMs: 200,
    failureThreshold: 3,
    openMs: 5_000,
    maxValueBytes: 1024,
    maxLockTtlMs: 60_000,
    clock,
    scheduler: clock,
    ...overrides,
  });
  return { clock, link, store };
}

const code = async (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => String(e.code),
  );

test('garbage answers to every script are FLEET_GARBAGE', async () => {
  const rows: [string, (s: RedisStore) => Promise<unknown>, unknown[]][] = [
    ['get', (s) => s.get('k'), ['OK', null, 1, [], [1], [1, '5'], [1, 'x', 'v'], [1, '5', ''], [1, '5', 7], [1, '-5', 'v'], [1, '1.5', 'v'], [9], [-1, 'string'], [-2, 5000], [-3], [-4]]],
    ['setIfNewer', (s) => s.setIfNewer('k', 1, 'v'), ['OK', null, 2, -1, '1', [1]]],
    ['lock', (s) => s.lock('k', 1000), ['OK', null, 2, '1']],
    ['take', (s) => s.take('k', { burst: 2, cooldownMs: 1000 }), [null, 1, [1], [2, 0], [0, -1], [0, 1.5], [0, '5'], [1, 0, 0]]],
    ['deleteIfVersion', (s) => s.deleteIfVersion('k', 1), ['OK', null, 3]],
  ];
  for (const [name, call, replies] of rows) {
    for (const reply of replies) {
      const { link, store } = setup({ failureThreshold: 1_000 });
      link.next = () => reply;
      assert.equal(await code(call(store)), 'FLEET_GARBAGE', `${name} → ${JSON.stringify(reply)}`);
    }
  }
});

test('well-formed answers decode', async () => {
  const { link, store } = setup();
  link.next = () => [0];
  assert.equal(await store.get('k'), undefined);
  link.next = () => [1, '42', 'value'];
  assert.deepEqual(await store.get('k'), { version: 42, value: 'value' });
  link.next = () => 1;
  assert.equal(await store.setIfNewer('k', 43, 'v'), true);
  link.next = () => 0;
  assert.equal(await store.setIfNewer('k', 43, 'v'), false);
  link.next = () => [0, 700];
  assert.deepEqual(await store.take('k', { burst: 1, cooldownMs: 1000 }), { taken: false, retryAfterMs: 700 });
  link.next = () => [0, 10 ** 9];
  assert.deepEqual(await store.take('k', { burst: 1, cooldownMs: 1000 }), { taken: false, retryAfterMs: 1000 }, 'a wait beyond one cooldown is capped');
});

test('the scripts go by EVALSHA with one key; NOSCRIPT falls back to EVAL of the same script', async () => {
  const { link, store } = setup();
  link.next = (args) => (args[0] === 'EVALSHA' ? new Error('NOSCRIPT No matching script. Please use EVAL.') : 1);
  assert.equal(await store.setIfNewer('k', 1, 'v'), true);
  assert.equal(link.sent.length, 2);
  assert.deepEqual(link.sent[0]!.slice(0, 3), ['EVALSHA', SET_IF_NEWER.sha, '1']);
  assert.deepEqual(link.sent[1]!.slice(0, 3), ['EVAL', SET_IF_NEWER.source, '1']);
  assert.equal(link.sent[0]![3], store.redisKeys('k').record);
  assert.deepEqual(link.sent[0]!.slice(4, 7), ['1', 'v', store.redisKeys('k').channel]);
  const shas = new Set([GET.sha, SET_IF_NEWER.sha, LOCK.sha, TAKE.sha]);
  assert.equal(shas.size, 4);
});

test('an error reply is FLEET_ERROR; a value over maxValueBytes is FLEET_TOO_LARGE without a call', async () => {
  const { link, store } = setup();
  link.next = () => new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
  assert.equal(await code(store.get('k')), 'FLEET_ERROR');
  const before = link.sent.length;
  assert.equal(await code(store.setIfNewer('k', 1, 'x'.repeat(1025))), 'FLEET_TOO_LARGE');
  assert.equal(link.sent.length, before);
});

test('silence: FLEET_TIMEOUT at exactly callTimeoutMs; 3 in a row open the circuit; refused without a call; the probe timer rejoins', async () => {
  const { clock, link, store } = setup();
  const log: FleetStatusChange[] = [];
  store.onStatus((c) => log.push(c));
  for (let i = 0; i < 3; i++) {
    const p = code(store.get('k'));
    await clock.advance(199);
    assert.equal(await Promise.race([p, Promise.resolve('pending')]), 'pending');
    await clock.advance(1);
    assert.equal(await p, 'FLEET_TIMEOUT');
  }
  assert.equal(store.status().state, 'degraded');
  assert.deepEqual(log, [{ state: 'degraded', reason: 'FLEET_TIMEOUT', message: 'no answer from Redis within 200 ms' }]);
  const sent = link.sent.length;
  assert.equal(await code(store.get('k')), 'FLEET_UNAVAILABLE');
  assert.equal(link.sent.length, sent, 'no round trip while open');
  // the probe, on the store's own timer: still silent → open again
  await clock.advance(5_000);
  assert.equal(link.sent.length, sent + 1);
  await clock.advance(200);
  assert.equal(store.status().state, 'degraded');
  // Redis answers again: the next probe closes the circuit
  link.next = () => 1;
  await clock.advance(5_000);
  assert.equal(store.status().state, 'connected');
  assert.deepEqual(log.at(-1), { state: 'recovered', degradedForMs: 10_200 });
  assert.equal(store.status().degradedMs, 10_200);
  assert.deepEqual(store.stats(), { calls: 5, failures: 4, timeouts: 4, refused: 1, garbage: 0, degradations: 1, broadcastsReceived: 0 });
  await store.close();
  assert.equal(clock.pendingTimers, 0, 'no timer left behind');
});

test('a successful call resets the failure count', async () => {
  const { clock, link, store } = setup();
  for (let i = 0; i < 10; i++) {
    link.next = () => 'hang';
    const p = code(store.get('k'));
    await clock.advance(200);
    assert.equal(await p, 'FLEET_TIMEOUT');
    link.next = () => [0];
    assert.equal(await store.get('k'), undefined);
  }
  assert.equal(store.status().state, 'connected');
});
