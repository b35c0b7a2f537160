import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { jwtVerify } from 'jose';
import { ConfigError, createJwksCache, createVerifier, KeysUnavailableError, TokenInvalidError } from '../src/index.js';
import type { JwksEvents } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';
import { FakeIdp, HttpIdp } from './helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from './helpers/keys.js';

const URL_ = 'https://idp.test/jwks.json';

function setup(idp: FakeIdp, extra: Record<string, unknown> = {}) {
  const clock = new ManualClock(Date.now());
  idp.now = () => clock.monotonicNow();
  const keys = createJwksCache({ jwksUri: URL_, fetch: idp.fetch, clock, scheduler: clock, random: () => 0.5, ...extra });
  const verifier = createVerifier({ issuer: ISS, audience: AUD, keys, clock });
  const events: { name: string; e: unknown }[] = [];
  for (const name of ['refresh.started', 'refresh.succeeded', 'refresh.failed', 'keys.changed', 'key.firstUsed', 'keys.staleServed', 'key.dropped'] as const) {
    keys.on(name, (e) => events.push({ name, e }));
  }
  const of = <K extends keyof JwksEvents>(name: K) => events.filter((x) => x.name === name).map((x) => x.e as JwksEvents[K]);
  return { clock, keys, verifier, events, of };
}

describe('cache basics', () => {
  test('nothing is fetched before first use; ready() loads once', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const { keys, clock } = setup(idp);
    await clock.advance(60_000);
    assert.equal(idp.requests, 0);
    await keys.ready();
    assert.equal(idp.requests, 1);
    assert.equal(keys.snapshot()?.generation, 1);
    assert.deepEqual(
      keys.snapshot()?.keys.map((k) => k.kid),
      ['k1'],
    );
    await keys.close();
  });

  test('getKey is a jose-compatible resolver', async () => {
    const k1 = makeKey('k1', 'RS256', { fresh: false });
    const idp = new FakeIdp(k1);
    const { keys, clock } = setup(idp);
    const token = await mint(k1, { nowSec: Math.floor(clock.wallNow() / 1000) });
    const { payload } = await jwtVerify(token, keys.getKey, { issuer: ISS, audience: AUD, currentDate: new Date(clock.wallNow()) });
    assert.equal(payload.sub, 'user-1');
    await keys.close();
  });

  test('verify: success, then keys.changed on rotation, removed key rejected after the next refresh (R7)', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock, of } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    const t1 = await mint(k1, { nowSec: now() });
    assert.equal((await verifier.verify(t1)).payload.sub, 'user-1');
    idp.publish(k2);
    await keys.refresh();
    const changed = of('keys.changed');
    assert.deepEqual(changed.at(-1), { added: ['k2'], removed: ['k1'], replaced: [], generation: 2, previousGeneration: 1, initial: false });
    await assert.rejects(verifier.verify(await mint(k1, { nowSec: now() })), (e: unknown) => e instanceof TokenInvalidError);
    const t2 = await mint(k2, { nowSec: now() });
    assert.equal((await verifier.verify(t2)).key.kid, 'k2');
    await keys.close();
  });

  test('replaced material under the same kid is reported and picked up after a signature failure', async () => {
    const a = makeKey('same');
    const b = makeKey('same');
    const idp = new FakeIdp(a);
    const { keys, verifier, clock, of } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    await verifier.verify(await mint(a, { nowSec: now() }));
    idp.publish(b);
    const before = idp.requests;
    const r = await verifier.verify(await mint(b, { nowSec: now() }));
    assert.equal(r.key.generation, 2);
    assert.equal(idp.requests, before + 1);
    assert.deepEqual(of('keys.changed').at(-1)?.replaced, ['same']);
    // a flood of bad signatures on the (new) known kid costs at most one more refresh for this generation
    const forged = (await mint(a, { nowSec: now() })).replace(/\.[^.]+$/, '.' + 'A'.repeat(86));
    for (let i = 0; i < 20; i++) {
      const p = assert.rejects(verifier.verify(forged), (e: unknown) => e instanceof TokenInvalidError && e.code === 'SIGNATURE_INVALID');
      await clock.advance(11_000);
      await p;
    }
    assert.ok(idp.requests <= before + 2, `requests ${idp.requests - before}`);
    assert.equal(keys.stats().signatureRefreshes, 2);
    await keys.close();
  });

  test('announced key: learned by background refresh, used with zero extra fetches and zero rejections; key.firstUsed fires', async () => {
    const k1 = makeKey('k1');
    const next = makeKey('next');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock, of } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    await verifier.verify(await mint(k1, { nowSec: now() }));
    assert.equal(of('key.firstUsed').length, 1);
    idp.publish(k1, next); // announced ahead of use
    await clock.advance(600_000); // background refresh before freshness ends
    const fetchesBefore = idp.requests;
    assert.ok(keys.snapshot()!.keys.some((k) => k.kid === 'next'), 'next key learned in the background');
    for (let i = 0; i < 50; i++) await verifier.verify(await mint(next, { nowSec: now() }));
    assert.equal(idp.requests, fetchesBefore, 'no extra fetch when the announced key is used');
    const used = of('key.firstUsed');
    assert.equal(used.length, 2);
    assert.equal(used[1]!.kid, 'next');
    assert.equal(used[1]!.verified, true);
    assert.ok(used[1]!.publishedForMs >= 0);
    assert.equal(keys.stats().misses, 0);
    await keys.close();
  });

  test('key.firstUsed fires once per key: a set change does not make unchanged keys "new" again', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock, of } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    await verifier.verify(await mint(k1, { nowSec: now() }));
    idp.publish(k1, k2);
    await keys.refresh();
    assert.equal(keys.snapshot()?.generation, 2);
    await verifier.verify(await mint(k1, { nowSec: now() }));
    await verifier.verify(await mint(k2, { nowSec: now() }));
    assert.deepEqual(
      of('key.firstUsed').map((e) => e.kid),
      ['k1', 'k2'],
    );
    await keys.close();
  });

  test('same material, new JWK alg: a new generation, and the new pin applies at once', async () => {
    const k = makeKey('k', 'RS256', { fresh: false });
    const idp = new FakeIdp(k);
    const { keys, verifier, clock, of } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    await verifier.verify(await mint(k, { nowSec: now() }));
    idp.body = JSON.stringify({ keys: [{ ...k.jwk, alg: 'PS256' }] });
    await keys.refresh();
    assert.equal(keys.snapshot()?.generation, 2);
    assert.deepEqual(of('keys.changed').at(-1)?.replaced, ['k']);
    await assert.rejects(verifier.verify(await mint(k, { nowSec: now() })), (e: unknown) => e instanceof TokenInvalidError && e.code === 'KEY_ALG_MISMATCH');
    await keys.close();
  });

  test('R8/R12: 1,000 concurrent lookups of a newly published kid share exactly one fetch', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    await keys.ready();
    idp.publish(k1, k2);
    const t = await mint(k2, { nowSec: now() });
    const before = idp.requests;
    const results = await Promise.all(Array.from({ length: 1000 }, () => verifier.verify(t)));
    assert.equal(results.length, 1000);
    assert.equal(idp.requests - before, 1);
    await keys.close();
  });

  test('R12 cold start: 1,000 concurrent first requests share one fetch; all fail together at the deadline', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    idp.mode = 'hang';
    const { keys, verifier, clock } = setup(idp, { timeoutMs: 5000 });
    const t = await mint(k1, { nowSec: Math.floor(clock.wallNow() / 1000) });
    let settled = 0;
    const ps = Array.from({ length: 1000 }, () =>
      verifier.verify(t).then(
        () => assert.fail('must not verify'),
        (e: unknown) => {
          settled++;
          return e;
        },
      ),
    );
    await clock.advance(4_999);
    assert.equal(settled, 0, 'nothing settles before the deadline');
    await clock.advance(2);
    const errs = await Promise.all(ps);
    assert.equal(settled, 1000);
    assert.equal(idp.requests, 1);
    for (const e of errs) assert.ok(e instanceof KeysUnavailableError && e.code === 'KEYS_NOT_LOADED', String(e));
    // and then the IdP comes back: one more attempt after backoff, everyone verifies
    idp.mode = 'ok';
    await clock.advance(5_000);
    assert.equal((await verifier.verify(t)).key.kid, 'k1');
    await keys.close();
  });

  test('close() stops timers, aborts the in-flight fetch, and is idempotent', async () => {
    const idp = new FakeIdp(makeKey('k1'));
    idp.mode = 'hang';
    const { keys, clock } = setup(idp);
    const p = keys.ready();
    await clock.advance(10);
    await keys.close();
    await keys.close();
    // close() marks the cache closed before the aborted load settles: ready() reports CLOSED
    await assert.rejects(p, (e: unknown) => e instanceof KeysUnavailableError && e.code === 'CLOSED');
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(keys.refresh(), (e: unknown) => e instanceof KeysUnavailableError && e.code === 'CLOSED');
  });

  test('a throwing listener never breaks verification', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock } = setup(idp);
    keys.on('keys.changed', () => {
      throw new Error('listener bug');
    });
    keys.on('key.firstUsed', async () => {
      throw new Error('async listener bug');
    });
    const r = await verifier.verify(await mint(k1, { nowSec: Math.floor(clock.wallNow() / 1000) }));
    assert.equal(r.key.kid, 'k1');
    await keys.close();
  });
});

describe('outage tolerance (R1), garbage (R6), clock jumps (R10)', () => {
  for (const [label, ms] of [
    ['10 min', 10 * 60_000],
    ['1 h', 3_600_000],
    ['6 h', 6 * 3_600_000],
    ['24 h', 24 * 3_600_000],
  ] as const) {
    for (const mode of ['503', 'refuse', 'hang'] as const) {
      test(`R1: IdP ${mode} for ${label}: cached keys keep verifying, attempts back off`, async () => {
        const k1 = makeKey('k1', 'ES256', { fresh: false });
        const idp = new FakeIdp(k1);
        const { keys, verifier, clock, of } = setup(idp);
        const now = () => Math.floor(clock.wallNow() / 1000);
        await keys.ready();
        idp.mode = mode;
        const start = idp.requests;
        const step = ms / 48;
        for (let t = 0; t < ms; t += step) {
          await clock.advance(step);
          const r = await verifier.verify(await mint(k1, { nowSec: now() }));
          assert.equal(r.key.kid, 'k1');
        }
        const attempts = idp.requests - start;
        // backoff 2 s doubling to 5 min: ≈ 12 per hour at steady state plus the ramp
        const bound = 12 + Math.ceil(ms / 300_000) * 1.5;
        assert.ok(attempts <= bound, `attempts ${attempts} > ${bound}`);
        assert.ok(attempts >= 1);
        console.log(`R1 ${mode} ${label}: ${attempts} upstream attempts`);
        const h = keys.health();
        assert.equal(h.state, 'degraded');
        assert.ok(h.reasons.includes('refresh-failing'));
        assert.ok(of('refresh.failed').at(-1)!.consecutiveFailures >= 1);
        await keys.close();
      });
    }
  }

  test('R1: beyond maxStaleMs a distinct KEYS_STALE error; recovery when the IdP returns', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock, of } = setup(idp);
    const now = () => Math.floor(clock.wallNow() / 1000);
    await keys.ready();
    idp.mode = '503';
    await clock.advance(2 * 3_600_000);
    assert.equal((await verifier.verify(await mint(k1, { nowSec: now() }))).key.kid, 'k1');
    assert.equal(keys.snapshot()?.status, 'stale');
    assert.ok(keys.stats().staleServes >= 1);
    await clock.advance(23 * 3_600_000 + 600_000);
    await assert.rejects(verifier.verify(await mint(k1, { nowSec: now() })), (e: unknown) => e instanceof KeysUnavailableError && e.code === 'KEYS_STALE');
    assert.equal(keys.health().state, 'failing');
    assert.ok(of('keys.staleServed').length >= 1);
    idp.mode = 'ok';
    await clock.advance(300_000);
    assert.equal((await verifier.verify(await mint(k1, { nowSec: now() }))).key.kid, 'k1');
    assert.equal(keys.health().state, 'healthy');
    await keys.close();
  });

  const garbage: [string, Partial<FakeIdp>][] = [
    ['{"keys":[]}', { body: '{"keys":[]}' }],
    ['{}', { body: '{}' }],
    ['HTML', { body: '<html>maintenance</html>', contentType: 'text/html' }],
    ['truncated JSON', { body: '{"keys":[{"kty":"RSA"' }],
    ['all-invalid keys', { body: JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }, { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] }) }],
    ['only oct', { body: JSON.stringify({ keys: [{ kty: 'oct', kid: 'h' }] }) }],
    ['private keys', { body: 'PRIVATE' }],
    ['wrong content type', { contentType: 'text/plain' }],
    ['null', { body: 'null' }],
    ['array', { body: '[]' }],
  ];
  for (const [label, patch] of garbage) {
    test(`R6: ${label} is a failed refresh and the last good set keeps serving`, async () => {
      const k1 = makeKey('k1');
      const idp = new FakeIdp(k1);
      const { keys, verifier, clock, of } = setup(idp);
      const now = () => Math.floor(clock.wallNow() / 1000);
      await keys.ready();
      if (patch.body === 'PRIVATE') {
        const priv = makeKey('leak');
        patch.body = JSON.stringify({ keys: [{ ...priv.privateKey.export({ format: 'jwk' }), kid: 'leak' }] });
      }
      idp.add(makeKey('extra')); // a changed document, so no 304 can hide the case
      Object.assign(idp, patch);
      const r = await keys.refresh();
      assert.equal(r.ok, false);
      assert.equal(keys.stats().failures, 1);
      assert.equal(of('refresh.failed').length, 1);
      assert.equal(keys.snapshot()?.generation, 1);
      assert.equal((await verifier.verify(await mint(k1, { nowSec: now() }))).key.kid, 'k1');
      await keys.close();
    });
  }

  test('R10: wall clock jumps neither expire nor extend the cache; claims use the wall clock', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const { keys, verifier, clock } = setup(idp);
    await keys.ready();
    const fetches = idp.requests;
    const tokenNow = await mint(k1, { nowSec: Math.floor(clock.wallNow() / 1000), expSec: 3600 });
    clock.jumpWall(25 * 3_600_000);
    // cache age is monotonic: still fresh, no refetch
    assert.equal(keys.snapshot()?.status, 'fresh');
    assert.equal(idp.requests, fetches);
    // but exp is judged on the wall clock
    await assert.rejects(verifier.verify(tokenNow), (e: unknown) => e instanceof TokenInvalidError && e.code === 'TOKEN_EXPIRED');
    clock.jumpWall(-26 * 3_600_000);
    assert.equal(keys.snapshot()?.status, 'fresh');
    await assert.rejects(verifier.verify(tokenNow), (e: unknown) => e instanceof TokenInvalidError && e.code === 'CLAIM_INVALID');
    await keys.close();
  });
});

describe('over real HTTP', () => {
  const servers: HttpIdp[] = [];
  after(async () => {
    for (const s of servers) await s.stop();
  });

  test('304 path renews freshness without a new generation; Cache-Control sets the schedule', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    idp.cacheControl = 'max-age=120';
    const http = await new HttpIdp(idp).start();
    servers.push(http);
    const clock = new ManualClock(); // a real socket, but the deadline cannot fire on a slow machine
    const keys = createJwksCache({ jwksUri: http.url, clock, scheduler: clock });
    const events: JwksEvents['refresh.succeeded'][] = [];
    keys.on('refresh.succeeded', (e) => events.push(e));
    await keys.ready();
    assert.equal(events[0]!.freshForMs, 120_000);
    const r = await keys.refresh();
    assert.equal(r.ok, true);
    assert.equal(r.changed, false);
    assert.equal(idp.conditionalRequests, 1);
    assert.equal(idp.notModified, 1);
    assert.equal(keys.stats().notModified, 1);
    assert.equal(events[1]!.notModified304, true);
    assert.equal(keys.snapshot()?.generation, 1);
    idp.cacheControl = 'no-cache';
    idp.add(makeKey('k2'));
    await keys.refresh();
    assert.equal(events[2]!.freshForMs, 60_000, 'no-cache clamped to minRefreshIntervalMs');
    idp.cacheControl = 'max-age=25200';
    idp.add(makeKey('k3'));
    await keys.refresh();
    assert.equal(events[3]!.freshForMs, 3_600_000, '7 h clamped to maxRefreshIntervalMs');
    await keys.close();
  });

  test('Retry-After on 503 is honoured by the backoff', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const http = await new HttpIdp(idp).start();
    servers.push(http);
    const clock = new ManualClock(); // a real socket, but the deadline cannot fire on a slow machine
    const keys = createJwksCache({ jwksUri: http.url, clock, scheduler: clock });
    const failed: JwksEvents['refresh.failed'][] = [];
    keys.on('refresh.failed', (e) => failed.push(e));
    await keys.ready();
    idp.mode = '503';
    idp.retryAfter = '120';
    await keys.refresh();
    assert.equal(failed[0]!.status, 503);
    assert.ok(failed[0]!.nextAttemptInMs >= 120_000, `next attempt in ${failed[0]!.nextAttemptInMs}`);
    await keys.close();
  });

  test('https is required except for loopback', () => {
    assert.throws(() => createJwksCache({ jwksUri: 'http://idp.example.com/jwks' }), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID');
    createJwksCache({ jwksUri: 'http://127.0.0.1:1/jwks' });
    createJwksCache({ jwksUri: 'http://idp.example.com/jwks', allowInsecureHttp: true });
  });
});
