/**
 * threats.md section F (the JWKS endpoint as an attack surface), end to end through the public
 * API against the hostile IdP on real sockets: F1 slow loris, F2 oversize bodies, F3 redirects
 * and https, F4 compression bombs, F5 ordering / single flight / close(), F6 unknown-kid
 * amplification over a real socket, F7 hanging DNS, and Retry-After.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { ConfigError, createJwksCache, createVerifier, KeysUnavailableError } from '../../src/index.js';
import type { FetchLike, JwksCache, JwksCacheOptions } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { AUD, ISS, attackerToken, makeKey, mint } from '../helpers/keys.js';
import { codeOf, recordEvents, rejects503, sleep, Summary, waitFor } from './harness.js';
import {
  assembleDeflateBomb,
  BOMB_INFLATED_BYTES,
  CountingServer,
  DnsFaultFetch,
  getBomb,
  HostileIdp,
  lateFetch,
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

function client(extra: Partial<JwksCacheOptions> = {}) {
  const cache = createJwksCache({ jwksUri: idp.url, timeoutMs: TIMEOUT, backoffInitialMs: 50, backoffMaxMs: 200, ...extra });
  open.push(cache);
  const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache });
  return { cache, verifier, ...recordEvents(cache) };
}

/** Load k1, then let `step` answer every later request; returns the failed refresh. */
async function lkgThen(step: Step, extra: Partial<JwksCacheOptions> = {}) {
  const c = client(extra);
  await c.cache.ready();
  idp.mode = step;
  idp.keys = [k1.jwk, makeKey('new').jwk]; // a changed document, so no 304 can hide the case
  const hits = idp.hits;
  const t0 = performance.now();
  const r = await c.cache.refresh();
  const ms = performance.now() - t0;
  const rec = idp.requests[hits];
  assert.ok(rec, 'the refresh reached the server');
  assert.equal(r.ok, false, 'the hostile answer is a failed refresh');
  // last-known-good keeps verifying
  assert.equal(c.cache.snapshot()?.generation, 1);
  assert.equal((await c.verifier.verify(token1)).key.kid, 'k1');
  summary.hostile(r.ok || c.cache.snapshot()?.generation !== 1);
  return { ...c, r, ms, rec };
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
      const { r, ms, rec, of } = await lkgThen(step);
      assert.equal(r.error?.code, 'JWKS_TIMEOUT');
      assert.equal(of('refresh.failed').at(-1)?.code, 'JWKS_TIMEOUT');
      assert.ok(ms >= TIMEOUT - 5, `aborted after ${ms.toFixed(0)} ms, before the deadline`);
      assert.ok(ms < Math.min(serverMs / 2, 2_500), `aborted after ${ms.toFixed(0)} ms; the server would have taken ${serverMs} ms`);
      await waitFor(() => rec.clientClosed, 2_000, 'the server to see the client hang up');
      assert.equal(rec.finished, false);
    });
  }

  test('F1: cold start against a slow-loris IdP fails at the deadline (KEYS_NOT_LOADED, cause JWKS_TIMEOUT) instead of hanging', async () => {
    summary.case();
    idp.mode = { kind: 'drip', intervalMs: 100 };
    const { cache, verifier } = client();
    const t0 = performance.now();
    const err = await rejects503(verifier.verify(token1), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_TIMEOUT');
    assert.ok(performance.now() - t0 < 2_500);
    assert.equal(cache.snapshot(), undefined);
  });

  test('F1: a refresh stuck on a dripping body never blocks verification of known kids', async () => {
    summary.case();
    const { cache, verifier } = client({ timeoutMs: 1_500 });
    await cache.ready();
    idp.mode = { kind: 'drip', intervalMs: 20 };
    idp.keys = [k1.jwk, makeKey('n2').jwk];
    let settled = false;
    const refreshing = cache.refresh().then((r) => {
      settled = true;
      return r;
    });
    await waitFor(() => idp.requests.at(-1)?.kind === 'drip' && (idp.requests.at(-1)?.bytesWritten ?? 0) > 0, 1_000, 'the drip to start');
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) assert.equal((await verifier.verify(token1)).key.kid, 'k1');
    const ms = performance.now() - t0;
    assert.equal(settled, false, 'the 50 verifications finished while the refresh was still in flight');
    const r = await refreshing;
    assert.equal(r.error?.code, 'JWKS_TIMEOUT');
    console.log(`F1: 50 verifications of a cached kid took ${ms.toFixed(1)} ms while a refresh dripped`);
  });
});

describe('F2: body cap on decoded bytes, streamed', () => {
  test('F2: a 10 MB chunked body (no Content-Length) aborts early: JWKS_TOO_LARGE, the server could not send it all', async () => {
    summary.case();
    const { r, rec } = await lkgThen({ kind: 'big', bytes: 10 * 1024 * 1024 });
    assert.equal(r.error?.code, 'JWKS_TOO_LARGE');
    await waitFor(() => rec.clientClosed, 2_000, 'the server to see the client hang up');
    assert.ok(rec.bytesWritten < 10 * 1024 * 1024, `server wrote ${rec.bytesWritten} bytes`);
    console.log(`F2: 10 MB body aborted; the server managed to hand ${(rec.bytesWritten / MiB).toFixed(2)} MiB to its socket`);
    summary.extra['F2 server bytes before abort (MiB)'] = (rec.bytesWritten / MiB).toFixed(2);
  });

  test('F2: a declared Content-Length of 10 MB is refused before reading the body', async () => {
    summary.case();
    const { r, rec } = await lkgThen({ kind: 'big', bytes: 10 * 1024 * 1024, declareLength: true });
    assert.equal(r.error?.code, 'JWKS_TOO_LARGE');
    assert.match(r.error?.message ?? '', /declares/);
    await waitFor(() => rec.clientClosed, 2_000, 'the server to see the client hang up');
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
    const followed = createJwksCache({ jwksUri: `${idp.origin}/to-other`, allowRedirects: true, timeoutMs: TIMEOUT });
    open.push(followed);
    await followed.ready();
    assert.equal(other.hits, before + 1, 'control: a followed redirect is counted');
    idp.route('/loop', { kind: 'redirect', location: '/loop' });
    const loop = createJwksCache({ jwksUri: `${idp.origin}/loop`, allowRedirects: true, timeoutMs: TIMEOUT });
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
    const down = createJwksCache({ jwksUri: 'https://idp.test/down', fetch: resolver, allowRedirects: true, timeoutMs: TIMEOUT });
    const up = createJwksCache({ jwksUri: 'https://idp.test/up', fetch: resolver, allowRedirects: true, timeoutMs: TIMEOUT });
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
    const cache = createJwksCache({ jwksUri: `${idp.origin}/follow-me`, fetch: following, timeoutMs: TIMEOUT });
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
      console.log(`F4 ${enc}: JWKS_TOO_LARGE after ${res.ms.toFixed(0)} ms, arrayBuffers +${ab.toFixed(1)} MiB (RSS is measured in resources.test.ts)`);
    });
  }
});

describe('F5: an older response never overwrites a newer one; single flight; close()', () => {
  const setOf = (...kids: string[]) => JSON.stringify({ keys: kids.map((k) => makeKey(k).jwk) });
  const jsonResponse = (body: string) => new Response(body, { headers: { 'content-type': 'application/json' } });

  test('F5: a response that arrives after its deadline (from a fetch deaf to abort) is discarded; the newer set stays', async () => {
    summary.case();
    const A = setOf('a');
    const OLD = setOf('old');
    const NEW = setOf('new');
    let n = 0;
    const late = lateFetch(600, () => jsonResponse(OLD));
    const seq: FetchLike = (input, init) => {
      n++;
      if (n === 1) return Promise.resolve(jsonResponse(A));
      if (n === 2) return late(input, init);
      return Promise.resolve(jsonResponse(NEW));
    };
    const cache = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: seq, timeoutMs: TIMEOUT });
    open.push(cache);
    const { of } = recordEvents(cache);
    await cache.ready();
    const slow = await cache.refresh();
    assert.equal(slow.error?.code, 'JWKS_TIMEOUT');
    const fresh = await cache.refresh();
    assert.equal(fresh.ok, true);
    assert.equal(cache.snapshot()?.generation, 2);
    await sleep(600); // the old response has now arrived
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
    const { cache } = client();
    idp.keys = [makeKey('a').jwk];
    await cache.ready();
    const oldBody = setOf('old');
    idp.next({ kind: 'delay', ms: 500, then: { kind: 'body', body: oldBody } });
    idp.keys = [makeKey('new').jwk];
    assert.equal((await cache.refresh()).error?.code, 'JWKS_TIMEOUT');
    assert.equal((await cache.refresh()).ok, true);
    await sleep(550);
    assert.deepEqual(
      cache.snapshot()?.keys.map((k) => k.kid),
      ['new'],
    );
    summary.hostile(cache.snapshot()?.keys[0]?.kid === 'old');
  });

  test('F5: single flight: 50 refresh() calls and 200 unknown-kid lookups during one slow fetch share that one request', async () => {
    summary.case();
    const { cache, verifier } = client({ timeoutMs: 2_000 });
    await cache.ready();
    const hits = idp.hits;
    idp.next({ kind: 'delay', ms: 150, then: { kind: 'jwks' } });
    idp.keys = [k1.jwk, makeKey('n2').jwk];
    const refreshes = Array.from({ length: 50 }, () => cache.refresh());
    const nowSec = Math.floor(Date.now() / 1000);
    const lookups = Array.from({ length: 200 }, (_, i) => verifier.verify(attackerToken(`sf-${i}`, nowSec)).catch((e: unknown) => e));
    const results = await Promise.all(refreshes);
    assert.equal(idp.hits, hits + 1, 'one request for all 50 refresh() calls');
    for (const r of results) assert.deepEqual(r, results[0]);
    assert.equal(results[0]?.generation, 2);
    await Promise.all(lookups);
    assert.ok(idp.hits - hits <= 3, `lookups cost ${idp.hits - hits - 1} more requests (budget: burst 2)`);
  });

  test('F5: close() during an in-flight fetch resolves promptly (even if the fetch ignores abort), installs nothing, and closes the socket', async () => {
    summary.case();
    // real socket, slow headers
    const { cache } = client({ timeoutMs: 5_000 });
    await cache.ready();
    idp.mode = { kind: 'delay', ms: 2_000, then: { kind: 'jwks' } };
    idp.keys = [makeKey('late').jwk];
    const pending = cache.refresh();
    await waitFor(() => idp.requests.at(-1)?.kind === 'pending', 1_000, 'the request to reach the server');
    const rec = idp.requests.at(-1)!;
    const t0 = performance.now();
    await cache.close();
    const closeMs = performance.now() - t0;
    assert.ok(closeMs < 1_000, `close() took ${closeMs.toFixed(0)} ms while the server held the answer for 2 s`);
    const r = await pending;
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'CLOSED');
    await waitFor(() => rec.clientClosed, 1_000, 'the server to see the client hang up');
    assert.equal(cache.snapshot()?.generation, 1);
    await rejects503(cache.refresh(), 'CLOSED');
    // a fetch deaf to abort
    const deaf = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: lateFetch(500, () => jsonResponse(setOf('zombie'))), timeoutMs: 5_000 });
    const loading = deaf.ready();
    await sleep(20);
    const t1 = performance.now();
    await deaf.close();
    assert.ok(performance.now() - t1 < 400, 'close() does not wait for a fetch that ignores its signal');
    await rejects503(loading, 'CLOSED', 'KEYS_NOT_LOADED');
    await sleep(550);
    assert.equal(deaf.snapshot(), undefined, 'the zombie response was not installed after close()');
  });
});

describe('F6: unknown-kid amplification over a real socket', () => {
  test('F6: 2,000 random-kid tokens fired concurrently cost at most burst + 1 upstream requests; none verifies; known kids unaffected', async () => {
    summary.case();
    const { cache, verifier } = client({ timeoutMs: 2_000 });
    await cache.ready();
    const hits = idp.hits;
    const nowSec = Math.floor(Date.now() / 1000);
    const tokens = Array.from({ length: 2_000 }, () => attackerToken(`rnd-${Math.random().toString(36).slice(2)}`, nowSec));
    const t0 = performance.now();
    const outcomes = await Promise.allSettled(tokens.map((t) => verifier.verify(t)));
    const ms = performance.now() - t0;
    const upstream = idp.hits - hits;
    const tally: Record<string, number> = {};
    for (const o of outcomes) {
      const code = o.status === 'fulfilled' ? 'ACCEPTED' : codeOf(o.reason);
      tally[code] = (tally[code] ?? 0) + 1;
    }
    console.log(`F6: 2,000 concurrent random kids over a real socket: ${upstream} upstream requests (burst 2), ${ms.toFixed(0)} ms, outcomes ${JSON.stringify(tally)}`);
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
    const cache = createJwksCache({ jwksUri: `https://idp.test${idp.path}`, fetch: dns.fetch, timeoutMs: TIMEOUT, backoffInitialMs: 50, ...extra });
    open.push(cache);
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache });
    return { dns, cache, verifier };
  }

  test('F7: a lookup that hangs forever (deaf to abort) does not stall verification of cached keys; the refresh ends at the deadline', async () => {
    summary.case();
    const { dns, cache, verifier } = dnsClient();
    await cache.ready();
    dns.mode = 'hang';
    let settled = false;
    const t0 = performance.now();
    const refreshing = cache.refresh().then((r) => ((settled = true), r));
    for (let i = 0; i < 50; i++) assert.equal((await verifier.verify(token1)).key.kid, 'k1');
    assert.equal(settled, false, 'verified 50 tokens while the lookup hung');
    const r = await refreshing;
    const ms = performance.now() - t0;
    assert.equal(r.error?.code, 'JWKS_TIMEOUT');
    assert.ok(ms < 2_000, `refresh ended after ${ms.toFixed(0)} ms`);
    assert.equal(dns.hanging, 1, 'the lookup itself is still hanging: only the deadline ended the refresh');
  });

  test('F7: a cold start with a hanging lookup fails at the deadline for every caller; ENOTFOUND fails fast with JWKS_NETWORK', async () => {
    summary.case();
    const a = dnsClient();
    a.dns.mode = 'hang';
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => a.verifier.verify(token1)));
    for (const x of results) assert.ok(x.status === 'rejected' && codeOf(x.reason) === 'KEYS_NOT_LOADED');
    assert.equal(a.dns.lookups, 1, 'single flight: one lookup for 100 callers');
    const b = dnsClient();
    await b.cache.ready();
    b.dns.mode = 'enotfound';
    const r = await b.cache.refresh();
    assert.equal(r.error?.code, 'JWKS_NETWORK');
    assert.match(r.error?.message ?? '', /ENOTFOUND/);
    assert.equal((await b.verifier.verify(token1)).key.kid, 'k1');
  });
});

describe('Retry-After on 429/503 (ManualClock drives the schedule, real socket answers)', () => {
  async function retryCase(step: Step, expectGapMs: number, extra: Partial<JwksCacheOptions> = {}) {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const cache = createJwksCache({ jwksUri: idp.url, clock, scheduler: clock, random: () => 0.5, timeoutMs: 5_000, ...extra });
    open.push(cache);
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
    const { of } = recordEvents(cache);
    await cache.ready();
    idp.mode = step;
    idp.keys = [k1.jwk, makeKey('rotated').jwk];
    const r = await cache.refresh();
    assert.equal(r.ok, false);
    const next = of('refresh.failed').at(-1)!.nextAttemptInMs;
    const hits = idp.hits;
    // an unknown-kid flood inside the window costs nothing upstream and fails fast with a retry hint
    const nowSec = Math.floor(clock.wallNow() / 1000);
    const flood = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => verifier.verify(attackerToken(`ra-${i}`, nowSec))));
    await clock.advance(expectGapMs - 1_000);
    await sleep(30);
    assert.equal(idp.hits, hits, 'no request inside the Retry-After window');
    idp.mode = { kind: 'jwks' };
    await clock.advance(2_000);
    await waitFor(() => idp.hits === hits + 1, 2_000, 'the retry after the window');
    await waitFor(() => cache.health().state === 'healthy', 2_000, 'recovery');
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
