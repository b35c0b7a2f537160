/**
 * threats.md section C (JWKS content), end to end: a real cache and verifier fetching hostile
 * key sets from a real HTTP server (test/helpers HttpIdp), each cache on a ManualClock: the
 * unknown-kid budget and waits run on test time, so which answer a lookup gets (a refresh, then
 * KID_NOT_FOUND) never depends on how fast the machine is.
 *
 * C1 oct dropped / private members refuse the whole document (last-known-good kept, alarm
 * through `refresh.failed` code JWKS_PRIVATE_KEY), C2 use/key_ops/alg, C3 duplicate kids and
 * kid-less tokens, C4 x5c, C5 per-key `issuer`, the key-count cap (100 and 100k entries),
 * huge and hostile kids.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { createJwksCache, createVerifier, KeysUnavailableError } from '../../src/index.js';
import type { JwksCache, JwksCacheOptions, Verifier } from '../../src/index.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint, type SigningKey } from '../helpers/keys.js';
import { driveUntil, recordEvents, rejects401, rejects503, Summary } from './harness.js';
import { ManualClock } from '../../src/testing/index.js';
import { haveOpenssl, hugeKid, manyKeys, octJwk, offCurve, privateJwk, selfSignedCert, tinyRsa, zeroPoint } from './hostile-idp.js';

const summary = new Summary('jwks-content.test.ts');
const idp = new FakeIdp();
let http: HttpIdp;
const open: JwksCache[] = [];

before(async () => {
  http = await new HttpIdp(idp).start();
});
afterEach(async () => {
  for (const c of open.splice(0)) await c.close();
});
after(async () => {
  await http.stop();
  summary.print();
});

type Jwk = Record<string, unknown>;

/** Serve these JWKS entries (any JSON) from now on. */
function serve(keys: unknown[]): void {
  idp.body = undefined;
  idp.mode = 'ok';
  idp.keys = keys as Jwk[];
}

/** How to run a verifier's cache clock until a lookup settles (see `neverVerifies`). */
const drivers = new WeakMap<Verifier, { clock: ManualClock; idle: () => Promise<void> }>();

/**
 * A real cache + verifier on the HTTP IdP, on a ManualClock (wall time starts now, so tokens
 * minted with the real time are valid), with a short unknown-kid cooldown.
 */
function client(extra: Partial<JwksCacheOptions> = {}, verifierIssuer = ISS) {
  const clock = new ManualClock(Date.now());
  const cache = createJwksCache({
    jwksUri: http.url,
    timeoutMs: 3000,
    backoffInitialMs: 50,
    backoffMaxMs: 200,
    unknownKid: { cooldownMs: 150, maxWaitMs: 150 },
    clock,
    scheduler: clock,
    ...extra,
  });
  open.push(cache);
  const rec = recordEvents(cache);
  const verifier = createVerifier({ issuer: verifierIssuer, audience: AUD, keys: cache, clock });
  drivers.set(verifier, { clock, idle: rec.idle });
  return { cache, verifier, clock, ...rec };
}

/**
 * A forged/hostile token must never verify, and fails with exactly `code` when given; counts it
 * in the summary. A lookup that waits for the unknown-kid budget settles as the cache's test
 * clock is run (in 50 ms steps, waiting for each refresh over the socket to finish).
 */
async function neverVerifies(verifier: Verifier, token: string, code?: string, opts: { knownBug?: true } = {}): Promise<void> {
  let accepted = false;
  let settled = false;
  const outcome = verifier.verify(token).then(
    () => {
      accepted = true;
      settled = true;
      return undefined;
    },
    (err: unknown) => {
      settled = true;
      return err;
    },
  );
  const d = drivers.get(verifier);
  if (d) await driveUntil(d.clock, d.idle, () => settled, 50, 100, 'the lookup');
  const err = await outcome;
  if (!accepted && code !== undefined) assert.equal((err as { code?: string }).code ?? String(err), code);
  summary.hostile(accepted, opts.knownBug === true);
  assert.equal(accepted, false, 'a token backed by a hostile JWKS entry verified');
}

const kids = (cache: JwksCache): (string | undefined)[] => cache.snapshot()?.keys.map((k) => k.kid) ?? [];
const k1 = makeKey('k1', 'ES256');

describe('C1: oct keys and private key members', () => {
  test('C1: an oct key (no secret) is dropped with reason symmetric-key; the rest of the set loads; HS256 never verifies', async () => {
    summary.case();
    serve([k1.jwk, octJwk('hmac', false)]);
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['k1']);
    assert.deepEqual(
      of('key.dropped').map((d) => [d.kid, d.reason]),
      [['hmac', 'symmetric-key']],
    );
    const secret = new TextEncoder().encode('a-shared-secret-of-32-bytes-long');
    const hs = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256', kid: 'hmac' }).setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime('10m').sign(secret);
    await neverVerifies(verifier, hs, 'ALG_NOT_ALLOWED');
    // through the jose resolver too
    await assert.rejects(jwtVerify(hs, cache.getKey, { issuer: ISS, audience: AUD }), (e: unknown) => (e as { code?: string }).code === 'ALG_NOT_ALLOWED');
    // an asymmetric alg naming the oct kid finds nothing
    await neverVerifies(verifier, await mint(makeKey('hmac', 'ES256')), 'KID_NOT_FOUND');
    assert.equal((await verifier.verify(await mint(k1))).key.kid, 'k1');
  });

  test('C1: an oct key WITH its secret `k` is a leak: the whole first document is refused (refresh.failed JWKS_PRIVATE_KEY), nothing loads', async () => {
    summary.case();
    serve([k1.jwk, octJwk('hmac', true)]);
    const { cache, verifier, of } = client();
    const err = await rejects503(cache.ready(), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_PRIVATE_KEY');
    assert.equal(of('refresh.failed')[0]?.code, 'JWKS_PRIVATE_KEY');
    assert.equal(cache.snapshot(), undefined);
    assert.equal(cache.health().lastErrorCode, 'JWKS_PRIVATE_KEY');
    await rejects503(verifier.verify(await mint(k1)));
    summary.hostile(false);
  });

  test('C1: each private member (d, p, q, dp, dq, qi, k, oth) refuses the whole document; last-known-good kept; the value never appears in errors', async () => {
    summary.case();
    const leaked = makeKey('leaked', 'ES256');
    serve([k1.jwk]);
    const { cache, verifier, of } = client();
    await cache.ready();
    const SECRET = 'U0VDUkVULVZBTFVFLURPLU5PVC1MT0c';
    const variants: [string, Jwk][] = [
      ...(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const).map((m): [string, Jwk] => [m, { ...leaked.jwk, [m]: SECRET }]),
      ['oth', { ...leaked.jwk, oth: [{ r: SECRET, d: SECRET, t: SECRET }] }],
      ['full EC private JWK', privateJwk(leaked.privateKey, 'leaked')],
      ['full RSA private JWK', privateJwk(makeKey('r', 'RS256', { fresh: false }).privateKey, 'leaked-rsa')],
      ['private member on an entry that would be dropped anyway (use enc)', { ...leaked.jwk, use: 'enc', d: SECRET }],
      ['private member on an oct entry', octJwk('hmac', true)],
      ['private member at index 150, beyond maxKeys', null as unknown as Jwk],
    ];
    for (const [label, entry] of variants) {
      const doc = entry === null ? [...manyKeys(k1.jwk, 150, 'pad-').slice(0, 150), { ...leaked.jwk, d: SECRET }] : [k1.jwk, entry];
      serve(doc);
      const r = await cache.refresh();
      assert.equal(r.ok, false, label);
      assert.equal(r.error?.code, 'JWKS_PRIVATE_KEY', label);
      assert.ok(!r.error.message.includes(SECRET), `${label}: the secret value leaked into the error message`);
      const failed = of('refresh.failed').at(-1)!;
      assert.equal(failed.code, 'JWKS_PRIVATE_KEY', label);
      assert.ok(!failed.message.includes(SECRET), label);
      assert.equal(cache.snapshot()?.generation, 1, `${label}: no new generation`);
      assert.deepEqual(kids(cache), ['k1'], label);
      summary.hostile(cache.snapshot()?.generation !== 1);
    }
    assert.equal(of('keys.changed').length, 1, 'only the first, clean load changed the keys');
    assert.equal(cache.stats().failures, variants.length);
    // last-known-good keeps verifying; the leaked key never does
    assert.equal((await verifier.verify(await mint(k1))).key.kid, 'k1');
    await neverVerifies(verifier, await mint(leaked));
    assert.equal(cache.health().state, 'degraded');
    assert.ok(cache.health().reasons.includes('refresh-failing'));
    // the IdP fixes its document: recovery
    serve([k1.jwk, leaked.jwk]);
    assert.equal((await cache.refresh()).ok, true);
    assert.equal(cache.health().state, 'healthy');
  });
});

describe('C2: use, key_ops, alg consistency', () => {
  test('C2: use≠sig, key_ops without verify, alg inconsistent with kty/crv, HS*/none/encryption algs are dropped; their tokens never verify', async () => {
    summary.case();
    const enc = makeKey('enc');
    const opsEnc = makeKey('ops-enc');
    const opsSign = makeKey('ops-sign');
    const opsBoth = makeKey('ops-both');
    const rsa = makeKey('rsa-es256', 'RS256', { fresh: false });
    const p256 = makeKey('p256-es384');
    const hsOnEc = makeKey('ec-hs256');
    const noneOnEc = makeKey('ec-none');
    serve([
      k1.jwk,
      { ...enc.jwk, use: 'enc' },
      { ...opsEnc.jwk, key_ops: ['encrypt'] },
      { ...opsSign.jwk, key_ops: ['sign'] },
      { ...opsBoth.jwk, key_ops: ['sign', 'verify'] },
      { ...rsa.jwk, alg: 'ES256' },
      { ...p256.jwk, alg: 'ES384' },
      { ...hsOnEc.jwk, alg: 'HS256' },
      { ...noneOnEc.jwk, alg: 'none' },
      { ...makeKey('oaep', 'RS256', { fresh: false }).jwk, kid: 'oaep', alg: 'RSA-OAEP', use: 'enc' },
      { ...makeKey('usenum').jwk, use: 1 },
      { ...makeKey('opsstr').jwk, key_ops: 'verify' },
    ]);
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['k1', 'ops-both']);
    assert.deepEqual(
      of('key.dropped').map((d) => [d.kid, d.reason]),
      [
        ['enc', 'use-not-sig'],
        ['ops-enc', 'key-ops-no-verify'],
        ['ops-sign', 'key-ops-no-verify'],
        ['rsa-es256', 'alg-mismatch'],
        ['p256-es384', 'alg-mismatch'],
        ['ec-hs256', 'alg-unsupported'],
        ['ec-none', 'alg-unsupported'],
        ['oaep', 'use-not-sig'],
        ['usenum', 'use-not-sig'],
        ['opsstr', 'key-ops-no-verify'],
      ],
    );
    for (const k of [enc, opsEnc, opsSign, p256, hsOnEc, noneOnEc]) await neverVerifies(verifier, await mint(k), 'KID_NOT_FOUND');
    await neverVerifies(verifier, await mint({ ...rsa, alg: 'RS256' }), 'KID_NOT_FOUND');
    assert.equal((await verifier.verify(await mint(opsBoth))).key.kid, 'ops-both');
  });

  test('C2/A3: a JWK alg pins the key (PS256 token on an RS256-pinned key → KEY_ALG_MISMATCH); without alg the allow-list applies', async () => {
    summary.case();
    const pinned = makeKey('pinned', 'RS256', { fresh: false });
    const free: SigningKey = { ...makeKey('free', 'RS256', { fresh: false, withAlg: false }) };
    serve([pinned.jwk, free.jwk]);
    const { cache, verifier } = client();
    await cache.ready();
    assert.equal((await verifier.verify(await mint(pinned))).key.kid, 'pinned');
    await rejects401(verifier.verify(await mint({ ...pinned, alg: 'PS256' })), 'KEY_ALG_MISMATCH');
    await rejects401(verifier.verify(await mint({ ...pinned, alg: 'PS256', kid: 'pinned' })), 'KEY_ALG_MISMATCH');
    assert.equal((await verifier.verify(await mint({ ...free, alg: 'PS256' }))).key.kid, 'free');
    assert.equal((await verifier.verify(await mint(free))).key.kid, 'free');
    // a verifier whose allow-list excludes PS256 refuses it before any lookup
    const strict = createVerifier({ issuer: ISS, audience: AUD, keys: cache, algorithms: ['RS256'] });
    await rejects401(strict.verify(await mint({ ...free, alg: 'PS256' })), 'ALG_NOT_ALLOWED');
  });
});

describe('C3: duplicate kids and kid-less tokens', () => {
  test('C3: identical material under one kid is de-duplicated (first wins)', async () => {
    summary.case();
    serve([k1.jwk, { ...k1.jwk }, { ...k1.jwk, use: undefined }]);
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['k1']);
    assert.deepEqual(
      of('key.dropped').map((d) => d.reason),
      ['duplicate', 'duplicate'],
    );
    assert.equal((await verifier.verify(await mint(k1))).key.kid, 'k1');
  });

  test('C3: different material under one kid: both are candidates, each verifies its own tokens, a third key under that kid never does', async () => {
    summary.case();
    const a = makeKey('dup');
    const b = makeKey('dup');
    const c = makeKey('dup');
    serve([a.jwk, b.jwk]);
    const { cache, verifier } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['dup', 'dup']);
    const [ta, tb] = cache.snapshot()!.keys.map((k) => k.thumbprint);
    assert.equal((await verifier.verify(await mint(a))).key.thumbprint, ta);
    assert.equal((await verifier.verify(await mint(b))).key.thumbprint, tb);
    const before = idp.requests;
    await neverVerifies(verifier, await mint(c), 'SIGNATURE_INVALID');
    await neverVerifies(verifier, await mint(c), 'SIGNATURE_INVALID');
    assert.ok(idp.requests - before <= 1, 'at most one recheck fetch per generation for bad signatures on a known kid');
  });

  test('C3: a token without kid verifies only when exactly one key of the set can verify its alg', async () => {
    summary.case();
    const e1 = makeKey('e1');
    const e2 = makeKey('e2');
    const r1 = makeKey('r1', 'RS256', { fresh: false });
    const noKid = (k: SigningKey) => mint(k, { kid: null });
    // one key in the set
    serve([e1.jwk]);
    let c = client();
    assert.equal((await c.verifier.verify(await noKid(e1))).key.kid, 'e1');
    await rejects401(c.verifier.verify(await noKid(e2)), 'SIGNATURE_INVALID');
    // two keys, one per alg: the ES256 token has exactly one candidate
    serve([e1.jwk, r1.jwk]);
    c = client();
    assert.equal((await c.verifier.verify(await noKid(e1))).key.kid, 'e1');
    assert.equal((await c.verifier.verify(await noKid(r1))).key.kid, 'r1');
    // two ES256 keys: ambiguous, refused even for a genuine token, with no fetch
    serve([e1.jwk, e2.jwk]);
    c = client();
    await c.cache.ready();
    const before = idp.requests;
    await rejects401(c.verifier.verify(await noKid(e1)), 'KID_REQUIRED');
    await rejects401(c.verifier.verify(await noKid(e2)), 'KID_REQUIRED');
    // no key for the alg at all: refused (the code is checked in the next test)
    await rejects401(c.verifier.verify(await noKid(r1)));
    assert.equal(idp.requests, before, 'kid-less tokens never trigger refreshes');
    // a kid-less JWK is a candidate for kid-less tokens only
    const anon = makeKey('anon');
    serve([{ ...anon.jwk, kid: undefined }, r1.jwk]);
    c = client();
    assert.equal((await c.verifier.verify(await noKid(anon))).key.kid, undefined);
    await neverVerifies(c.verifier, await mint(anon), 'KID_NOT_FOUND');
  });

  test(
    'C3: a token without kid and no key of the set able to verify its alg is KID_REQUIRED (errors.ts: "the key set does not contain exactly one candidate key")',
    async () => {
      summary.case();
      serve([makeKey('only-es').jwk]);
      const c = client();
      await c.cache.ready();
      await rejects401(c.verifier.verify(await mint(makeKey('r1', 'RS256', { fresh: false }), { kid: null })), 'KID_REQUIRED');
    },
  );
});

describe('C4: x5c', () => {
  test('C4: an x5c certificate for another key drops the entry; the certificate is never a key source', { skip: haveOpenssl() ? false : 'openssl CLI not available' }, async () => {
    summary.case();
    const certKey = makeKey('cert-key', 'RS256', { fresh: true });
    const other = makeKey('other', 'RS256', { fresh: false });
    const ec = makeKey('ec-x5c');
    const cert = selfSignedCert(certKey.privateKey);
    serve([
      k1.jwk,
      { ...certKey.jwk, kid: 'x-ok', x5c: [cert] },
      { ...other.jwk, kid: 'x-mismatch', x5c: [cert] },
      { ...ec.jwk, kid: 'x-garbage', x5c: ['!!not base64!!'] },
      { kty: 'RSA', kid: 'x-only', alg: 'RS256', x5c: [cert] },
    ]);
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['k1', 'x-ok']);
    assert.deepEqual(
      of('key.dropped').map((d) => [d.kid, d.reason]),
      [
        ['x-mismatch', 'x5c-mismatch'],
        ['x-garbage', 'x5c-invalid'],
        ['x-only', 'invalid-key-material'],
      ],
    );
    assert.equal((await verifier.verify(await mint({ ...certKey, kid: 'x-ok' }))).key.kid, 'x-ok');
    // neither the JWK material nor the certificate's key can speak for a dropped entry
    await neverVerifies(verifier, await mint({ ...other, kid: 'x-mismatch' }), 'KID_NOT_FOUND');
    await neverVerifies(verifier, await mint({ ...certKey, kid: 'x-mismatch' }), 'KID_NOT_FOUND');
    await neverVerifies(verifier, await mint({ ...certKey, kid: 'x-only' }), 'KID_NOT_FOUND');
  });

  test('C4/A6/A7: invalid EC points, (0,0), tiny RSA keys are dropped at ingest; their tokens never verify', async () => {
    summary.case();
    const offKey = makeKey('off');
    const tiny = tinyRsa('tiny');
    const rsa = makeKey('rsa', 'RS256', { fresh: false });
    serve([k1.jwk, offCurve(offKey.jwk, 'off'), zeroPoint('zero'), tiny.jwk, { ...rsa.jwk, kid: 'e1', e: 'AQ' }, { ...rsa.jwk, kid: 'e-even', e: 'AQAA' }]);
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['k1']);
    assert.deepEqual(
      of('key.dropped').map((d) => [d.kid, d.reason]),
      [
        ['off', 'invalid-key-material'],
        ['zero', 'invalid-key-material'],
        ['tiny', 'rsa-too-small'],
        ['e1', 'rsa-bad-exponent'],
        ['e-even', 'rsa-bad-exponent'],
      ],
    );
    await neverVerifies(verifier, await mint(offKey), 'KID_NOT_FOUND');
    // jose refuses to sign with a 1024-bit key: sign by hand
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'RS256', kid: 'tiny' })}.${b64({ iss: ISS, aud: AUD, sub: 'x', iat: now, exp: now + 600 })}`;
    const tinyToken = `${input}.${sign('sha256', Buffer.from(input), tiny.privateKey).toString('base64url')}`;
    await neverVerifies(verifier, tinyToken, 'KID_NOT_FOUND');
  });
});

describe('C5: per-key issuer (Entra multi-tenant)', () => {
  test('C5: a key whose `issuer` member differs from the verifier issuer never verifies; equal or absent verifies', async () => {
    summary.case();
    const other = makeKey('t-other');
    const same = makeKey('t-same');
    const none = makeKey('t-none');
    const prefix = makeKey('t-prefix');
    const noSlash = makeKey('t-noslash');
    const upper = makeKey('t-upper');
    serve([
      { ...other.jwk, issuer: 'https://other.example/' },
      { ...same.jwk, issuer: ISS },
      none.jwk,
      { ...prefix.jwk, issuer: `${ISS}evil` },
      { ...noSlash.jwk, issuer: ISS.replace(/\/$/, '') },
      { ...upper.jwk, issuer: ISS.toUpperCase() },
    ]);
    const { cache, verifier } = client();
    await cache.ready();
    assert.equal((await verifier.verify(await mint(same))).key.kid, 't-same');
    assert.equal((await verifier.verify(await mint(none))).key.kid, 't-none');
    for (const k of [other, prefix, noSlash, upper]) await neverVerifies(verifier, await mint(k), 'SIGNATURE_INVALID');
    // the same key does verify for the issuer it is bound to
    const otherVerifier = createVerifier({ issuer: 'https://other.example/', audience: AUD, keys: cache });
    assert.equal((await otherVerifier.verify(await mint(other, { iss: 'https://other.example/' }))).key.kid, 't-other');
  });

  test(
    'C5: a key with a templated `issuer` that cannot produce the verifier issuer never verifies',
    async () => {
      summary.case();
      const tmpl = makeKey('t-template');
      serve([{ ...tmpl.jwk, issuer: 'https://evil.example/{tenantid}/v2.0' }]);
      const { cache, verifier } = client();
      await cache.ready();
      await neverVerifies(verifier, await mint(tmpl), 'SIGNATURE_INVALID');
    },
  );
});

describe('key-count cap, huge kids, hostile kid strings', () => {
  test('cap: of 150 valid keys only the first 100 are used (one too-many-keys drop); maxKeys is configurable', async () => {
    summary.case();
    serve(manyKeys(k1.jwk, 150, 'k-'));
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.equal(cache.stats().keyCount, 100);
    const tooMany = of('key.dropped').filter((d) => d.reason === 'too-many-keys');
    assert.equal(tooMany.length, 1);
    assert.equal(tooMany[0]?.index, 100);
    assert.equal((await verifier.verify(await mint({ ...k1, kid: 'k-99' }))).key.kid, 'k-99');
    await neverVerifies(verifier, await mint({ ...k1, kid: 'k-100' }), 'KID_NOT_FOUND');
    const small = client({ maxKeys: 5 });
    await small.cache.ready();
    assert.equal(small.cache.stats().keyCount, 5);
  });

  test('cap: a 100,000-key set is refused by the default body cap, and with a raised cap only 100 entries are inspected', async () => {
    summary.case();
    const ed = makeKey('ed', 'EdDSA');
    serve(manyKeys(ed.jwk, 100_000, 'm-'));
    const bytes = Buffer.byteLength(JSON.stringify({ keys: idp.keys }));
    const dflt = client();
    const err = await rejects503(dflt.cache.ready(), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_TOO_LARGE');
    summary.hostile(false);
    const raised = client({ maxResponseBytes: 32 * 1024 * 1024 });
    const t0 = performance.now();
    await raised.cache.ready();
    const ms = performance.now() - t0;
    assert.equal(raised.cache.stats().keyCount, 100);
    const tooMany = raised.of('key.dropped').filter((d) => d.reason === 'too-many-keys');
    assert.match(tooMany[0]?.detail ?? '', /99900 entries/);
    assert.equal((await raised.verifier.verify(await mint({ ...ed, kid: 'm-0' }))).key.kid, 'm-0');
    await neverVerifies(raised.verifier, await mint({ ...ed, kid: 'm-99999' }), 'KID_NOT_FOUND');
    console.log(`100k-key set: ${(bytes / 1024 / 1024).toFixed(1)} MiB, refused by default (JWKS_TOO_LARGE); with a 32 MiB cap loaded 100 keys in ${ms.toFixed(0)} ms`);
    summary.extra['100k-key set load ms'] = Math.round(ms);
  });

  test('huge kids: a 10 KB kid in the JWKS is dropped (kid-invalid) and sanitised in the event; 256 is the exact limit end to end', async () => {
    summary.case();
    const big = makeKey('big');
    const edge = makeKey('e'.repeat(256));
    serve([k1.jwk, { ...big.jwk, kid: hugeKid(10_240) }, edge.jwk, { ...makeKey('x').jwk, kid: 'x'.repeat(257) }]);
    const { cache, verifier, of } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), ['k1', 'e'.repeat(256)]);
    const dropped = of('key.dropped');
    assert.deepEqual(
      dropped.map((d) => d.reason),
      ['kid-invalid', 'kid-invalid'],
    );
    for (const d of dropped) {
      assert.ok(d.kid !== undefined && d.kid.length < 100, `event kid bounded (${d.kid?.length})`);
      assert.match(d.kid ?? '', /^[\x20-\x7e…()0-9]*$/, 'event kid is printable');
    }
    assert.equal((await verifier.verify(await mint(edge))).key.kid, 'e'.repeat(256));
    // tokens with huge kids are refused before any lookup: no fetch, no wait
    const before = idp.requests;
    await neverVerifies(verifier, await mint({ ...big, kid: 'x'.repeat(257) }), 'KID_INVALID');
    await neverVerifies(verifier, await mint({ ...big, kid: hugeKid(10_240) }), 'TOKEN_MALFORMED'); // the 13 KiB header exceeds maxHeaderBytes before its kid is read
    assert.equal(idp.requests, before);
    assert.equal(cache.stats().peakWaiters, 0);
  });

  test(
    'B6/R7: a new set whose kid embeds the snapshot-identity separators is still installed; the key it no longer has stops verifying',
    async () => {
      summary.case();
      const a = makeKey('a');
      const b = makeKey('b');
      serve([a.jwk, b.jwk]);
      const { cache, verifier } = client();
      await cache.ready();
      const [ta] = cache.snapshot()!.keys.map((k) => k.thumbprint);
      // the IdP's next document drops `a` and publishes b's material under a crafted kid
      serve([{ ...b.jwk, kid: `a\u0000${ta}\u0001b` }]);
      const r = await cache.refresh();
      assert.equal(r.ok, true);
      await neverVerifies(verifier, await mint(a), 'KID_NOT_FOUND');
      assert.equal(r.changed, true, 'the key set did change');
    },
  );

  test('hostile kid strings in the JWKS (__proto__, constructor, path traversal, SQL, NUL) are plain map keys; no prototype pollution', async () => {
    summary.case();
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '../../../etc/passwd', "' OR '1'='1' --", 'a\u0000b', '${jndi:ldap://x}'];
    const ks = names.map((n) => makeKey(n));
    const polluted = JSON.parse('{"kty":"EC","crv":"P-256","__proto__":{"polluted":"yes","d":"SECRET"}}') as Jwk;
    serve([...ks.map((k) => k.jwk), { ...polluted, x: k1.jwk.x, y: k1.jwk.y, kid: 'proto-entry' }]);
    const { cache, verifier } = client();
    await cache.ready();
    assert.deepEqual(kids(cache), [...names, 'proto-entry']);
    for (const k of ks) assert.equal((await verifier.verify(await mint(k))).key.kid, k.kid);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    // the same names as unknown kids on a set without them are just unknown
    serve([k1.jwk]);
    const c2 = client();
    await c2.cache.ready();
    for (const k of ks.slice(0, 3)) await neverVerifies(c2.verifier, await mint(k), 'KID_NOT_FOUND');
    // a document whose `keys` only exists on its prototype is malformed
    idp.body = '{"__proto__":{"keys":[' + JSON.stringify(k1.jwk) + ']}}';
    const c3 = client();
    const err = await rejects503(c3.cache.ready(), 'KEYS_NOT_LOADED');
    assert.equal((err.cause as KeysUnavailableError).code, 'JWKS_MALFORMED');
    summary.hostile(false);
  });
});
