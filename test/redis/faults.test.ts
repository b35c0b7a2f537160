/**
 * Fault tests of the Redis store against a real redis-server: paused (SIGSTOP) beyond the
 * call timeout, killed and restarted, FLUSHALL, garbage and oversized records, tampered and
 * foreign records (refused by the persistence codec the cache uses). Time for timeouts and
 * the breaker is a ManualClock: every bounded call is shown bounded by advancing it, never by
 * waiting.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRecord, encodeRecord, persistenceKey } from '../../src/store/codec.js';
import type { FleetStatusChange, RedisFleet } from '../../src/redis/index.js';
import { ManualClock, flushMicrotasks } from '../../src/testing/manual-clock.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SECRET, fleetOn, rawClient, until } from './fixture.js';

let server: RedisServer;
const fleets: (RedisFleet & { isReady: () => boolean })[] = [];
let seq = 0;
const freshKey = () => `https://idp${++seq}.example/jwks`;

async function fleet(extra = {}): Promise<RedisFleet & { isReady: () => boolean }> {
  const f = await fleetOn(server, extra);
  fleets.push(f);
  return f;
}

function statusLog(f: RedisFleet): FleetStatusChange[] {
  const log: FleetStatusChange[] = [];
  f.onStatus((c) => log.push(c));
  return log;
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  server?.resume();
  for (const f of fleets) await f.close();
  await server?.stop();
});

describe('Redis paused (SIGSTOP) for longer than the call timeout', () => {
  test('each call ends at callTimeoutMs, 3 failures open the circuit (degraded), later calls are refused at once; resumed, a probe rejoins', async () => {
    const clock = new ManualClock();
    const f = await fleet({ clock, scheduler: clock, callTimeoutMs: 200, failureThreshold: 3, openMs: 5_000 });
    const key = freshKey();
    assert.equal(await f.setIfNewer(key, 1, 'one'), true);
    const log = statusLog(f);
    server.pause();
    try {
      for (let i = 0; i < 3; i++) {
        const p = f.get(key);
        const outcome = p.then(
          () => 'resolved',
          (e: { code?: string }) => e.code,
        );
        await clock.advance(199);
        assert.equal(await Promise.race([outcome, flushMicrotasks().then(() => 'pending')]), 'pending', 'still waiting before the timeout');
        await clock.advance(1);
        assert.equal(await outcome, 'FLEET_TIMEOUT');
      }
      assert.equal(f.status().state, 'degraded');
      assert.equal(f.status().reason, 'FLEET_TIMEOUT');
      assert.deepEqual(log.map((c) => c.state), ['degraded']);
      // open circuit: refused without a round trip (no clock advance needed)
      await assert.rejects(f.get(key), code('FLEET_UNAVAILABLE'));
      await assert.rejects(f.setIfNewer(key, 2, 'two'), code('FLEET_UNAVAILABLE'));
      await assert.rejects(f.take(key, { burst: 1, cooldownMs: 1000 }), code('FLEET_UNAVAILABLE'));
      assert.ok(f.stats().refused >= 3);
      assert.equal(f.stats().timeouts, 3);
    } finally {
      server.resume();
    }
    const recovered = new Promise<void>((resolve) => f.onStatus((c) => c.state === 'recovered' && resolve()));
    await clock.advance(5_000); // the probe is sent
    await recovered;
    assert.equal(f.status().state, 'connected');
    assert.equal(f.status().degradedMs, 5_000, 'degraded from the third timeout to the probe, by the manual clock');
    assert.deepEqual(await f.get(key), { version: 1, value: 'one' });
    assert.deepEqual(log.map((c) => c.state), ['degraded', 'recovered']);
  });

  test('a lease release during the pause never rejects and ends within the call timeout', async () => {
    const clock = new ManualClock();
    const f = await fleet({ clock, scheduler: clock, callTimeoutMs: 200 });
    const key = freshKey();
    const lease = await f.lock(key, 30_000);
    assert.ok(lease);
    server.pause();
    try {
      let settled = false;
      const r = lease.release().then(() => (settled = true));
      await clock.advance(200);
      await r;
      assert.equal(settled, true);
    } finally {
      server.resume();
    }
  });
});

describe('Redis killed mid-run and restarted', () => {
  test('calls fail bounded while it is down, the circuit opens, and after the restart the fleet rejoins, scripts reload, subscribers resubscribe', async () => {
    const clock = new ManualClock();
    const a = await fleet({ clock, scheduler: clock, callTimeoutMs: 200, failureThreshold: 2, openMs: 1_000 });
    const b = await fleet();
    const key = freshKey();
    await a.setIfNewer(key, 5, 'five');
    const got: number[] = [];
    await a.subscribe(key, (v) => got.push(v));
    const log = statusLog(a);
    await server.kill();
    for (let i = 0; i < 2; i++) {
      const p = a.get(key).then(
        () => 'resolved',
        (e: { code?: string }) => String(e.code),
      );
      await clock.advance(200);
      assert.ok(['FLEET_TIMEOUT', 'FLEET_ERROR'].includes(await p));
    }
    assert.equal(a.status().state, 'degraded');
    await server.restart();
    const recovered = new Promise<void>((resolve) => a.onStatus((c) => c.state === 'recovered' && resolve()));
    await until(() => a.isReady(), 'the client reconnected');
    assert.equal(a.status().state, 'degraded', 'still local-only until the probe');
    await clock.advance(1_000); // the probe
    await recovered;
    assert.deepEqual(log.map((c) => c.state), ['degraded', 'recovered']);
    assert.equal(await a.get(key), undefined, 'the restarted server lost the record (no persistence)');
    // a version written after the restart reaches the resubscribed subscriber
    await until(async () => {
      await b.setIfNewer(key, 6 + got.length, 'x').catch(() => false);
      return got.includes(6) || got.some((v) => v >= 6);
    }, 'a broadcast after the restart');
    assert.ok(got.some((v) => v >= 6));
  });
});

describe('FLUSHALL and SCRIPT FLUSH', () => {
  test('after FLUSHALL the record is gone, a write of any version succeeds, locks and buckets start over', async () => {
    const f = await fleet();
    const raw = await rawClient(server);
    try {
      const key = freshKey();
      await f.setIfNewer(key, 100, 'hundred');
      assert.ok(await f.lock(key, 30_000));
      await f.take(key, { burst: 1, cooldownMs: 3_600_000 });
      assert.equal((await f.take(key, { burst: 1, cooldownMs: 3_600_000 })).taken, false);
      await raw.flushAll();
      await raw.scriptFlush();
      assert.equal(await f.get(key), undefined);
      assert.equal(await f.setIfNewer(key, 1, 'one'), true, 'scripts are reloaded (NOSCRIPT → EVAL)');
      assert.ok(await f.lock(key, 30_000));
      assert.equal((await f.take(key, { burst: 1, cooldownMs: 3_600_000 })).taken, true);
      assert.equal(f.status().state, 'connected');
    } finally {
      raw.destroy();
    }
  });
});

describe('garbage in Redis', () => {
  test('a record key of another type, a version that is not one, an empty value: rejected as FLEET_GARBAGE and removed', async () => {
    const f = await fleet({ failureThreshold: 100 });
    const raw = await rawClient(server);
    try {
      const plants: ((k: string) => Promise<unknown>)[] = [
        (k) => raw.set(k, 'a string'),
        (k) => raw.lPush(k, 'a list'),
        (k) => raw.hSet(k, { v: 'abc', d: 'x' }),
        (k) => raw.hSet(k, { v: '-1', d: 'x' }),
        (k) => raw.hSet(k, { v: '1e300', d: 'x' }),
        (k) => raw.hSet(k, { v: '99999999999999999', d: 'x' }),
        (k) => raw.hSet(k, { d: 'no version' }),
        (k) => raw.hSet(k, { v: '3' }),
      ];
      for (const plant of plants) {
        const key = freshKey();
        const rk = f.redisKeys(key).record;
        await plant(rk);
        await assert.rejects(f.get(key), code('FLEET_GARBAGE'));
        assert.equal(await raw.exists(rk), 0, 'removed');
        assert.equal(await f.setIfNewer(key, 1, 'good'), true, 'the next good write is not blocked');
      }
      // a garbage version also never blocks a compare-and-set
      const key = freshKey();
      await raw.hSet(f.redisKeys(key).record, { v: 'inf', d: 'x' });
      assert.equal(await f.setIfNewer(key, 1, 'good'), true);
      assert.ok(f.stats().garbage >= plants.length);
    } finally {
      raw.destroy();
    }
  });

  test('a huge value is never transferred: FLEET_GARBAGE from its size alone, removed; writing one is FLEET_TOO_LARGE', async () => {
    const f = await fleet({ maxValueBytes: 64 * 1024, failureThreshold: 100 });
    const raw = await rawClient(server);
    try {
      const key = freshKey();
      await raw.hSet(f.redisKeys(key).record, { v: '10', d: 'x'.repeat(8 * 1024 * 1024) });
      await assert.rejects(f.get(key), (e: { code?: string; message?: string }) => e.code === 'FLEET_GARBAGE' && /8388608 bytes/.test(e.message ?? ''));
      assert.equal(await raw.exists(f.redisKeys(key).record), 0);
      await assert.rejects(f.setIfNewer(key, 11, 'y'.repeat(64 * 1024 + 1)), code('FLEET_TOO_LARGE'));
      assert.equal(await f.setIfNewer(key, 11, 'y'.repeat(64 * 1024)), true);
    } finally {
      raw.destroy();
    }
  });

  test('garbage answers count toward the breaker: a fleet fed only garbage degrades', async () => {
    const clock = new ManualClock();
    const f = await fleet({ clock, scheduler: clock, failureThreshold: 2 });
    const raw = await rawClient(server);
    try {
      const key = freshKey();
      for (let i = 0; i < 2; i++) {
        await raw.set(f.redisKeys(key).record, 'junk');
        await assert.rejects(f.get(key), code('FLEET_GARBAGE'));
      }
      assert.equal(f.status().state, 'degraded');
      assert.equal(f.status().reason, 'FLEET_GARBAGE');
    } finally {
      raw.destroy();
    }
  });
});

describe('tampered and foreign records (the codec the cache applies to every shared record)', () => {
  const secret = persistenceKey(SECRET);
  const urlA = 'https://idp-a.example/jwks';
  const urlB = 'https://idp-b.example/jwks';
  const nowWall = Date.UTC(2026, 0, 1);
  const record = (jwksUri: string) =>
    encodeRecord({ jwksUri, fetchedAt: nowWall, freshForMs: 60_000, version: nowWall, validators: {}, keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'a'.repeat(43), kid: 'k1' }] }, secret);
  const expect = (jwksUri: string) => ({ jwksUri, nowWall, maxStaleMs: 3_600_000 });

  test('a record modified in Redis is tampered; one copied from another URL is foreign; one under another secret is tampered', async () => {
    const f = await fleet();
    const raw = await rawClient(server);
    try {
      await f.setIfNewer(urlA, 1, record(urlA));
      const good = await f.get(urlA);
      assert.ok(good);
      assert.equal(typeof decodeRecord(good.value, secret, expect(urlA)), 'object', 'the genuine record decodes');
      // an attacker with write access to Redis edits the key set
      const edited = good.value.replace('k1', 'evil');
      await raw.hSet(f.redisKeys(urlA).record, { v: '2', d: edited });
      const t = await f.get(urlA);
      assert.equal(decodeRecord(t!.value, secret, expect(urlA)), 'tampered');
      // ... or copies URL A's genuine record under URL B
      await raw.copy(f.redisKeys(urlA).record, f.redisKeys(urlB).record);
      await raw.hSet(f.redisKeys(urlB).record, { v: '1', d: good.value });
      const foreign = await f.get(urlB);
      assert.equal(decodeRecord(foreign!.value, secret, expect(urlB)), 'foreign');
      // ... or writes a well-formed record under its own secret
      const own = encodeRecord({ jwksUri: urlA, fetchedAt: nowWall, freshForMs: 60_000, version: nowWall, validators: {}, keys: [] }, persistenceKey('x'.repeat(32)));
      await raw.hSet(f.redisKeys(urlA).record, { v: '3', d: own });
      assert.equal(decodeRecord((await f.get(urlA))!.value, secret, expect(urlA)), 'tampered');
      // a refused record can be removed by its version without racing a newer good write
      assert.equal(await f.deleteIfVersion(urlA, 2), false, 'not the version stored now');
      assert.equal(await f.deleteIfVersion(urlA, 3), true);
      assert.equal(await f.get(urlA), undefined);
    } finally {
      raw.destroy();
    }
  });
});
