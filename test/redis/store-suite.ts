/**
 * The Redis shared store against a real redis-server started by the calling test file: the
 * SharedStore contract (records, compare-and-set, subscriptions, locks), the fleet-wide token
 * bucket, key layout. Defined once, run over each supported client (store.test.ts:
 * node-redis, ioredis.test.ts: ioredis).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { redisFleet, type RedisFleet } from '../../src/redis/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SECRET, fleetOn, rawClient, until, type ClientKind, type RawClient } from './fixture.js';

/** Define the suite for fleets on `kind` clients (the caller's file gets its own server). */
export function defineStoreSuite(kind: ClientKind): void {
let server: RedisServer;
let raw: RawClient;
const fleets: RedisFleet[] = [];
let seq = 0;
/** A key no other test uses. */
const freshKey = () => `https://idp${++seq}.example/.well-known/jwks.json`;

async function fleet(extra = {}): Promise<RedisFleet> {
  const f = await fleetOn(server, extra, kind);
  fleets.push(f);
  return f;
}

before(async () => {
  server = await startRedisServer();
  raw = await rawClient(server);
});

after(async () => {
  for (const f of fleets) await f.close();
  raw?.destroy();
  await server?.stop();
});

describe(`SharedStore contract on Redis (${kind})`, () => {
  test('get of an empty key is undefined; setIfNewer stores; get returns version and value', async () => {
    const s = await fleet();
    const key = freshKey();
    assert.equal(await s.get(key), undefined);
    assert.equal(await s.setIfNewer(key, 5, 'record-5'), true);
    assert.deepEqual(await s.get(key), { version: 5, value: 'record-5' });
  });

  test('only a newer version replaces: equal and older are refused and leave the record', async () => {
    const s = await fleet();
    const key = freshKey();
    assert.equal(await s.setIfNewer(key, 10, 'ten'), true);
    assert.equal(await s.setIfNewer(key, 10, 'ten-again'), false);
    assert.equal(await s.setIfNewer(key, 9, 'nine'), false);
    assert.deepEqual(await s.get(key), { version: 10, value: 'ten' });
    assert.equal(await s.setIfNewer(key, 11, 'eleven'), true);
    assert.deepEqual(await s.get(key), { version: 11, value: 'eleven' });
  });

  test('versions up to 2^53 - 1 are exact; invalid versions are refused before any call', async () => {
    const s = await fleet();
    const key = freshKey();
    const big = Number.MAX_SAFE_INTEGER - 1;
    assert.equal(await s.setIfNewer(key, big, 'big'), true);
    assert.equal(await s.setIfNewer(key, big, 'same'), false, 'no rounding makes an equal version look newer');
    assert.equal(await s.setIfNewer(key, big + 1, 'bigger'), true);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, Number.MAX_SAFE_INTEGER + 2]) {
      await assert.rejects(s.setIfNewer(freshKey(), bad, 'x'), RangeError);
    }
  });

  test('concurrent writers on 4 connections: exactly the writes that were newer at their time win; the largest stays', async () => {
    const writers = await Promise.all([fleet(), fleet(), fleet(), fleet()]);
    const key = freshKey();
    const versions = Array.from({ length: 200 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    const results = await Promise.all(versions.map((v, i) => writers[i % 4]!.setIfNewer(key, v, `v${v}`).then((ok) => ({ v, ok }))));
    assert.deepEqual(await writers[0]!.get(key), { version: 200, value: 'v200' });
    assert.ok(results.find((r) => r.v === 200)!.ok);
    // the winners, in the order Redis ran them, form a strictly increasing sequence ending at 200
    const wins = results.filter((r) => r.ok).length;
    assert.ok(wins >= 1 && wins <= 200);
  });

  test('keys are independent, and live under keyPrefix + a hash of the key', async () => {
    const a = await fleet({ keyPrefix: 'tenant-a:' });
    const b = await fleet({ keyPrefix: 'tenant-b:' });
    const key = freshKey();
    await a.setIfNewer(key, 1, 'a');
    assert.equal(await b.get(key), undefined, 'another prefix is another namespace');
    assert.equal(await a.get(freshKey()), undefined);
    const names = a.redisKeys(key);
    assert.match(names.record, /^tenant-a:\{[A-Za-z0-9_-]{32}\}:record$/);
    assert.ok(!names.record.includes('idp'), 'the URL itself is not in the key');
    assert.equal(await raw.hGet(names.record, 'd'), 'a');
  });

  test('subscribe: every instance is told of a newer version, including the writer; refused writes publish nothing', async () => {
    const [w, r1, r2] = await Promise.all([fleet(), fleet(), fleet()]);
    const key = freshKey();
    const seen = new Map<RedisFleet, number[]>([[w, []], [r1, []], [r2, []]]);
    for (const [f, list] of seen) await f.subscribe(key, (v) => list.push(v));
    assert.equal(await w.setIfNewer(key, 3, 'three'), true);
    assert.equal(await w.setIfNewer(key, 2, 'two'), false);
    assert.equal(await w.setIfNewer(key, 4, 'four'), true);
    await until(() => [...seen.values()].every((l) => l.length >= 2), 'both broadcasts everywhere');
    for (const list of seen.values()) assert.deepEqual(list, [3, 4]);
    assert.ok(r1.stats().broadcastsReceived >= 2);
  });

  test('unsubscribe stops delivery; other subscribers of the same key keep theirs', async () => {
    const [w, r] = await Promise.all([fleet(), fleet()]);
    const key = freshKey();
    const a: number[] = [];
    const b: number[] = [];
    const offA = await r.subscribe(key, (v) => a.push(v));
    await r.subscribe(key, (v) => b.push(v));
    await w.setIfNewer(key, 1, 'one');
    await until(() => a.length === 1 && b.length === 1, 'first broadcast');
    await offA();
    await offA();
    await w.setIfNewer(key, 2, 'two');
    await until(() => b.length === 2, 'second broadcast');
    assert.deepEqual(a, [1]);
    assert.deepEqual(b, [1, 2]);
  });

  test('a published message that is not a version is ignored and counted as garbage', async () => {
    const [w, r] = await Promise.all([fleet(), fleet()]);
    const key = freshKey();
    const got: number[] = [];
    await r.subscribe(key, (v) => got.push(v));
    const channel = r.redisKeys(key).channel;
    for (const junk of ['', 'abc', '-1', '1.5', '1e3', '99999999999999999999', 'x'.repeat(10_000)]) await raw.publish(channel, junk);
    await w.setIfNewer(key, 7, 'seven');
    await until(() => got.length === 1, 'the valid broadcast');
    assert.deepEqual(got, [7]);
    assert.equal(r.stats().garbage, 7);
  });
});

describe(`lease lock (${kind})`, () => {
  test('exclusive under 16 concurrent takers on 4 connections; released, it can be taken again', async () => {
    const takers = await Promise.all([fleet(), fleet(), fleet(), fleet()]);
    const key = freshKey();
    const leases = await Promise.all(Array.from({ length: 16 }, (_, i) => takers[i % 4]!.lock(key, 10_000)));
    const held = leases.filter((l) => l !== undefined);
    assert.equal(held.length, 1);
    await held[0]!.release();
    await held[0]!.release();
    const again = await takers[1]!.lock(key, 10_000);
    assert.ok(again);
    await again.release();
  });

  test('a lease carries an expiry of at most its ttl, and a holder that dies releases by expiry', async () => {
    const [a, b] = await Promise.all([fleet(), fleet()]);
    const key = freshKey();
    const lease = await a.lock(key, 5_000);
    assert.ok(lease);
    const pttl = await raw.pTTL(a.redisKeys(key).lock);
    assert.ok(pttl > 0 && pttl <= 5_000, `pttl ${pttl}`);
    // a short lease that is never released (its holder "died"): Redis expires it
    const k2 = freshKey();
    assert.ok(await a.lock(k2, 20));
    assert.equal(await b.lock(k2, 20), undefined);
    await until(async () => (await raw.exists(a.redisKeys(k2).lock)) === 0, 'the lease expired');
    assert.ok(await b.lock(k2, 1_000), 'taken after expiry');
  });

  test('release is compare-and-delete: an expired holder cannot remove the next holder lock', async () => {
    const [a, b] = await Promise.all([fleet(), fleet()]);
    const key = freshKey();
    const first = await a.lock(key, 10_000);
    assert.ok(first);
    await raw.del(a.redisKeys(key).lock); // as if it expired
    const second = await b.lock(key, 10_000);
    assert.ok(second);
    await first.release();
    assert.equal(await raw.exists(a.redisKeys(key).lock), 1, 'the second lease is still held');
    assert.equal(await a.lock(key, 10_000), undefined);
  });

  test('a lock key without expiry, with a huge expiry or of another type was not taken by an instance: it is cleared', async () => {
    const s = await fleet({ maxLockTtlMs: 60_000 });
    for (const plant of [
      (k: string) => raw.set(k, 'forever'),
      (k: string) => raw.set(k, 'a-year', { PX: 365 * 24 * 3600 * 1000 }),
      (k: string) => raw.hSet(k, 'x', '1'),
    ]) {
      const key = freshKey();
      await plant(s.redisKeys(key).lock);
      const lease = await s.lock(key, 1_000);
      assert.ok(lease, 'taken despite the planted key');
    }
    await assert.rejects(s.lock(freshKey(), 60_001), RangeError);
    await assert.rejects(s.lock(freshKey(), 0), RangeError);
  });
});

describe(`fleet-wide token bucket (${kind})`, () => {
  test('atomic under concurrent takers: 8 connections × 25 takes of a burst of 5 take exactly 5', async () => {
    const takers = await Promise.all(Array.from({ length: 8 }, () => fleet()));
    const key = freshKey();
    const budget = { burst: 5, cooldownMs: 3_600_000 };
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => takers[i % 8]!.take(key, budget)));
    assert.equal(results.filter((r) => r.taken).length, 5);
    for (const r of results.filter((x) => !x.taken)) assert.ok(r.retryAfterMs > 0 && r.retryAfterMs <= budget.cooldownMs);
  });

  test('an instance restart does not reset it; instance clocks do not matter (Redis TIME dates it)', async () => {
    const key = freshKey();
    const budget = { burst: 2, cooldownMs: 3_600_000 };
    const early = new ManualClock(Date.UTC(2020, 0, 1));
    const late = new ManualClock(Date.UTC(2040, 0, 1));
    const a = await fleet({ clock: early, scheduler: early });
    assert.equal((await a.take(key, budget)).taken, true);
    assert.equal((await a.take(key, budget)).taken, true);
    await a.close();
    const b = await fleet({ clock: late, scheduler: late });
    const r = await b.take(key, budget);
    assert.equal(r.taken, false, 'a new instance (20 years "later") finds the bucket spent');
  });

  test('refills at one token per cooldown by the Redis clock, up to the burst', async () => {
    const s = await fleet();
    const key = freshKey();
    const budget = { burst: 3, cooldownMs: 60_000 };
    for (let i = 0; i < 3; i++) assert.equal((await s.take(key, budget)).taken, true);
    const spent = await s.take(key, budget);
    assert.equal(spent.taken, false);
    assert.ok(spent.retryAfterMs > 59_000 && spent.retryAfterMs <= 60_000, `${spent.retryAfterMs}`);
    const bucket = s.redisKeys(key).bucket;
    // move the bucket's last update 2.5 cooldowns into the past (Redis time is not ours to move)
    const at = Number(await raw.hGet(bucket, 'at'));
    await raw.hSet(bucket, 'at', String(at - 150_000));
    const taken = await Promise.all(Array.from({ length: 4 }, () => s.take(key, budget)));
    assert.equal(taken.filter((r) => r.taken).length, 2);
    // far in the past: capped at the burst
    await raw.hSet(bucket, 'at', String(at - 100 * 60_000));
    const again = await Promise.all(Array.from({ length: 5 }, () => s.take(key, budget)));
    assert.equal(again.filter((r) => r.taken).length, 3);
  });

  test('garbage bucket state is reset, a future date does not refill, negative tokens clamp to empty', async () => {
    const s = await fleet();
    const budget = { burst: 2, cooldownMs: 3_600_000 };
    const k1 = freshKey();
    await raw.set(s.redisKeys(k1).bucket, 'not a hash');
    assert.equal((await s.take(k1, budget)).taken, true);
    const k2 = freshKey();
    await raw.hSet(s.redisKeys(k2).bucket, { t: 'nan', at: 'x' });
    assert.equal((await s.take(k2, budget)).taken, true);
    const k3 = freshKey();
    await raw.hSet(s.redisKeys(k3).bucket, { t: '-1000000', at: String(Date.now() + 10 ** 12) });
    assert.equal((await s.take(k3, budget)).taken, false, 'a planted deficit or future date gives no tokens');
    const k4 = freshKey();
    await raw.hSet(s.redisKeys(k4).bucket, { t: '1000000', at: '0' });
    const r = await Promise.all(Array.from({ length: 4 }, () => s.take(k4, budget)));
    assert.equal(r.filter((x) => x.taken).length, 2, 'a planted surplus is capped at the burst');
  });
});
}
