/**
 * threats.md section F (the JWKS endpoint as an attack surface), end to end through the public
 * API against the hostile IdP on real sockets: F1 slow loris, F2 oversize bodies, F3 redirects
 * and https, F4 compression bombs, F5 ordering / single flight / close(), F6 unknown-kid
 * amplification over a real socket, F7 hanging DNS, and Retry-After.
 *
 * Time is a ManualClock shared by the cache (its deadline, backoff and budget) and the hostile
 * server (its scripted delays and drips): "the refresh aborts at the deadline" is shown by the
 * clock reaching `timeoutMs` and the server seeing the connection close, never by measuring
 * real time, so the file gives the same answers on a loaded machine.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { ConfigError, createJwksCache, createVerifier, KeysUnavailableError } from '../../src/index.js';
import type { FetchLike, JwksCache, JwksCacheOptions } from '../../src/index.js';
import { flushMicrotasks, ManualClock } from '../../src/testing/index.js';
import { AUD, ISS, attackerToken, makeKey, mint } from '../helpers/keys.js';
import { codeOf, driveUntil, HANG_GUARD_MS, recordEvents, rejects503, Summary, track } from './harness.js';
import {
  assembleDeflateBomb,
  BOMB_INFLATED_BYTES,
  CountingServer,
  countingFetch,
  DnsFaultFetch,
  getBomb,
  heldFetch,
  HostileIdp,
  loopbackResolver,
  type BombEncoding,
  type Step,
} from './hostile-idp.js';

const summary = new Summary('endpoint.test.ts');
const TIMEOUT = 250;
const MiB = 1024 * 1024;
const idp = new HostileIdp();
const other = new CountingServer();
const open: JwksCache[] = [];
const dnsFaults: DnsFaultFetch[] = [];
const k1 = makeKey('k1');
let token1: string;

before(async () => {
  idp.keys = [k1.jwk];
  await idp.start();
  await other.start();
  other.body = JSON.stringify({ keys: [k1.jwk] });
  token1 = await mint(k1, { expSec: 3600 });
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
  for (const d of dnsFaults.splice(0)) d.release();
  idp.clearTimers();
  idp.scheduler = realScheduler;
  idp.mode = { kind: 'jwks' };
  idp.queue.length = 0;
  idp.routes.clear();
  idp.keys = [k1.jwk];
});
after(async () => {
  await idp.stop();
  await other.stop();
  summary.print();
});

const realScheduler = idp.scheduler;

/**
 * A test clock for one cache (wall time starts now, so tokens minted with the real time are
 * valid on it). Nothing on it moves unless the test advances it: no deadline can fire early
 * because the machine is slow.
 */
function manual(): { clock: ManualClock; scheduler: ManualClock } {
  const clock = new ManualClock(Date.now());
  return { clock, scheduler: clock };
}

/** A cache on the hostile server; the server's scripted timers run on the cache's ManualClock. */
function client(extra: Partial<JwksCacheOptions> = {}) {
  const { clock } = manual();
  idp.clearTimers();
  idp.scheduler = clock;
  const cache = createJwksCache({ jwksUri: idp.url, timeoutMs: TIMEOUT, backoffInitialMs: 50, backoffMaxMs: 200, clock, scheduler: clock, ...extra });
  open.push(cache);
  const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
  return { clock, cache, verifier, ...recordEvents(cache) };
}

/**
 * Load k1, then let `step` answer every later request; returns the failed refresh.
 * With `deadline`, the clock is taken to one millisecond before the deadline (the refresh must
 * still be pending), then to the deadline (it must end there).
 */
async function lkgThen(step: Step, extra: Partial<JwksCacheOptions> = {}, deadline?: number) {
  const c = client(extra);
  await c.cache.ready();
  idp.mode = step;
  idp.keys = [k1.jwk, makeKey('new').jwk]; // a changed document, so no 304 can hide the case
  const arrived = idp.request(idp.hits + 1);
  const refreshing = track(c.cache.refresh());
  const rec = await arrived; // the refresh reached the server
  if (deadline !== undefined) {
    await c.clock.advance(deadline - 1);
    assert.equal(refreshing.settled, false, `the refresh ended before the ${deadline} ms deadline`);
    await c.clock.advance(1);
  }
  const r = await refreshing.promise;
  assert.equal(r.ok, false, 'the hostile answer is a failed refresh');
  // last-known-good keeps verifying
  assert.equal(c.cache.snapshot()?.generation, 1);
  assert.equal((await c.verifier.verify(token1)).key.kid, 'k1');
  summary.hostile(r.ok || c.cache.snapshot()?.generation !== 1);
  return { ...c, r, rec };
}

/** Resolves when the server is done with `rec`; asserts the client hung up first. */
async function clientHungUp(rec: { closed: Promise<void>; clientClosed: boolean }): Promise<void> {
  await rec.closed;
  assert.equal(rec.clientClosed, true, 'the client closed the connection before the server finished');
}

describe('F1: slow loris, one total deadline', () => {
  const cases: [string, Step, number][] = [
    ['headers delayed 5 s', { kind: 'delay', ms: 5_000, then: { kind: 'jwks' } }, 5_000],
    ['body dripped 1 byte / 50 ms (≈ 10 s)', { kind: 'drip', intervalMs: 50 }, 10_000],
    ['endless chunked body', { kind: 'endless', intervalMs: 5 }, Infinity],
  ];
  for (const [label, step, serverMs] of cases) {
    test(`F1: ${label}: the refresh aborts at the ${TIMEOUT} ms deadline, the server sees the connection closed, last-known-good serves`, async () => {
      summary.case();
      // pending at TIMEOUT - 1, JWKS_TIMEOUT at TIMEOUT (lkgThen), on the clock that also paces the server
      assert.ok(serverMs > TIMEOUT);
      const { r, rec, of } = await lkgThen(step, {}, TIMEOUT);
      assert.equal(r.error?.code, 'JWKS_TIMEOUT');
      assert.equal(of('refresh.failed').at(-1)?.code, 'JWKS_TIMEOUT');
      await clientHungUp(rec);
      assert.equal(rec.finished, false, `the server, which needed ${serverMs} ms, never finished`);
    });
  }

  test('F1: cold start against a slow-loris IdP fails at the deadline (KEYS_NOT_LOADED, cause JWKS_TIMEOUT) instead of hanging', async () => {
    summary.case();
    idp.mode = { kind: 'drip', intervalMs: 100 };
    const { cache, verifier, clock } = client();
    const arrived = idp.request(idp.hits + 1);
    const verifying = track(verifier.verify(token1));
    const rec = await arrived;
    await clock.advance(TIMEOUT - 1);
    assert.equal(verifying.settled, false, 'still loading before the deadline');
    await clock.advance(1);
    const err = await rejects503(verifying.promise, 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_TIMEOUT');
    assert.equal(cache.snapshot(), undefined);
    await clientHungUp(rec);
  });

  test('F1: a refresh stuck on a dripping body never blocks verification of known kids', { timeout: HANG_GUARD_MS }, async () => {
    summary.case();
    const { cache, verifier, clock } = client({ timeoutMs: 1_500 });
    await cache.ready();
    idp.mode = { kind: 'drip', intervalMs: 20 };
    idp.keys = [k1.jwk, makeKey('n2').jwk];
    const arrived = idp.request(idp.hits + 1);
    const refreshing = track(cache.refresh());
    const rec = await arrived;
    assert.equal(rec.kind, 'drip');
    assert.ok(rec.bytesWritten > 0, 'the drip started');
    // The clock stands still, so the drip cannot finish and the deadline cannot fire: the
    // refresh is in flight for as long as the test wants. Every verification settles anyway.
    for (let i = 0; i < 50; i++) assert.equal((await verifier.verify(token1)).key.kid, 'k1');
    assert.equal(refreshing.settled, false, 'the 50 verifications finished while the refresh was still in flight');
    await clock.advance(1_500);
    const r = await refreshing.promise;
    assert.equal(r.error?.code, 'JWKS_TIMEOUT');
    await clientHungUp(rec);
  });
});

describe('F2: body cap on decoded bytes, streamed', () => {
  test('F2: a 10 MB chunked body (no Content-Length) aborts early: JWKS_TOO_LARGE, the server could not send it all', async () => {
    summary.case();
    const { r, rec } = await lkgThen({ kind: 'big', bytes: 10 * 1024 * 1024 });
    assert.equal(r.error?.code, 'JWKS_TOO_LARGE');
    await clientHungUp(rec);
    assert.ok(rec.bytesWritten < 10 * 1024 * 1024, `server wrote ${rec.bytesWritten} bytes`);
    console.log(`F2: 10 MB body aborted; the server managed to hand ${(rec.bytesWritten / MiB).toFixed(2)} MiB to its socket`);
    summary.extra['F2 server bytes before abort (MiB)'] = (rec.bytesWritten / MiB).toFixed(2);
  });

  test('F2: a declared Content-Length of 10 MB is refused before reading the body', async () => {
    summary.case();
    const counting = countingFetch();
    const { r, rec } = await lkgThen({ kind: 'big', bytes: 10 * 1024 * 1024, declareLength: true }, { fetch: counting.fetch });
    assert.equal(r.error?.code, 'JWKS_TOO_LARGE');
    assert.deepEqual(counting.reads.at(-1), { status: 200, bytes: 0 }, 'refused on the declared length: not one body byte read');
    assert.ok((counting.reads[0]?.bytes ?? 0) > 0, 'control: the counter sees the body of the first load');
    await clientHungUp(rec);
  });

  test('F2: a 1 MiB response header (header bomb) fails the refresh (JWKS_NETWORK) without reading a body', async () => {
    summary.case();
    const { r } = await lkgThen({ kind: 'body', body: idp.jwksText(), headers: { 'x-pad': 'a'.repeat(1024 * 1024) } });
    assert.equal(r.error?.code, 'JWKS_NETWORK');
  });

  test('F2: the cap is configurable and counts decoded bytes (a set just over a 1 KiB cap fails, under it loads)', async () => {
    summary.case();
    idp.keys = [k1.jwk, makeKey('pad', 'EdDSA').jwk];
    const size = Buffer.byteLength(idp.jwksText());
    const tight = client({ maxResponseBytes: size - 1 });
    const err = await rejects503(tight.cache.ready(), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_TOO_LARGE');
    const exact = client({ maxResponseBytes: size });
    await exact.cache.ready();
    assert.equal(exact.cache.stats().keyCount, 2);
  });
});

describe('F3: redirects refused, https required except loopback', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    test(`F3: a ${status} to another host is refused (JWKS_REDIRECT) and the other host gets 0 hits`, async () => {
      summary.case();
      const before = other.hits;
      const { r } = await lkgThen({ kind: 'redirect', status, location: `${other.origin}/jwks` });
      assert.equal(r.error?.code, 'JWKS_REDIRECT');
      assert.equal(r.error.upstreamStatus, status);
      assert.equal(other.hits, before);
    });
  }

  test('F3: a same-host redirect is refused too; the target path is never requested', async () => {
    summary.case();
    const { r } = await lkgThen({ kind: 'redirect', status: 302, location: '/moved.json' });
    assert.equal(r.error?.code, 'JWKS_REDIRECT');
    assert.equal(idp.hitsOn('/moved.json'), 0);
  });

  test('F3: allowRedirects (opt-in) follows to another loopback host (control: the counter works), stops a loop after 3 hops', async () => {
    summary.case();
    idp.route('/to-other', { kind: 'redirect', location: `${other.origin}/jwks` });
    const before = other.hits;
    const followed = createJwksCache({ jwksUri: `${idp.origin}/to-other`, allowRedirects: true, timeoutMs: TIMEOUT, ...manual() });
    open.push(followed);
    await followed.ready();
    assert.equal(other.hits, before + 1, 'control: a followed redirect is counted');
    idp.route('/loop', { kind: 'redirect', location: '/loop' });
    const loop = createJwksCache({ jwksUri: `${idp.origin}/loop`, allowRedirects: true, timeoutMs: TIMEOUT, ...manual() });
    open.push(loop);
    const err = await rejects503(loop.ready(), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_REDIRECT');
    assert.equal(idp.hitsOn('/loop'), 4, 'the request and 3 followed hops');
    summary.hostile(false);
  });

  test('F3: https→http downgrade: even with allowRedirects, a redirect to plain http on a non-loopback host is refused with 0 hits', async () => {
    summary.case();
    // idp.test and other.test resolve to the loopback servers; https is spoken only in the URL
    const resolver = loopbackResolver({ 'idp.test': idp.origin, 'other.test': other.origin });
    idp.route('/down', { kind: 'redirect', status: 302, location: 'http://other.test/jwks' });
    idp.route('/up', { kind: 'redirect', status: 302, location: 'https://other.test/jwks' });
    const before = other.hits;
    const down = createJwksCache({ jwksUri: 'https://idp.test/down', fetch: resolver, allowRedirects: true, timeoutMs: TIMEOUT, ...manual() });
    const up = createJwksCache({ jwksUri: 'https://idp.test/up', fetch: resolver, allowRedirects: true, timeoutMs: TIMEOUT, ...manual() });
    open.push(down, up);
    const err = await rejects503(down.ready(), 'KEYS_NOT_LOADED');
    const cause = err.cause as KeysUnavailableError;
    assert.equal(cause.code, 'JWKS_REDIRECT');
    assert.ok(cause.cause instanceof ConfigError, 'refused by the URL policy');
    assert.equal(other.hits, before, 'the http target was never contacted');
    await up.ready();
    assert.equal(other.hits, before + 1, 'control: the https target is reachable through the resolver');
    summary.hostile(false);
  });

  test('F3: a user fetch that follows redirects itself is still caught (response.redirected) and nothing loads', async () => {
    summary.case();
    idp.route('/follow-me', { kind: 'redirect', location: `${other.origin}/jwks` });
    const following: FetchLike = (input, init) => fetch(input, { ...init, redirect: 'follow' });
    const cache = createJwksCache({ jwksUri: `${idp.origin}/follow-me`, fetch: following, timeoutMs: TIMEOUT, ...manual() });
    open.push(cache);
    const err = await rejects503(cache.ready(), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_REDIRECT');
    assert.equal(cache.snapshot(), undefined);
    summary.hostile(false);
  });

  test('F3: configuration: http only for loopback; look-alike hosts, other schemes and credentials refused', () => {
    summary.case();
    for (const ok of ['http://127.0.0.1/j', 'http://127.1.2.3:8080/j', 'http://localhost/j', 'http://LOCALHOST./j', 'http://[::1]/j', 'http://[::ffff:127.0.0.1]/j', 'https://idp.example/j']) {
      createJwksCache({ jwksUri: ok });
    }
    for (const bad of [
      'http://idp.example/j',
      'http://127.0.0.1.nip.io/j',
      'http://localhost.evil.example/j',
      'http://0.0.0.0/j',
      'http://10.0.0.1/j',
      'http://169.254.169.254/latest/meta-data',
      'http://[::2]/j',
      'http://[fe80::1]/j',
      'file:///etc/passwd',
      'ftp://idp.example/j',
      'data:application/json,{"keys":[]}',
      'javascript:alert(1)',
      'https://user:pass@idp.example/j',
      'not a url',
    ]) {
      assert.throws(() => createJwksCache({ jwksUri: bad }), ConfigError, bad);
    }
    createJwksCache({ jwksUri: 'http://idp.example/j', allowInsecureHttp: true });
  });
});

describe('F4: compression bombs', () => {
  test('F4: the bomb fixtures are what they claim (1 GiB decoded by construction, small on the wire)', async () => {
    summary.case();
    const seg = zlib.inflateRawSync(assembleDeflateBomb('deflate', 16 * MiB).subarray(2, -4));
    assert.equal(seg.length, 16 * MiB);
    // framing + trailers (CRC-32, ISIZE, Adler-32) verified by zlib on a 32 MiB instance
    assert.equal(zlib.gunzipSync(assembleDeflateBomb('gzip', 32 * MiB)).length, 32 * MiB);
    assert.equal(zlib.inflateSync(assembleDeflateBomb('deflate', 32 * MiB)).length, 32 * MiB);
    const sizes: string[] = [];
    for (const enc of ['gzip', 'br', 'deflate'] as const) {
      const b = await getBomb(enc);
      assert.ok(b.length < 1.1 * MiB, `${enc} bomb is ${b.length} bytes`);
      sizes.push(`${enc} ${(b.length / 1024).toFixed(0)} KiB`);
    }
    // brotli: decode the first 64 MiB of the real bomb and check it keeps producing zeros
    const br = await getBomb('br');
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      const d = zlib.createBrotliDecompress();
      d.on('data', (c: Buffer) => {
        assert.equal(c.indexOf(1), -1);
        seen += c.length;
        if (seen >= 64 * MiB) {
          d.destroy();
          resolve();
        }
      });
      d.on('error', reject);
      d.end(br);
    });
    console.log(`F4 bombs (each ${BOMB_INFLATED_BYTES / 1024 / MiB} GiB decoded): ${sizes.join(', ')}`);
  });

  for (const enc of ['gzip', 'br', 'deflate'] as BombEncoding[]) {
    test(`F4: a ${enc} bomb (1 GiB decoded) aborts at the decoded-byte cap with bounded memory; last-known-good serves`, async () => {
      summary.case();
      await getBomb(enc);
      const m0 = process.memoryUsage();
      let peakAb = m0.arrayBuffers;
      const sampler = setInterval(() => (peakAb = Math.max(peakAb, process.memoryUsage().arrayBuffers)), 2);
      let res;
      try {
        res = await lkgThen({ kind: 'bomb', encoding: enc }, { timeoutMs: 5_000 });
      } finally {
        clearInterval(sampler);
      }
      assert.equal(res.r.error?.code, 'JWKS_TOO_LARGE');
      const ab = (peakAb - m0.arrayBuffers) / MiB;
      assert.ok(ab < 32, `arrayBuffers grew by ${ab.toFixed(1)} MiB`);
      console.log(`F4 ${enc}: JWKS_TOO_LARGE, arrayBuffers +${ab.toFixed(1)} MiB (RSS is measured in resources.test.ts)`);
    });
  }
});

describe('F5: an older response never overwrites a newer one; single flight; close()', () => {
  const setOf = (...kids: string[]) => JSON.stringify({ keys: kids.map((k) => makeKey(k).jwk) });
  const jsonResponse = (body: string) => new Response(body, { headers: { 'content-type': 'application/json' } });
  /**
   * After `release()`: wait until the client read the late body to its end or cancelled it
   * (an in-memory stream: no I/O, only promise turns), or ignored it for ten event-loop turns;
   * then let whatever follows a read (an install) run.
   */
  const lateAnswerHandled = async (h: { consumed: Promise<unknown> }) => {
    const turns = (async () => {
      for (let i = 0; i < 10; i++) await flushMicrotasks();
    })();
    await Promise.race([h.consumed, turns]);
    await flushMicrotasks();
  };

  test('F5: a response that arrives after its deadline (from a fetch deaf to abort) is discarded; the newer set stays', async () => {
    summary.case();
    const A = setOf('a');
    const NEW = setOf('new');
    let n = 0;
    const late = heldFetch(setOf('old'));
    const seq: FetchLike = (input, init) => {
      n++;
      if (n === 1) return Promise.resolve(jsonResponse(A));
      if (n === 2) return late.fetch(input, init);
      return Promise.resolve(jsonResponse(NEW));
    };
    const { clock, scheduler } = manual();
    const cache = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: seq, timeoutMs: TIMEOUT, clock, scheduler });
    open.push(cache);
    const { of } = recordEvents(cache);
    await cache.ready();
    const slow = cache.refresh();
    await late.called;
    await clock.advance(TIMEOUT);
    assert.equal((await slow).error?.code, 'JWKS_TIMEOUT');
    const fresh = await cache.refresh();
    assert.equal(fresh.ok, true);
    assert.equal(cache.snapshot()?.generation, 2);
    late.release(); // the old response arrives now, after the newer set
    await lateAnswerHandled(late);
    assert.deepEqual(
      cache.snapshot()?.keys.map((k) => k.kid),
      ['new'],
    );
    assert.equal(cache.snapshot()?.generation, 2);
    assert.equal(of('keys.changed').length, 2);
    assert.equal(n, 3);
    summary.hostile(cache.snapshot()?.keys[0]?.kid === 'old');
  });

  test('F5: the same over a real socket: a slow answer with an old set after a newer success changes nothing', async () => {
    summary.case();
    const { cache, clock } = client();
    idp.keys = [makeKey('a').jwk];
    await cache.ready();
    const oldBody = setOf('old');
    idp.next({ kind: 'delay', ms: 500, then: { kind: 'body', body: oldBody } });
    idp.keys = [makeKey('new').jwk];
    const arrived = idp.request(idp.hits + 1);
    const slow = cache.refresh();
    const rec = await arrived;
    await clock.advance(TIMEOUT);
    assert.equal((await slow).error?.code, 'JWKS_TIMEOUT');
    assert.equal((await cache.refresh()).ok, true);
    await clientHungUp(rec);
    await clock.advance(500); // the server's old answer is due now
    await flushMicrotasks();
    assert.deepEqual(
      cache.snapshot()?.keys.map((k) => k.kid),
      ['new'],
    );
    summary.hostile(cache.snapshot()?.keys[0]?.kid === 'old');
  });

  test('F5: single flight: 50 refresh() calls and 200 unknown-kid lookups during one slow fetch share that one request', async () => {
    summary.case();
    const { cache, verifier, clock, idle } = client({ timeoutMs: 2_000 });
    await cache.ready();
    const hits = idp.hits;
    idp.next({ kind: 'delay', ms: 150, then: { kind: 'jwks' } });
    idp.keys = [k1.jwk, makeKey('n2').jwk];
    const arrived = idp.request(hits + 1);
    const refreshes = Array.from({ length: 50 }, () => cache.refresh());
    const nowSec = Math.floor(clock.wallNow() / 1000);
    let lookupsSettled = 0;
    const lookups = Array.from({ length: 200 }, (_, i) =>
      verifier.verify(attackerToken(`sf-${i}`, nowSec)).then(
        () => lookupsSettled++,
        () => lookupsSettled++,
      ),
    );
    await arrived;
    await clock.advance(150); // the server answers
    const results = await Promise.all(refreshes);
    assert.equal(idp.hits, hits + 1, 'one request for all 50 refresh() calls');
    for (const r of results) assert.deepEqual(r, results[0]);
    assert.equal(results[0]?.generation, 2);
    // the lookups may wait for the unknown-kid budget: run the clock until every one settled
    await driveUntil(clock, idle, () => lookupsSettled === 200, 1_000, 60, 'the unknown-kid lookups');
    await Promise.all(lookups);
    assert.ok(idp.hits - hits <= 3, `lookups cost ${idp.hits - hits - 1} more requests (budget: burst 2)`);
  });

  test('F5: close() during an in-flight fetch resolves without waiting for it (even if the fetch ignores abort), installs nothing, and closes the socket', { timeout: HANG_GUARD_MS }, async () => {
    summary.case();
    // real socket, slow headers: the server holds its answer until the clock reaches 2 s, and
    // the clock is never advanced, so close() can only resolve without the answer
    const { cache, clock } = client({ timeoutMs: 5_000 });
    await cache.ready();
    idp.mode = { kind: 'delay', ms: 2_000, then: { kind: 'jwks' } };
    idp.keys = [makeKey('late').jwk];
    const arrived = idp.request(idp.hits + 1);
    const pending = cache.refresh();
    const rec = await arrived;
    assert.equal(rec.kind, 'pending', 'the server holds the answer');
    const t0 = clock.monotonicNow();
    await cache.close();
    assert.equal(clock.monotonicNow(), t0, 'close() resolved with the clock standing still: it waited for neither the deadline nor the server');
    assert.equal(rec.finished, false, 'close() resolved while the server still held the answer');
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'CLOSED');
    await clientHungUp(rec);
    assert.equal(cache.snapshot()?.generation, 1);
    await rejects503(cache.refresh(), 'CLOSED');
    // a fetch deaf to abort, never answering until released
    const zombie = heldFetch(setOf('zombie'));
    const m = manual();
    const deaf = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: zombie.fetch, timeoutMs: 5_000, ...m });
    const loading = deaf.ready();
    await zombie.called;
    await deaf.close(); // resolves although the fetch never settles
    await rejects503(loading, 'CLOSED');
    zombie.release();
    await lateAnswerHandled(zombie);
    assert.equal(deaf.snapshot(), undefined, 'the zombie response was not installed after close()');
  });
});

describe('F6: unknown-kid amplification over a real socket', () => {
  test('F6: 2,000 random-kid tokens fired concurrently cost at most burst + 1 upstream requests; none verifies; known kids unaffected', async () => {
    summary.case();
    const { cache, verifier, clock, idle } = client({ timeoutMs: 2_000 });
    await cache.ready();
    const hits = idp.hits;
    const nowSec = Math.floor(clock.wallNow() / 1000);
    const tokens = Array.from({ length: 2_000 }, () => attackerToken(`rnd-${Math.random().toString(36).slice(2)}`, nowSec));
    let settled = 0;
    const t0 = clock.monotonicNow();
    const all = Promise.allSettled(tokens.map((t) => verifier.verify(t).finally(() => settled++)));
    // lookups that wait for the budget settle as test time passes: run the clock until all did
    await driveUntil(clock, idle, () => settled === tokens.length, 1_000, 60, 'the 2,000 lookups');
    const outcomes = await all;
    const upstream = idp.hits - hits;
    const tally: Record<string, number> = {};
    for (const o of outcomes) {
      const code = o.status === 'fulfilled' ? 'ACCEPTED' : codeOf(o.reason);
      tally[code] = (tally[code] ?? 0) + 1;
    }
    console.log(`F6: 2,000 concurrent random kids over a real socket: ${upstream} upstream requests (burst 2), ${(clock.monotonicNow() - t0) / 1000} s of test time, outcomes ${JSON.stringify(tally)}`);
    assert.equal(tally.ACCEPTED, undefined);
    assert.ok(upstream <= 2 + 1, `upstream requests ${upstream}`);
    assert.equal(cache.stats().keyCount, 1);
    const before = idp.hits;
    assert.equal((await verifier.verify(token1)).key.kid, 'k1');
    assert.equal(idp.hits, before, 'a known kid costs no fetch after the flood');
    summary.hostile(false);
    summary.extra['F6 upstream for 2000 random kids'] = upstream;
  });
});

describe('F7: name resolution faults through the fetch seam', () => {
  function dnsClient(extra: Partial<JwksCacheOptions> = {}) {
    const dns = new DnsFaultFetch(loopbackResolver({ 'idp.test': idp.origin }));
    dnsFaults.push(dns);
    const { clock } = manual();
    const cache = createJwksCache({ jwksUri: `https://idp.test${idp.path}`, fetch: dns.fetch, timeoutMs: TIMEOUT, backoffInitialMs: 50, clock, scheduler: clock, ...extra });
    open.push(cache);
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
    return { dns, cache, verifier, clock };
  }

  test('F7: a lookup that hangs forever (deaf to abort) does not stall verification of cached keys; the refresh ends at the deadline', { timeout: HANG_GUARD_MS }, async () => {
    summary.case();
    const { dns, cache, verifier, clock } = dnsClient();
    await cache.ready();
    dns.mode = 'hang';
    const looking = dns.lookup(dns.lookups + 1);
    const refreshing = track(cache.refresh());
    await looking;
    for (let i = 0; i < 50; i++) assert.equal((await verifier.verify(token1)).key.kid, 'k1');
    assert.equal(refreshing.settled, false, 'verified 50 tokens while the lookup hung');
    await clock.advance(TIMEOUT - 1);
    assert.equal(refreshing.settled, false, 'still waiting one millisecond before the deadline');
    await clock.advance(1);
    const r = await refreshing.promise;
    assert.equal(r.error?.code, 'JWKS_TIMEOUT');
    assert.equal(dns.hanging, 1, 'the lookup itself is still hanging: only the deadline ended the refresh');
  });

  test('F7: a cold start with a hanging lookup fails at the deadline for every caller; ENOTFOUND fails fast with JWKS_NETWORK', async () => {
    summary.case();
    const a = dnsClient();
    a.dns.mode = 'hang';
    const looking = a.dns.lookup(1);
    const all = Promise.allSettled(Array.from({ length: 100 }, () => a.verifier.verify(token1)));
    await looking;
    await a.clock.advance(TIMEOUT); // the deadline
    const results = await all;
    for (const x of results) assert.ok(x.status === 'rejected' && codeOf(x.reason) === 'KEYS_NOT_LOADED');
    assert.equal(a.dns.lookups, 1, 'single flight: one lookup for 100 callers');
    const b = dnsClient();
    await b.cache.ready();
    b.dns.mode = 'enotfound';
    const r = await b.cache.refresh();
    assert.equal(r.error?.code, 'JWKS_NETWORK');
    assert.equal((r.error?.cause as { cause?: { code?: unknown } } | undefined)?.cause?.code, 'ENOTFOUND', 'the lookup failure is the cause');
    assert.equal((await b.verifier.verify(token1)).key.kid, 'k1');
  });
});

describe('Retry-After on 429/503 (ManualClock drives the schedule, real socket answers)', () => {
  async function retryCase(step: Step, expectGapMs: number, extra: Partial<JwksCacheOptions> = {}) {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const cache = createJwksCache({ jwksUri: idp.url, clock, scheduler: clock, random: () => 0.5, timeoutMs: 5_000, ...extra });
    open.push(cache);
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
    const { of, next: nextEvent } = recordEvents(cache);
    await cache.ready();
    idp.scheduler = clock;
    idp.mode = step;
    idp.keys = [k1.jwk, makeKey('rotated').jwk];
    const r = await cache.refresh();
    assert.equal(r.ok, false);
    const next = of('refresh.failed').at(-1)!.nextAttemptInMs;
    const hits = idp.hits;
    const started = of('refresh.started').length;
    // an unknown-kid flood inside the window costs nothing upstream and fails fast with a retry hint
    const nowSec = Math.floor(clock.wallNow() / 1000);
    const flood = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => verifier.verify(attackerToken(`ra-${i}`, nowSec))));
    await clock.advance(expectGapMs - 1_000);
    // an attempt announces itself (refresh.started) synchronously, before any socket I/O
    assert.equal(of('refresh.started').length, started, 'no attempt inside the Retry-After window');
    assert.equal(idp.hits, hits, 'no request inside the Retry-After window');
    idp.mode = { kind: 'jwks' };
    const recovered = nextEvent('refresh.succeeded');
    await clock.advance(2_000);
    assert.equal(of('refresh.started').length, started + 1, 'the retry after the window');
    await recovered;
    assert.equal(idp.hits, hits + 1, 'the retry after the window reached the server');
    assert.equal(cache.health().state, 'healthy', 'recovery');
    return { next, flood };
  }

  test('Retry-After: 429 with delta-seconds (30) is honoured by the backoff and by the unknown-kid budget', async () => {
    summary.case();
    const { next, flood } = await retryCase({ kind: 'status', status: 429, retryAfter: '30' }, 30_000);
    assert.equal(next, 30_000);
    for (const f of flood) {
      assert.equal(f.status, 'rejected');
      const e = (f as PromiseRejectedResult).reason as KeysUnavailableError;
      assert.equal(e.code, 'UNKNOWN_KID_WAIT_TIMEOUT');
      assert.ok((e.retryAfterMs ?? 0) >= 29_000, `retryAfterMs ${e.retryAfterMs}`);
    }
  });

  test('Retry-After: 503 with an HTTP-date 45 s ahead is honoured', async () => {
    summary.case();
    const at = new Date(Date.UTC(2026, 0, 1) + 45_000).toUTCString();
    const { next } = await retryCase({ kind: 'status', status: 503, retryAfter: at }, 45_000);
    assert.equal(next, 45_000);
  });

  test('Retry-After: an absurd value (99999999 s) is capped at maxRetryAfterMs (default 10 min)', async () => {
    summary.case();
    const { next } = await retryCase({ kind: 'status', status: 503, retryAfter: '99999999' }, 600_000);
    assert.equal(next, 600_000);
  });

  test('Retry-After: garbage values (-5, 1.5, "soon") fall back to the exponential backoff', async () => {
    summary.case();
    for (const v of ['-5', '1.5', 'soon']) {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const cache = createJwksCache({ jwksUri: idp.url, clock, scheduler: clock, random: () => 0.5, timeoutMs: 5_000 });
      open.push(cache);
      const { of } = recordEvents(cache);
      await cache.ready();
      idp.mode = { kind: 'status', status: 503, retryAfter: v };
      await cache.refresh();
      assert.equal(of('refresh.failed').at(-1)?.nextAttemptInMs, 1_500, `Retry-After: ${v}`);
      idp.mode = { kind: 'jwks' };
    }
  });
});
