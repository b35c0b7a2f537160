/**
 * Fleet mode in the cache, in one process: several caches (each with its own redisFleet and
 * connections, as separate instances would have) on one real redis-server and one fake IdP
 * over HTTP. Shared hits, distributed single flight, broadcast, the hot path, and the faults:
 * paused, killed and restarted, flushed Redis; tampered, replayed, foreign and huge records.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache, createVerifier, type JwksCache, type JwksEvents } from '../../src/index.js';
import { encodeRecord, persistenceKey } from '../../src/store/codec.js';
import type { RedisFleet } from '../../src/redis/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint, type SigningKey } from '../helpers/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SECRET, fleetOn, rawClient, until, type RawClient } from './fixture.js';

let server: RedisServer;
let raw: RawClient;
const cleanup: (() => Promise<void>)[] = [];
let prefixSeq = 0;

before(async () => {
  server = await startRedisServer();
  raw = await rawClient(server);
});

after(async () => {
  server?.resume();
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  raw?.destroy();
  await server?.stop();
});

interface World {
  idp: FakeIdp;
  http: HttpIdp;
  keyPrefix: string;
  instance(extra?: { fleet?: Record<string, unknown>; cache?: Record<string, unknown> }): Promise<{ cache: JwksCache; fleet: RedisFleet & { isReady: () => boolean }; events: Partial<{ [K in keyof JwksEvents]: JwksEvents[K][] }> }>;
}

async function world(...keys: SigningKey[]): Promise<World> {
  const idp = new FakeIdp(...keys);
  const http = await new HttpIdp(idp).start();
  cleanup.push(() => http.stop());
  const keyPrefix = `cf${++prefixSeq}:`;
  return {
    idp,
    http,
    keyPrefix,
    async instance(extra = {}) {
      const fleet = await fleetOn(server, { keyPrefix, ...extra.fleet });
      const cache = createJwksCache({ jwksUri: http.url, allowInsecureHttp: true, fleet, ...extra.cache });
      const events: Partial<{ [K in keyof JwksEvents]: JwksEvents[K][] }> = {};
      const record = <K extends keyof JwksEvents>(name: K) => cache.on(name, (e) => ((events[name] ??= []) as JwksEvents[K][]).push(e));
      record('keys.changed');
      record('fleet.degraded');
      record('fleet.recovered');
      record('fleet.refused');
      record('refresh.started');
      cleanup.push(async () => {
        await cache.close();
        await fleet.close();
      });
      return { cache, fleet, events };
    },
  };
}

describe('shared record and distributed single flight', () => {
  test('a second instance starts from the shared record: no upstream request, keys.changed fires there too', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const a = await w.instance();
    await a.cache.ready();
    assert.equal(w.idp.requests, 1);
    const b = await w.instance();
    await b.cache.ready();
    assert.equal(w.idp.requests, 1, 'answered by the shared record');
    assert.equal(b.cache.stats().fleet?.sharedHits, 1);
    assert.equal(b.events['keys.changed']?.length, 1);
    assert.equal(b.events['refresh.started'], undefined, 'no request was sent');
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: b.cache });
    await verifier.verify(await mint(k1));
  });

  test('5 instances refreshing at once: 1 upstream request; one lock win, the others wait or hit', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const all = await Promise.all(Array.from({ length: 5 }, () => w.instance()));
    await Promise.all(all.map((i) => i.cache.ready()));
    assert.equal(w.idp.requests, 1);
    const before = w.idp.requests;
    const results = await Promise.all(all.map((i) => i.cache.refresh()));
    assert.ok(results.every((r) => r.ok));
    assert.equal(w.idp.requests - before, 1);
    const s = all.map((i) => i.cache.stats().fleet!);
    assert.equal(s.reduce((a, x) => a + x.lockWins, 0), 2, 'one per load of the fleet (first load, refresh)');
    assert.ok(s.reduce((a, x) => a + x.lockWaits + x.sharedHits, 0) >= 8);
  });

  test('rotation broadcast: one instance fetches a new set, every other installs it and verifies the new key', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const w = await world(k1);
    const all = await Promise.all(Array.from({ length: 3 }, () => w.instance()));
    await Promise.all(all.map((i) => i.cache.ready()));
    w.idp.publish(k1, k2);
    const changed = all.slice(1).map((i) => new Promise<void>((resolve) => i.cache.on('keys.changed', (e) => e.added.includes('k2') && resolve())));
    await all[0]!.cache.refresh();
    await Promise.all(changed);
    assert.equal(w.idp.requests, 2);
    for (const i of all.slice(1)) {
      assert.ok(i.cache.stats().fleet!.broadcastsReceived >= 1);
      const v = createVerifier({ issuer: ISS, audience: AUD, keys: i.cache });
      await v.verify(await mint(k2));
    }
  });

  test('the hot path never touches Redis: 500 verifications with cached keys send 0 commands', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const a = await w.instance();
    await a.cache.ready();
    const v = createVerifier({ issuer: ISS, audience: AUD, keys: a.cache });
    const tokens = await Promise.all(Array.from({ length: 500 }, () => mint(k1)));
    const calls = a.fleet.stats().calls;
    for (const t of tokens) await v.verify(t);
    assert.equal(a.fleet.stats().calls, calls);
  });
});

describe('records Redis cannot make us accept', () => {
  const secret = persistenceKey(SECRET);

  async function plant(w: World, a: { fleet: RedisFleet }, version: number, value: string): Promise<void> {
    const names = a.fleet.redisKeys(w.http.url);
    await raw.hSet(names.record, { v: String(version), d: value });
    await raw.publish(names.channel, String(version));
  }

  test('a record signed under another secret (an attacker key inside) is refused as tampered, removed, and the attacker key never verifies', async () => {
    const k1 = makeKey('k1');
    const evil = makeKey('evil');
    const w = await world(k1);
    const a = await w.instance();
    await a.cache.ready();
    const forged = encodeRecord({ jwksUri: w.http.url, fetchedAt: Date.now(), freshForMs: 600_000, version: Date.now() + 10_000_000, validators: {}, keys: [evil.jwk] }, persistenceKey('attacker secret, 32 bytes or more....'));
    await plant(w, a, Date.now() + 10_000_000, forged);
    await until(() => (a.events['fleet.refused']?.length ?? 0) > 0, 'the refusal');
    assert.equal(a.events['fleet.refused']![0]!.reason, 'tampered');
    await until(async () => (await raw.exists(a.fleet.redisKeys(w.http.url).record)) === 0, 'the forged record removed');
    const v = createVerifier({ issuer: ISS, audience: AUD, keys: a.cache, cacheOptions: undefined });
    await assert.rejects(v.verify(await mint(evil)), (e: { httpStatus?: number }) => e.httpStatus === 401 || e.httpStatus === 503);
    assert.ok(!a.cache.snapshot()!.keys.some((k) => k.kid === 'evil'));
  });

  test('a genuine old record replayed under a new version is refused (version-mismatch); one for another URL is foreign', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const a = await w.instance();
    await a.cache.ready();
    const genuine = await a.fleet.get(w.http.url);
    assert.ok(genuine);
    await plant(w, a, genuine.version + 1_000, genuine.value);
    await until(() => a.events['fleet.refused']?.some((e) => e.reason === 'version-mismatch') === true, 'replay refused');
    const other = encodeRecord({ jwksUri: 'https://other.example/jwks', fetchedAt: Date.now(), freshForMs: 600_000, version: genuine.version + 2_000, validators: {}, keys: [k1.jwk] }, secret);
    await plant(w, a, genuine.version + 2_000, other);
    await until(() => a.events['fleet.refused']?.some((e) => e.reason === 'foreign') === true, 'foreign refused');
    assert.equal(a.cache.stats().fleet!.refused, 2);
  });

  test('a huge value is never read: reported, removed, and the instance goes on (local-only for that read)', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const a = await w.instance({ fleet: { maxValueBytes: 64 * 1024 } });
    await a.cache.ready();
    const names = a.fleet.redisKeys(w.http.url);
    await raw.hSet(names.record, { v: String(Date.now() + 10_000_000), d: 'x'.repeat(4 * 1024 * 1024) });
    const r = await a.cache.refresh();
    assert.equal(r.ok, true);
    assert.equal(await raw.exists(names.record), 1, 'replaced by the good record written after the fetch');
    assert.ok(a.fleet.stats().garbage >= 1);
  });
});

describe('Redis faults: degrade, never fail', () => {
  test('paused longer than the call timeout: refreshes go local-only, fleet.degraded and the health reason say so; resumed, fleet.recovered', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const w = await world(k1);
    const fleetClock = new ManualClock();
    const a = await w.instance({ fleet: { clock: fleetClock, scheduler: fleetClock, callTimeoutMs: 200, failureThreshold: 2, openMs: 1_000 } });
    await a.cache.ready();
    const v = createVerifier({ issuer: ISS, audience: AUD, keys: a.cache });
    w.idp.publish(k1, k2);
    server.pause();
    try {
      const refreshing = a.cache.refresh();
      // the fleet's calls time out on the fleet's clock
      for (let i = 0; i < 10 && a.events['fleet.degraded'] === undefined; i++) await fleetClock.advance(200);
      const r = await refreshing;
      assert.equal(r.ok, true, 'fetched upstream, local-only');
      assert.ok(a.events['fleet.degraded']?.length === 1);
      assert.ok(a.cache.health().reasons.includes('fleet-degraded'));
      await v.verify(await mint(k1));
      await v.verify(await mint(k2));
    } finally {
      server.resume();
    }
    const recovered = new Promise<void>((resolve) => a.cache.on('fleet.recovered', () => resolve()));
    await fleetClock.advance(1_000);
    await recovered;
    assert.ok(!a.cache.health().reasons.includes('fleet-degraded'));
    assert.ok(a.cache.stats().fleet!.degradedMs > 0, 'by the cache clock');
    assert.ok(a.fleet.status().degradedMs >= 1_000, 'by the fleet clock (manual)');
  });

  test('killed and restarted empty: instances verify throughout, rejoin, and the next refresh republishes', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const fleetClock = new ManualClock();
    const a = await w.instance({ fleet: { clock: fleetClock, scheduler: fleetClock, callTimeoutMs: 200, failureThreshold: 1, openMs: 1_000 } });
    const b = await w.instance();
    await Promise.all([a.cache.ready(), b.cache.ready()]);
    const va = createVerifier({ issuer: ISS, audience: AUD, keys: a.cache });
    await server.kill();
    const r = a.cache.refresh();
    for (let i = 0; i < 10 && a.events['fleet.degraded'] === undefined; i++) await fleetClock.advance(200);
    assert.equal((await r).ok, true);
    await va.verify(await mint(k1));
    await server.restart();
    await until(() => a.fleet.isReady(), 'reconnected');
    const recovered = new Promise<void>((resolve) => a.cache.on('fleet.recovered', () => resolve()));
    await fleetClock.advance(1_000);
    await recovered;
    const before = w.idp.requests;
    await a.cache.refresh();
    assert.equal(w.idp.requests - before, 1);
    assert.ok(await a.fleet.get(w.http.url), 'republished');
  });

  test('FLUSHALL: the next refresh fetches once and republishes; nothing else changes', async () => {
    const k1 = makeKey('k1');
    const w = await world(k1);
    const all = await Promise.all(Array.from({ length: 3 }, () => w.instance()));
    await Promise.all(all.map((i) => i.cache.ready()));
    await raw.flushAll();
    const before = w.idp.requests;
    await Promise.all(all.map((i) => i.cache.refresh()));
    assert.equal(w.idp.requests - before, 1);
    assert.ok(await all[0]!.fleet.get(w.http.url));
    for (const i of all) assert.equal(i.cache.health().state, 'healthy');
  });
});
