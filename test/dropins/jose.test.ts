/**
 * jwks-keeper/jose: jose's documented `createRemoteJWKSet` usage with only the import changed,
 * jose's own error classes, and a differential against jose's real `createRemoteJWKSet` over
 * the same endpoint for the cases where both must agree.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { createRemoteJWKSet, customFetch, errors, mapJoseOptions } from '../../src/dropins/jose.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { makeKey, mint, signRaw, AUD, ISS } from '../helpers/keys.js';

const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'RS256');
let idp: FakeIdp;
let http: HttpIdp;

before(async () => {
  idp = new FakeIdp(k1);
  http = await new HttpIdp(idp).start();
});
after(() => http.stop());

const options = { issuer: ISS, audience: AUD };

describe('jose README usage, only the import changed', () => {
  test('createRemoteJWKSet + jwtVerify', async () => {
    idp.publish(k1);
    idp.mode = 'ok';
    const JWKS = createRemoteJWKSet(new URL(http.url));
    const jwt = await mint(k1);
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, JWKS, {
      issuer: ISS,
      audience: AUD,
    });
    assert.equal(payload.sub, 'user-1');
    assert.equal(protectedHeader.kid, 'k1');
    await JWKS.cache.close();
  });

  test('the documented ERR_JWKS_MULTIPLE_MATCHING_KEYS loop', async () => {
    // two keys with the same kid and alg: jose's documented recovery iterates the error
    const twinA = makeKey('twin', 'ES256');
    const twinB = makeKey('twin', 'ES256');
    idp.publish(twinA, twinB);
    const JWKS = createRemoteJWKSet(new URL(http.url));
    const jwt = await mint(twinB);
    const { payload } = await jose.jwtVerify(jwt, JWKS, options).catch(async (error) => {
      if (error?.code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
        for await (const publicKey of error) {
          try {
            return await jose.jwtVerify(jwt, publicKey, options);
          } catch (innerError) {
            if ((innerError as { code?: string })?.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED') {
              continue;
            }
            throw innerError;
          }
        }
        throw new jose.errors.JWSSignatureVerificationFailed();
      }
      throw error;
    });
    assert.equal(payload.sub, 'user-1');
    await JWKS.cache.close();
  });

  test('[customFetch] gets jose-shaped arguments (Headers) and user headers', async () => {
    idp.publish(k1);
    const seen: { method: string; ua: string | null; accept: string | null }[] = [];
    const JWKS = createRemoteJWKSet(new URL(http.url), {
      headers: { 'User-Agent': 'my-app/1.0' },
      [customFetch]: (url, init) => {
        assert.ok(init.headers instanceof Headers);
        seen.push({ method: init.method, ua: init.headers.get('user-agent'), accept: init.headers.get('accept') });
        return fetch(url, init);
      },
    });
    await jose.jwtVerify(await mint(k1), JWKS, options);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0], { method: 'GET', ua: 'my-app/1.0', accept: seen[0]!.accept });
    assert.ok(seen[0]!.accept?.includes('json'));
    await JWKS.cache.close();
  });
});

describe('errors are jose’s own classes', () => {
  test('unknown kid → JWKSNoMatchingKey with our code as cause', async () => {
    idp.publish(k1);
    const JWKS = createRemoteJWKSet(new URL(http.url));
    const err = await jose.jwtVerify(await mint(makeKey('nope', 'ES256')), JWKS, options).catch((e: unknown) => e);
    assert.ok(err instanceof jose.errors.JWKSNoMatchingKey);
    assert.ok(err instanceof errors.JWKSNoMatchingKey);
    assert.equal((err as Error & { code: string }).code, 'ERR_JWKS_NO_MATCHING_KEY');
    assert.equal(((err as Error).cause as { code: string }).code, 'KID_NOT_FOUND');
    await JWKS.cache.close();
  });

  test('HS256 → JOSENotSupported (as jose); an algorithm allow-list → JOSEAlgNotAllowed from jwtVerify', async () => {
    idp.publish(k1);
    const JWKS = createRemoteJWKSet(new URL(http.url));
    const hs = await new jose.SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(ISS).setAudience(AUD).setExpirationTime('5m').sign(new Uint8Array(32));
    const e1 = await jose.jwtVerify(hs, JWKS, options).catch((e: unknown) => e);
    assert.ok(e1 instanceof jose.errors.JOSENotSupported);
    const e2 = await jose.jwtVerify(await mint(k1), JWKS, { ...options, algorithms: ['RS256'] }).catch((e: unknown) => e);
    assert.ok(e2 instanceof jose.errors.JOSEAlgNotAllowed);
    await JWKS.cache.close();
  });

  test('an alg jose knows but the key set cannot serve for that kid → JWKSNoMatchingKey', async () => {
    idp.publish(k1);
    const JWKS = createRemoteJWKSet(new URL(http.url));
    // k1 is ES256; a PS256 header on kid k1 has no matching key in jose either
    const forged = signRaw(makeKey('k1', 'PS256'), { alg: 'PS256', kid: 'k1' }, { iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 60 });
    const err = await jose.jwtVerify(forged, JWKS, options).catch((e: unknown) => e);
    assert.ok(err instanceof jose.errors.JWKSNoMatchingKey);
    await JWKS.cache.close();
  });

  test('a hanging endpoint → JWKSTimeout (ManualClock drives the deadline)', async () => {
    const clock = new ManualClock();
    const JWKS = createRemoteJWKSet(new URL('https://idp.test/jwks'), {
      timeoutDuration: 1000,
      [customFetch]: (_url, init) => new Promise((_r, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason))),
      cacheOptions: { clock, scheduler: clock },
    });
    const p = jose.jwtVerify(await mint(k1), JWKS, options).catch((e: unknown) => e);
    await clock.advance(1001);
    const err = await p;
    assert.ok(err instanceof jose.errors.JWKSTimeout, String(err));
    await JWKS.cache.close();
  });

  test('private key members → JWKSInvalid', async () => {
    const JWKS = createRemoteJWKSet(new URL('https://idp.test/jwks'), {
      [customFetch]: async () => Response.json({ keys: [{ ...k1.privateKey.export({ format: 'jwk' }), kid: 'k1' }] }),
    });
    const err = await jose.jwtVerify(await mint(k1), JWKS, options).catch((e: unknown) => e);
    assert.ok(err instanceof jose.errors.JWKSInvalid, String(err));
    await JWKS.cache.close();
  });

  test('claim errors stay jose’s (jwtVerify is jose’s)', async () => {
    idp.publish(k1);
    const JWKS = createRemoteJWKSet(new URL(http.url));
    const err = await jose.jwtVerify(await mint(k1, { iss: 'https://evil.test/' }), JWKS, options).catch((e: unknown) => e);
    assert.ok(err instanceof jose.errors.JWTClaimValidationFailed);
    const exp = await jose.jwtVerify(await mint(k1, { expSec: -120 }), JWKS, options).catch((e: unknown) => e);
    assert.ok(exp instanceof jose.errors.JWTExpired);
    await JWKS.cache.close();
  });
});

describe('differential against jose’s createRemoteJWKSet over the same endpoint', () => {
  const cases: { name: string; setup: () => void; token: () => Promise<string> }[] = [
    { name: 'valid kid', setup: () => idp.publish(k1, k2), token: () => mint(k2) },
    { name: 'unknown kid', setup: () => idp.publish(k1), token: () => mint(makeKey('zzz', 'ES256')) },
    { name: 'kid-less, one key', setup: () => idp.publish(k1), token: () => mint(k1, { kid: null }) },
    { name: 'kid-less, two keys same alg', setup: () => idp.publish(k1, makeKey('k3', 'ES256')), token: () => mint(k1, { kid: null }) },
    { name: 'alg none', setup: () => idp.publish(k1), token: async () => new jose.UnsecuredJWT({ iss: ISS, aud: AUD }).setExpirationTime('5m').encode() },
    { name: 'IdP 503 at first use', setup: () => { idp.publish(k1); idp.mode = '503'; }, token: () => mint(k1) },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      idp.mode = 'ok';
      c.setup();
      const token = await c.token();
      const outcome = async (keys: jose.JWTVerifyGetKey) =>
        jose.jwtVerify(token, keys, options).then(
          (r) => `ok:${r.payload.sub}`,
          (e: Error & { code?: string }) => `${e.constructor.name}:${e.code}`,
        );
      const ours = createRemoteJWKSet(new URL(http.url));
      const theirs = jose.createRemoteJWKSet(new URL(http.url));
      const [a, b] = [await outcome(ours), await outcome(theirs)];
      idp.mode = 'ok';
      await ours.cache.close();
      assert.equal(a, b);
    });
  }
});

describe('getters and reload', () => {
  test('fresh, coolingDown, reloading, reload(), jwks()', async () => {
    idp.publish(k1);
    idp.mode = 'ok';
    const clock = new ManualClock(Date.now());
    const JWKS = createRemoteJWKSet(new URL(http.url), { cooldownDuration: 30_000, cacheMaxAge: 600_000, cacheOptions: { clock, scheduler: clock } });
    assert.equal(JWKS.jwks(), undefined);
    assert.equal(JWKS.fresh, false);
    assert.equal(JWKS.coolingDown, false);
    await jose.jwtVerify(await mint(k1), JWKS, options);
    assert.equal(JWKS.fresh, true);
    assert.equal(JWKS.coolingDown, true);
    assert.deepEqual(JWKS.jwks()?.keys.map((k) => k.kid), ['k1']);
    clock.jumpWall(31_000);
    assert.equal(JWKS.coolingDown, false);
    idp.publish(k1, k2);
    const p = JWKS.reload();
    assert.equal(JWKS.reloading, true);
    await p;
    assert.equal(JWKS.reloading, false);
    assert.deepEqual(JWKS.jwks()?.keys.map((k) => k.kid), ['k1', 'k2']);
    // the copy is a copy
    JWKS.jwks()!.keys.length = 0;
    assert.equal(JWKS.jwks()?.keys.length, 2);
    idp.mode = '503';
    await assert.rejects(JWKS.reload(), (e: unknown) => e instanceof jose.errors.JOSEError);
    idp.mode = 'ok';
    await JWKS.cache.close();
  });

  test('option validation as jose', () => {
    assert.throws(() => createRemoteJWKSet('https://idp.test/jwks' as unknown as URL), TypeError);
    assert.throws(() => createRemoteJWKSet(new URL(http.url), { timeoutDuration: 1.5 }), TypeError);
    assert.throws(() => createRemoteJWKSet(new URL(http.url), { cooldownDuration: Number.NaN }), TypeError);
    assert.throws(() => createRemoteJWKSet(new URL(http.url), { cacheMaxAge: -1 }), TypeError);
  });

  test('option mapping table', () => {
    const href = 'https://idp.test/jwks';
    const rows: [Parameters<typeof mapJoseOptions>[1], Record<string, unknown>][] = [
      [{}, { timeoutMs: 5000, unknownKid: undefined, minRefreshIntervalMs: undefined }],
      [{ timeoutDuration: 0 }, { timeoutMs: 1 }],
      [{ timeoutDuration: 2500 }, { timeoutMs: 2500 }],
      [{ cooldownDuration: 30_000 }, { unknownKid: { cooldownMs: 30_000, burst: 1, maxWaitMs: 10_000 } }],
      [{ cooldownDuration: 500 }, { unknownKid: { cooldownMs: 500, burst: 1, maxWaitMs: 500 } }],
      [{ cacheMaxAge: 5000 }, { minRefreshIntervalMs: 5000, maxRefreshIntervalMs: 5000, defaultRefreshIntervalMs: 5000 }],
      [{ cacheMaxAge: Infinity }, { maxRefreshIntervalMs: Number.MAX_SAFE_INTEGER }],
      [{ headers: { 'X-A': 'b' } }, { headers: { 'x-a': 'b' } }],
    ];
    for (const [input, expected] of rows) {
      const o = mapJoseOptions(href, input) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(o[k], v, `${JSON.stringify(input)} → ${k}`);
    }
  });
});

describe('backed by the unknown-kid defence', () => {
  test('a flood of random kids costs a bounded number of JWKS requests', async () => {
    idp.publish(k1);
    idp.mode = 'ok';
    const clock = new ManualClock(Date.now());
    const JWKS = createRemoteJWKSet(new URL(http.url), { cacheOptions: { clock, scheduler: clock } });
    await jose.jwtVerify(await mint(k1), JWKS, options);
    const before = idp.requests;
    const results = Promise.all(
      Array.from({ length: 200 }, async (_, i) => jose.jwtVerify(signRaw(k1, { alg: 'ES256', kid: `rnd-${i}` }, { iss: ISS, aud: AUD, exp: Math.floor(Date.now() / 1000) + 60 }), JWKS, options).catch((e: unknown) => e)),
    );
    for (let i = 0; i < 30; i++) await clock.advance(1000);
    const errs = await results;
    assert.ok(errs.every((e) => e instanceof jose.errors.JWKSNoMatchingKey));
    // burst 2, then one per 10 s cooldown: ≤ 2 + 3 in 30 s
    assert.ok(idp.requests - before <= 5, `requests: ${idp.requests - before}`);
    // jose's real createRemoteJWKSet would have fetched once per 30 s cooldown; the valid kid never waits
    await jose.jwtVerify(await mint(k1), JWKS, options);
    await JWKS.cache.close();
  });
});
