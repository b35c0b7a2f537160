/**
 * threats.md sections A, B, D, E (token side), end to end: every case of the hostile-token
 * generator (test/helpers/hostile-tokens.ts) through `createVerifier` against a real HTTP IdP
 * on 127.0.0.1 publishing an RSA (RS256), an EC (ES256) and an Ed25519 key, with the claim
 * clock injected (ManualClock). Each forged or malformed token must be refused with a
 * `TokenInvalidError` (401) carrying the expected code; nothing else may be thrown.
 *
 * `jku`/`x5u` headers point at a separate loopback listener that counts its requests: it must
 * see none. A second IdP (issuer B) provides the cross-issuer key (E5). An Entra-like IdP
 * checks templated issuers (E4).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { ConfigError, createJwksCache, createVerifier, JwksKeeperError, KeysUnavailableError, TokenInvalidError } from '../../src/index.js';
import type { JwksCache, Verifier, VerifierOptions } from '../../src/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, type SigningKey } from '../helpers/keys.js';
import { attackerJwks, hostileTokens, signTexts, withSig, highS, type HostileCase } from '../helpers/hostile-tokens.js';
import { codeOf, driveUntil, recordEvents, rejects401, Summary } from './harness.js';

const summary = new Summary('tokens.test.ts');

const ISS_B = 'https://idp-b.test/';
const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
const NOW = Math.floor(clock.wallNow() / 1000);

const rsa = makeKey('a-rsa', 'RS256', { fresh: false });
const ec = makeKey('a-ec', 'ES256');
const ed = makeKey('a-ed', 'EdDSA');
const foreign = makeKey('b-ec', 'ES256');

const idpA = new FakeIdp(rsa, ec, ed);
const idpB = new FakeIdp(foreign);
let httpA: HttpIdp;
let httpB: HttpIdp;
let trap: Server;
let trapUrl = '';
const trapHits: string[] = [];
let cacheA: JwksCache;
let cacheB: JwksCache;
let verifierA: Verifier;
let verifierB: Verifier;
let cases: HostileCase[] = [];
const open: JwksCache[] = [];

const tally = { run: 0, forgedAccepted: 0, accepts: 0, rejects: 0 };
/** Every rejection seen, for the sanitisation check. */
const rejections: { id: string; err: unknown }[] = [];

/** A cache on IdP A with enough unknown-kid budget that every unknown kid gets a definitive answer. */
function generousCache(url: string): JwksCache {
  // its own test clock, never advanced: over the real socket, the 3 s deadline cannot fire because the machine is slow
  const cacheClock = new ManualClock(clock.wallNow());
  const c = createJwksCache({ jwksUri: url, timeoutMs: 3000, unknownKid: { burst: 100, cooldownMs: 600_000, maxWaitMs: 0 }, clock: cacheClock, scheduler: cacheClock });
  open.push(c);
  return c;
}

before(async () => {
  httpA = await new HttpIdp(idpA).start();
  httpB = await new HttpIdp(idpB).start();
  trap = createServer((req, res) => {
    trapHits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(attackerJwks()));
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  cacheA = generousCache(httpA.url);
  cacheB = generousCache(httpB.url);
  verifierA = createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock });
  verifierB = createVerifier({ issuer: ISS_B, audience: AUD, keys: cacheB, clock });
  await cacheA.ready();
  await cacheB.ready();
  cases = hostileTokens({ rsa, ec, ed, foreign }, NOW, { iss: ISS, aud: AUD, foreignIss: ISS_B, loopbackUrl: trapUrl });
});

after(async () => {
  for (const c of open) await c.close();
  await httpA.stop();
  await httpB.stop();
  trap.closeAllConnections();
  await new Promise<void>((r) => trap.close(() => r()));
  console.log(
    `tokens: ${tally.run} hostile cases run (${tally.rejects} must-reject, ${tally.accepts} boundary/consistency accepts), ${tally.forgedAccepted} forged accepted, ${trapHits.length} jku/x5u hits`,
  );
  // for the test runner's adversarial summary (scripts/test.mjs)
  summary.cases = tally.run;
  summary.extra.forgedTokens = tally.rejects;
  summary.extra.forgedAccepted = tally.forgedAccepted;
  summary.extra.tokenUrlHits = trapHits.length;
  summary.print();
});

type Outcome = { ok: true; payload: Record<string, unknown> } | { ok: false; err: unknown };
async function outcome(v: Verifier, token: string): Promise<Outcome> {
  try {
    return { ok: true, payload: (await v.verify(token)).payload };
  } catch (err) {
    return { ok: false, err };
  }
}

/**
 * Run one case and return a problem description, or undefined when the verifier did what the
 * case expects (a 401 with one of the codes, or an acceptance).
 */
async function runCase(v: Verifier, c: HostileCase): Promise<string | undefined> {
  tally.run++;
  const o = await outcome(v, c.token);
  if (c.expect === 'accept') {
    tally.accepts++;
    return o.ok ? undefined : `${c.id}: expected acceptance, got ${codeOf(o.err)}: ${(o.err as Error).message}`;
  }
  tally.rejects++;
  if (o.ok) {
    tally.forgedAccepted++;
    return `${c.id}: FORGED TOKEN ACCEPTED`;
  }
  rejections.push({ id: c.id, err: o.err });
  if (!(o.err instanceof TokenInvalidError)) return `${c.id}: expected TokenInvalidError, got ${codeOf(o.err)}`;
  if (o.err.httpStatus !== 401) return `${c.id}: httpStatus ${o.err.httpStatus}`;
  if (c.codes && c.codes.length !== 1) return `${c.id}: the catalogue must name exactly one code, names ${c.codes.join('|')}`;
  if (c.codes && c.codes[0] !== o.err.code) return `${c.id}: expected ${c.codes[0]}, got ${o.err.code}`;
  return undefined;
}

async function runThreat(threat: string | RegExp, v: Verifier = verifierA): Promise<HostileCase[]> {
  const mine = cases.filter((c) => (typeof threat === 'string' ? c.threat === threat : threat.test(c.threat)));
  assert.ok(mine.length > 0, `no cases for ${String(threat)}`);
  const problems: string[] = [];
  for (const c of mine) {
    const p = await runCase(v, c);
    if (p) problems.push(p);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
  return mine;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

describe('A: algorithms and signatures', () => {
  test('baseline: genuine RS256, ES256 and EdDSA tokens of the published keys verify', async () => {
    await runThreat('baseline');
  });

  test('A1: alg none in every casing (none, None, NONE, nOnE), empty or non-empty signature, and missing/odd alg values → 401', async () => {
    const mine = await runThreat('A1');
    assert.ok(mine.length >= 30);
  });

  test('A2: HS256/384/512 signed with each published key as SPKI DER/PEM, PKCS#1 DER/PEM, JWK JSON, raw → ALG_NOT_ALLOWED (RSA, EC, Ed25519)', async () => {
    const mine = await runThreat('A2');
    for (const form of ['spki-der', 'spki-pem', 'pkcs1-der', 'pkcs1-pem', 'jwk-json-published', 'jwk-json-canonical']) {
      assert.ok(mine.some((c) => c.id.includes(form)), form);
    }
    for (const alg of ['HS256', 'HS384', 'HS512']) for (const kty of ['RS256', 'ES256', 'EdDSA']) assert.ok(mine.some((c) => c.id.startsWith(`A2-${alg}-${kty}-`)), `${alg} ${kty}`);
    // jose's own resolver interface refuses HS* as well
    const hs = mine.find((c) => c.id === 'A2-HS256-RS256-spki-pem')!;
    await assert.rejects(jwtVerify(hs.token, cacheA.getKey, { issuer: ISS, audience: AUD }), (e: unknown) => (e as { code?: string }).code === 'ALG_NOT_ALLOWED');
    // and no configuration can allow HS*
    assert.throws(() => createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, algorithms: ['HS256'] as unknown as VerifierOptions['algorithms'] }), ConfigError);
    assert.throws(() => createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, algorithms: ['none'] as unknown as VerifierOptions['algorithms'] }), ConfigError);
  });

  test('A3: the JWK alg pins the key: PS256/RS384/RS512 on the RS256 key, ES*/EdDSA/RS* headers on the wrong kid → KEY_ALG_MISMATCH', async () => {
    await runThreat('A3');
    // a verifier whose allow-list lacks the alg refuses before any lookup
    const strict = createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock, algorithms: ['ES256'] });
    await rejects401(strict.verify(signTexts(rsa, { alg: 'RS256', kid: rsa.kid }, { iss: ISS, aud: AUD, exp: NOW + 60 })), 'ALG_NOT_ALLOWED');
  });

  test('A4: ECDSA r=0/s=0, out-of-range, DER-encoded, wrong lengths; Ed25519 S+L; RSA zero/short/long signatures → SIGNATURE_INVALID; high-s recorded as valid', async () => {
    await runThreat('A4');
  });

  test('A5: two encodings of one token both verify, and a malleated invalid variant in between poisons nothing (nothing is keyed on the token string)', async () => {
    await runThreat('A5');
    const t = signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, exp: NOW + 600, jti: 'a5-seq' });
    const sig = Buffer.from(t.slice(t.lastIndexOf('.') + 1), 'base64url');
    const hi = withSig(t, highS(sig));
    const bad = withSig(t, Buffer.concat([sig.subarray(0, 32), Buffer.alloc(32)]));
    assert.notEqual(hi, t);
    for (const [token, ok] of [
      [t, true],
      [bad, false],
      [hi, true],
      [bad, false],
      [t, true],
      [hi, true],
    ] as const) {
      const o = await outcome(verifierA, token);
      assert.equal(o.ok, ok);
      if (o.ok) assert.equal(o.payload.jti, 'a5-seq');
      else assert.equal(codeOf(o.err), 'SIGNATURE_INVALID');
    }
  });

  test('A8: two/four/five segments, JWE, JSON serialisation (flattened, general), whitespace, padding, non-JSON parts → TOKEN_MALFORMED', async () => {
    await runThreat('A8');
    // non-string tokens
    for (const t of [undefined, null, 42, {}, ['a.b.c'], Buffer.from('a.b.c')]) {
      await rejects401(verifierA.verify(t as unknown as string), 'TOKEN_MALFORMED');
    }
  });
});

describe('B: where keys come from', () => {
  test('B1: an embedded `jwk` header (the attacker’s key, token signed by it) is never used', async () => {
    await runThreat('B1');
  });

  test('B2: `jku` and `x5u` pointing at a loopback listener: every token refused and the listener gets 0 hits', async () => {
    const mine = await runThreat('B2');
    // concurrently, repeatedly
    await Promise.all(Array.from({ length: 20 }, () => Promise.all(mine.map((c) => verifierA.verify(c.token).catch(() => undefined)))));
    assert.deepEqual(trapHits, [], 'the jku/x5u listener was contacted');
  });

  test('B4: a token whose iss is the loopback listener never makes the verifier fetch from it (no discovery from iss)', async () => {
    await runThreat('B4');
    assert.deepEqual(trapHits, [], 'the listener named by iss was contacted');
  });

  test('B3: `x5c` (garbage or not an array) and `x5t` headers are never used', async () => {
    await runThreat('B3');
  });

  test('B5: hostile kid strings are ordinary unknown kids (KID_NOT_FOUND), non-strings/empty/oversize are KID_INVALID; no pollution', async () => {
    const before = idpA.requests;
    const mine = await runThreat('B5');
    const unknownKids = new Set(mine.filter((c) => c.codes?.includes('KID_NOT_FOUND')).map((c) => c.id));
    assert.ok(idpA.requests - before <= unknownKids.size, `at most one fetch per distinct unknown kid (${idpA.requests - before} for ${unknownKids.size})`);
    // a second pass is answered from the negative cache: no fetch at all
    const mid = idpA.requests;
    for (const c of mine) await runCase(verifierA, c);
    assert.equal(idpA.requests, mid, 'repeated hostile kids cost no fetch');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('B5: with the default unknown-kid budget, a hostile-kid flood costs at most burst (2) fetches; the answers are 401, or 503 UNKNOWN_KID_WAIT_TIMEOUT once the budget is spent; events and messages are sanitised', async () => {
    const idp = new FakeIdp(rsa, ec, ed);
    const http = await new HttpIdp(idp).start();
    try {
      // the budget and the waits run on the cache's own test clock: whether a lookup gets a
      // refresh (401) or times out waiting (503) is decided by the sequence, not by machine speed
      const budgetClock = new ManualClock(clock.wallNow());
      const cache = createJwksCache({ jwksUri: http.url, timeoutMs: 3000, unknownKid: { maxWaitMs: 100 }, clock: budgetClock, scheduler: budgetClock });
      open.push(cache);
      const { idle } = recordEvents(cache, []);
      const events: { kid: string; decision: string }[] = [];
      cache.on('unknownKid', (e) => events.push(e));
      const v = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
      await cache.ready();
      /** Verify, running the cache clock (50 ms steps, each refresh over the socket awaited) until it settles. */
      const drivenOutcome = async (token: string): Promise<Outcome> => {
        let settled = false;
        const o = outcome(v, token).finally(() => (settled = true));
        await driveUntil(budgetClock, idle, () => settled, 50, 10, 'the lookup');
        return o;
      };
      const afterLoad = idp.requests;
      const mine = cases.filter((c) => c.threat === 'B5');
      const codes = new Map<string, number>();
      for (let round = 0; round < 3; round++) {
        for (const c of mine) {
          tally.run++;
          tally.rejects++;
          const o = await drivenOutcome(c.token);
          if (o.ok) {
            tally.forgedAccepted++;
            assert.fail(`${c.id} accepted`);
          }
          assert.ok(o.err instanceof JwksKeeperError, `${c.id}: ${codeOf(o.err)}`);
          if (o.err instanceof KeysUnavailableError) assert.equal(o.err.code, 'UNKNOWN_KID_WAIT_TIMEOUT', c.id);
          else {
            assert.equal(c.codes?.length, 1, `${c.id}: one expected code`);
            assert.equal(o.err.code, c.codes?.[0], c.id);
          }
          assert.ok(!CONTROL.test(o.err.message), `${c.id}: raw control character in the message ${JSON.stringify(o.err.message)}`);
          codes.set(o.err.code, (codes.get(o.err.code) ?? 0) + 1);
        }
      }
      assert.ok(idp.requests - afterLoad <= 2, `fetches beyond the budget: ${idp.requests - afterLoad}`);
      assert.ok(events.length > 0);
      for (const e of events) assert.ok(/^[\x20-\x7e…()0-9]*$/.test(e.kid), `unsanitised kid in an event: ${JSON.stringify(e.kid)}`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      console.log(`tokens B5 flood: ${mine.length * 3} hostile-kid verifications, ${idp.requests - afterLoad} fetches after load, outcomes ${JSON.stringify(Object.fromEntries(codes))}`);
    } finally {
      await http.stop();
    }
  });
});

describe('C: tokens signed by dropped keys', () => {
  test('C1–C4 token side: keys dropped at ingest (oct, use enc, key_ops without verify, alg mismatch, x5c garbage) and keys removed by a refresh never verify', async () => {
    const enc = makeKey('c-enc');
    const ops = makeKey('c-ops');
    const mismatch = makeKey('c-mismatch', 'RS256', { fresh: false });
    const x5c = makeKey('c-x5c');
    const leaving = makeKey('c-leaving');
    const idp = new FakeIdp();
    idp.keys = [
      ec.jwk,
      leaving.jwk,
      { ...enc.jwk, use: 'enc' },
      { ...ops.jwk, key_ops: ['encrypt'] },
      { ...mismatch.jwk, alg: 'ES256' },
      { ...x5c.jwk, x5c: ['bm90IGEgY2VydA=='] },
      { kty: 'oct', kid: 'c-oct', alg: 'HS256' },
    ];
    const http = await new HttpIdp(idp).start();
    try {
      const cache = generousCache(http.url);
      const v = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
      await cache.ready();
      assert.deepEqual(cache.snapshot()?.keys.map((k) => k.kid), ['a-ec', 'c-leaving']);
      const claims = { iss: ISS, aud: AUD, exp: NOW + 600 };
      for (const k of [enc, ops, mismatch, x5c]) {
        tally.run++;
        tally.rejects++;
        const err = await rejects401(v.verify(signTexts(k, { alg: k.alg, kid: k.kid }, claims)), 'KID_NOT_FOUND');
        assert.ok(err);
      }
      await rejects401(v.verify(signTexts(ec, { alg: 'HS256', kid: 'c-oct' }, claims)), 'ALG_NOT_ALLOWED');
      const t = signTexts(leaving, { alg: 'ES256', kid: leaving.kid }, claims);
      assert.equal((await v.verify(t)).key.kid, 'c-leaving');
      idp.keys = [ec.jwk];
      assert.equal((await cache.refresh()).changed, true);
      tally.run++;
      tally.rejects++;
      await rejects401(v.verify(t), 'KID_NOT_FOUND');
    } finally {
      await http.stop();
    }
  });
});

describe('D: parsing', () => {
  test('D1: crit with unknown, absent, registered, empty, non-array or non-string names → TOKEN_MALFORMED', async () => {
    await runThreat('D1');
  });

  test('D2: b64:false (with or without crit) and any b64 other than true → TOKEN_MALFORMED before any lookup; b64:true (with or without crit) verifies (ordinary encoding)', async () => {
    const before = idpA.requests;
    await runThreat('D2');
    assert.equal(idpA.requests, before, 'refused before any lookup');
  });

  test('D3: duplicate header/claim members: last wins in the pre-check, the fast path and jose alike (decision documented in hostile-tokens.ts)', async () => {
    const mine = await runThreat('D3');
    const joseOnly = createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock, fastPath: false });
    for (const c of mine) {
      const [a, b] = [await outcome(verifierA, c.token), await outcome(joseOnly, c.token)];
      assert.equal(a.ok, b.ok, c.id);
      if (!a.ok && !b.ok) assert.equal(codeOf(a.err), codeOf(b.err), c.id);
      if (a.ok && b.ok) assert.deepEqual(a.payload, b.payload, c.id);
    }
  });

  test('D4: __proto__ / constructor.prototype in header and claims pollute nothing; inherited members are never read', async () => {
    const protoKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    await runThreat('D4');
    for (const c of cases.filter((x) => x.threat === 'D4' && x.expect === 'accept')) {
      const r = await verifierA.verify(c.token);
      assert.equal((r.payload as Record<string, unknown>).admin, undefined, c.id);
      assert.equal((r.payload as Record<string, unknown>).polluted, undefined, c.id);
      assert.equal(r.payload.iss, ISS, c.id);
      assert.equal((r.protectedHeader as Record<string, unknown>).polluted, undefined, c.id);
    }
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeysBefore);
    for (const probe of [{}, Object.create(Object.prototype) as object, []]) {
      assert.equal((probe as Record<string, unknown>).polluted, undefined);
      assert.equal((probe as Record<string, unknown>).admin, undefined);
    }
  });

  test('D5: 16 KiB + 1 and 1 MiB tokens → TOKEN_TOO_LARGE, headers over 4 KiB → TOKEN_MALFORMED; exactly at the caps verifies; deep nesting is bounded', async () => {
    const mine = await runThreat('D5');
    const at = mine.find((c) => c.id === 'D5-token-at-16KiB')!;
    const over = mine.find((c) => c.id === 'D5-token-16KiB-plus')!;
    assert.ok(at.token.length <= 16_384 && at.token.length > 16_300, `${at.token.length}`);
    assert.ok(over.token.length > 16_384 && over.token.length <= 16_390, `${over.token.length}`);
  });

  test('D6: NumericDates as strings, 1e400, -1, > 253402300799, null, objects, arrays → 401; 253402300799 and fractions verify', async () => {
    await runThreat('D6');
  });

  test('B5/D1: error messages of every rejection carry no raw control characters from the token (sanitised before they become ours, e.g. a crit name quoted by jose)', async () => {
    // every generator case again, independent of the order of the other tests
    for (const c of cases.filter((x) => x.expect === 'reject')) {
      const o = await outcome(verifierA, c.token);
      if (!o.ok) rejections.push({ id: c.id, err: o.err });
    }
    const bad = [...new Set(rejections.filter((r) => r.err instanceof Error && CONTROL.test(r.err.message)).map((r) => `${r.id}: ${JSON.stringify((r.err as Error).message)}`))];
    assert.deepEqual(bad, []);
  });
});

describe('E: claims', () => {
  test('E1: exp required; 30 s tolerance (29 s ago accepted, 30/31 s ago rejected); nbf/iat beyond tolerance rejected', async () => {
    await runThreat('E1');
  });

  test('E1: with the injected wall clock: a token valid now expires after a +31 s jump; tolerance is configurable and capped at 300 s; maxTokenAgeSec', async () => {
    const t = signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, iat: NOW, exp: NOW + 1 });
    assert.ok(await verifierA.verify(t));
    clock.jumpWall(30_000);
    assert.ok(await verifierA.verify(t), 'exp + 29 s: within tolerance');
    clock.jumpWall(1_000);
    await rejects401(verifierA.verify(t), 'TOKEN_EXPIRED');
    clock.jumpWall(-31_000);
    assert.equal(Math.floor(clock.wallNow() / 1000), NOW);
    const strict = createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock, clockToleranceSec: 0 });
    await rejects401(strict.verify(signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, exp: NOW })), 'TOKEN_EXPIRED');
    await rejects401(strict.verify(signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, exp: NOW + 60, nbf: NOW + 1 })), 'CLAIM_INVALID');
    for (const bad of [301, -1, Number.NaN, Infinity]) {
      assert.throws(() => createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clockToleranceSec: bad }), ConfigError, String(bad));
    }
    const aged = createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock, maxTokenAgeSec: 300 });
    const withIat = (iat: number | undefined) => signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, exp: NOW + 600, ...(iat === undefined ? {} : { iat }) });
    assert.ok(await aged.verify(withIat(NOW - 299)));
    assert.ok(await aged.verify(withIat(NOW - 329)), 'age 329 s ≤ 300 s + 30 s tolerance');
    await rejects401(aged.verify(withIat(NOW - 331)), 'TOKEN_EXPIRED');
    await rejects401(aged.verify(withIat(undefined)), 'CLAIM_INVALID');
    // requireExp can be turned off explicitly, and only explicitly
    const noExp = signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD });
    await rejects401(verifierA.verify(noExp), 'CLAIM_INVALID');
    assert.ok(await createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock, requireExp: false }).verify(noExp));
  });

  test('E2: iss exact (trailing slash, case, startsWith/userinfo traps, arrays), aud required and intersecting', async () => {
    await runThreat('E2');
    const multi = createVerifier({ issuer: ISS, audience: [AUD, 'api://second'], keys: cacheA, clock });
    const tok = (aud: unknown) => signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud, exp: NOW + 600 });
    assert.ok(await multi.verify(tok(['x', 'api://second'])));
    assert.ok(await multi.verify(tok('api://second')));
    await rejects401(multi.verify(tok(['x', 'y'])), 'CLAIM_INVALID');
    await rejects401(multi.verify(tok('api://second/')), 'CLAIM_INVALID');
  });

  test('E3: typ option (at+jwt): at+jwt, application/at+jwt and AT+JWT verify; JWT, missing, non-string typ → CLAIM_INVALID', async () => {
    const v = createVerifier({ issuer: ISS, audience: AUD, keys: cacheA, clock, typ: 'at+jwt' });
    const tok = (typ: unknown) => signTexts(ec, { alg: 'ES256', kid: ec.kid, ...(typ === undefined ? {} : { typ }) }, { iss: ISS, aud: AUD, exp: NOW + 600 });
    for (const ok of ['at+jwt', 'application/at+jwt', 'AT+JWT', 'Application/At+JWT']) assert.ok(await v.verify(tok(ok)), ok);
    for (const bad of ['JWT', 'jwt', undefined, 5, ['at+jwt'], 'at+jwt ', 'application/at+jwt; charset=x', 'x/at+jwt']) {
      tally.run++;
      tally.rejects++;
      await rejects401(v.verify(tok(bad)), 'CLAIM_INVALID');
    }
    // without the option typ is not checked
    assert.ok(await verifierA.verify(tok('JWT')));
  });

  test('E5: issuer B’s genuine tokens and key never verify for issuer A, and vice versa', async () => {
    await runThreat('E5');
    const bToken = signTexts(foreign, { alg: 'ES256', kid: foreign.kid }, { iss: ISS_B, aud: AUD, exp: NOW + 600 });
    assert.ok(await verifierB.verify(bToken), 'sanity: B verifies its own token');
    await rejects401(verifierA.verify(bToken), 'ISSUER_NOT_ALLOWED');
    const aToken = signTexts(ec, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, exp: NOW + 600 });
    await rejects401(verifierB.verify(aToken), 'ISSUER_NOT_ALLOWED');
    // A's token signed by B's key under A's kid, and B's token re-labelled with A's iss
    await rejects401(verifierA.verify(signTexts(foreign, { alg: 'ES256', kid: ec.kid }, { iss: ISS, aud: AUD, exp: NOW + 600 })), 'SIGNATURE_INVALID');
    await rejects401(verifierB.verify(signTexts(foreign, { alg: 'ES256', kid: foreign.kid }, { iss: ISS, aud: AUD, exp: NOW + 600 })), 'CLAIM_INVALID');
    tally.run += 4;
    tally.rejects += 4;
  });
});

describe('E4: templated (Entra) issuers', () => {
  const TEMPLATE = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  const T1 = '9188040d-6c67-4c5b-b112-36a304b66dad';
  const T2 = '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const issFor = (t: string) => `https://login.microsoftonline.com/${t}/v2.0`;
  // Entra keys omit alg and carry a templated issuer member
  const entra = makeKey('entra-1', 'RS256', { fresh: false, withAlg: false });
  const boundT2 = makeKey('entra-t2', 'ES256', { withAlg: false });
  const idp = new FakeIdp();
  idp.keys = [{ ...entra.jwk, issuer: TEMPLATE }, { ...boundT2.jwk, issuer: issFor(T2) }];
  let http: HttpIdp;
  let one: Verifier;
  let any: Verifier;
  before(async () => {
    http = await new HttpIdp(idp).start();
    const cache = generousCache(http.url);
    one = createVerifier({ issuer: TEMPLATE, tenants: [T1], audience: AUD, keys: cache, clock });
    any = createVerifier({ issuer: TEMPLATE, tenants: 'any', audience: AUD, keys: cache, clock });
    await cache.ready();
  });
  after(async () => {
    await http.stop();
  });
  const tok = (claims: Record<string, unknown>, key: SigningKey = entra) => signTexts(key, { alg: key.alg, kid: key.kid }, { aud: AUD, exp: NOW + 600, iat: NOW, ...claims });

  test('E4: the allowed tenant verifies; a foreign tenant, a tid not matching the GUID in iss, startsWith traps, bad tids and a missing tid → ISSUER_NOT_ALLOWED', async () => {
    assert.equal((await one.verify(tok({ iss: issFor(T1), tid: T1 }))).payload.tid, T1);
    const bad: [string, Verifier, Record<string, unknown>][] = [
      ['foreign tenant', one, { iss: issFor(T2), tid: T2 }],
      ['tid T1, iss of T2', one, { iss: issFor(T2), tid: T1 }],
      ['tid T2, iss of T1', one, { iss: issFor(T1), tid: T2 }],
      ['tid T2, iss of T1 (any)', any, { iss: issFor(T1), tid: T2 }],
      ['suffix .evil', one, { iss: `${issFor(T1)}.evil`, tid: T1 }],
      ['extra path', one, { iss: `${issFor(T1)}/extra`, tid: T1 }],
      ['look-alike host', one, { iss: `https://login.microsoftonline.com.evil.com/${T1}/v2.0`, tid: T1 }],
      ['look-alike host (any)', any, { iss: `https://login.microsoftonline.com.evil.com/${T1}/v2.0`, tid: T1 }],
      ['trailing slash', one, { iss: `${issFor(T1)}/`, tid: T1 }],
      ['v1 issuer', one, { iss: `https://sts.windows.net/${T1}/`, tid: T1 }],
      ['literal template', one, { iss: TEMPLATE, tid: T1 }],
      ['literal template, tid {tenantid}', any, { iss: TEMPLATE, tid: '{tenantid}' }],
      ['tid with slash (any)', any, { iss: issFor(`${T1}/x`), tid: `${T1}/x` }],
      ['tid with slash (list)', one, { iss: issFor(`${T1}/x`), tid: `${T1}/x` }],
      ['tid .. (any)', any, { iss: issFor('..'), tid: '..' }],
      ['tid ../T1 (any)', any, { iss: issFor(`../${T1}`), tid: `../${T1}` }],
      ['tid with dot-evil (any)', any, { iss: `${issFor(T1)}`.replace(T1, `${T1}.evil`), tid: `${T1}.evil` }],
      ['tid empty (any)', any, { iss: issFor(''), tid: '' }],
      ['tid number (any)', any, { iss: issFor('1'), tid: 1 }],
      ['tid array (any)', any, { iss: issFor(T1), tid: [T1] }],
      ['missing tid', one, { iss: issFor(T1) }],
      ['missing tid (any)', any, { iss: issFor(T1) }],
      ['missing iss', one, { tid: T1 }],
    ];
    const problems: string[] = [];
    for (const [what, v, claims] of bad) {
      tally.run++;
      tally.rejects++;
      const o = await outcome(v, tok(claims));
      if (o.ok) {
        tally.forgedAccepted++;
        problems.push(`${what}: ACCEPTED`);
      } else {
        // no iss at all is a failed claim check; an iss/tid outside the template's tenants is not our issuer
        const expected = what === 'missing iss' ? 'CLAIM_INVALID' : 'ISSUER_NOT_ALLOWED';
        if (!(o.err instanceof TokenInvalidError) || o.err.code !== expected) problems.push(`${what}: expected ${expected}, got ${codeOf(o.err)}`);
      }
    }
    assert.deepEqual(problems, []);
    // 'any' accepts every well-formed tenant whose iss matches
    assert.equal((await any.verify(tok({ iss: issFor(T2), tid: T2 }))).payload.tid, T2);
    // tenant ids compare case-insensitively against the list (GUIDs), but iss must equal the filled template exactly
    assert.ok(await one.verify(tok({ iss: issFor(T1.toUpperCase()), tid: T1.toUpperCase() })));
    await rejects401(one.verify(tok({ iss: issFor(T1.toUpperCase()), tid: T1 })), 'ISSUER_NOT_ALLOWED');
  });

  test('E4: an unknown kid with a foreign tenant is pre-gated (no fetch); a templated issuer without tenants is a ConfigError', async () => {
    const before = idp.requests;
    const k = makeKey('entra-unknown', 'ES256');
    await rejects401(one.verify(tok({ iss: issFor(T2), tid: T2 }, k)), 'ISSUER_NOT_ALLOWED');
    await rejects401(one.verify(tok({ iss: `${issFor(T1)}.evil`, tid: T1 }, k)), 'ISSUER_NOT_ALLOWED');
    assert.equal(idp.requests, before);
    assert.throws(() => createVerifier({ issuer: TEMPLATE, audience: AUD, jwksUri: http.url }), ConfigError);
    assert.throws(() => createVerifier({ issuer: TEMPLATE, tenants: [], audience: AUD, jwksUri: http.url }), ConfigError);
    assert.throws(() => createVerifier({ issuer: TEMPLATE, tenants: ['a/b'], audience: AUD, jwksUri: http.url }), ConfigError);
    assert.throws(() => createVerifier({ issuer: ISS, tenants: [T1], audience: AUD, jwksUri: http.url }), ConfigError);
    // the documented API shape (jwksUri) works
    const v = createVerifier({ issuer: TEMPLATE, tenants: [T1], audience: AUD, jwksUri: http.url, clock });
    try {
      assert.ok(await v.verify(tok({ iss: issFor(T1), tid: T1 })));
    } finally {
      await v.close();
    }
  });

  test('E4/C5: a JWK `issuer` member is filled the same way: a key bound to tenant T2 never verifies T1’s token; the templated key verifies any allowed tenant', async () => {
    assert.ok(await any.verify(tok({ iss: issFor(T2), tid: T2 }, boundT2)));
    tally.run++;
    tally.rejects++;
    const o = await outcome(any, tok({ iss: issFor(T1), tid: T1 }, boundT2));
    assert.equal(o.ok, false, 'a key bound to T2 verified a T1 token');
    if (!o.ok) assert.equal(codeOf(o.err), 'SIGNATURE_INVALID');
    assert.ok(await any.verify(tok({ iss: issFor(T1), tid: T1 })));
    assert.ok(await any.verify(tok({ iss: issFor(T2), tid: T2 })));
  });
});

test('summary: every generator case ran, 0 forged tokens accepted, 0 jku/x5u hits', async () => {
  const ran = new Set(['baseline', 'A1', 'A2', 'A3', 'A4', 'A5', 'A8', 'B1', 'B2', 'B3', 'B4', 'B5', 'D1', 'D2', 'D3', 'D4', 'D5', 'D6', 'E1', 'E2', 'E5']);
  assert.deepEqual([...new Set(cases.map((c) => c.threat))].filter((t) => !ran.has(t)), []);
  assert.equal(tally.forgedAccepted, 0);
  assert.equal(trapHits.length, 0);
  assert.ok(tally.run >= cases.length);
});
