/**
 * The multi-issuer router: routing by the unverified `iss` among configured issuers only,
 * unknown issuers rejected before any lookup (zero requests to any IdP), one cache and one
 * unknown-kid budget per JWKS URL, Entra `{tenantid}` templates.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createMultiIssuerVerifier } from '../../src/multi/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { makeKey, mint, signRaw, AUD } from '../helpers/keys.js';

const ISS_A = 'https://a.idp.test/';
const ISS_B = 'https://b.idp.test/';
const ENTRA = 'https://login.microsoftonline.com/{tenantid}/v2.0';
const T1 = '11111111-1111-1111-1111-111111111111';
const T2 = '22222222-2222-2222-2222-222222222222';
const ka = makeKey('ka', 'ES256');
const kb = makeKey('kb', 'ES256');
const ke = makeKey('ke', 'ES256');
let A: HttpIdp;
let B: HttpIdp;
let E: HttpIdp;

before(async () => {
  A = await new HttpIdp(new FakeIdp(ka)).start();
  B = await new HttpIdp(new FakeIdp(kb)).start();
  E = await new HttpIdp(new FakeIdp(ke)).start();
});
after(async () => {
  await A.stop();
  await B.stop();
  await E.stop();
});

const requests = () => A.idp.requests + B.idp.requests + E.idp.requests;

function router() {
  return createMultiIssuerVerifier({
    issuers: [
      { issuer: ISS_A, audience: AUD, jwksUri: A.url },
      { issuer: ISS_B, audience: AUD, jwksUri: B.url },
      { issuer: ENTRA, tenants: [T1], audience: AUD, jwksUri: E.url },
    ],
  });
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

describe('routing', () => {
  test('each issuer verifies with its own keys; the result names the configured issuer', async () => {
    const v = router();
    const a = await v.verify(await mint(ka, { iss: ISS_A }));
    const b = await v.verify(await mint(kb, { iss: ISS_B }));
    const e = await v.verify(await mint(ke, { iss: `https://login.microsoftonline.com/${T1}/v2.0`, claims: { tid: T1 } }));
    assert.deepEqual([a.issuer, b.issuer, e.issuer], [ISS_A, ISS_B, ENTRA]);
    assert.equal(a.payload.iss, ISS_A);
    await v.close();
  });

  test('an unknown iss is rejected before any lookup: zero requests to any IdP', async () => {
    const v = router();
    const before = requests();
    const now = Math.floor(Date.now() / 1000);
    const tokens = [
      await mint(ka, { iss: 'https://evil.test/' }),
      await mint(ka, { iss: 'https://a.idp.test' }), // no trailing slash: not the configured issuer
      await mint(ka, { iss: 'https://a.idp.test/.evil' }),
      signRaw(ka, {}, { aud: AUD, exp: now + 60 }), // no iss
      signRaw(ka, {}, { iss: 42, aud: AUD, exp: now + 60 }),
      await mint(ke, { iss: 'https://login.microsoftonline.com/a/b/v2.0', claims: { tid: 'a/b' } }),
      await mint(ke, { iss: 'https://login.microsoftonline.com//v2.0' }),
    ];
    for (const t of tokens) assert.equal(await code(v.verify(t)), 'ISSUER_NOT_ALLOWED');
    assert.equal(requests() - before, 0);
    for (const c of v.caches.values()) assert.equal(c.stats().fetches, 0);
    await v.close();
  });

  test('a token claiming issuer A never reaches B’s key set', async () => {
    const v = router();
    const before = B.idp.requests;
    assert.equal(await code(v.verify(await mint(kb, { iss: ISS_A }))), 'KID_NOT_FOUND');
    assert.equal(B.idp.requests - before, 0);
    await v.close();
  });

  test('a templated issuer: allowed tenant ok, other tenant refused by its verifier, iss/tid mismatch refused', async () => {
    const v = router();
    const iss = (t: string) => `https://login.microsoftonline.com/${t}/v2.0`;
    assert.equal(await code(v.verify(await mint(ke, { iss: iss(T1), claims: { tid: T1 } }))), 'ok');
    assert.equal(await code(v.verify(await mint(ke, { iss: iss(T2), claims: { tid: T2 } }))), 'ISSUER_NOT_ALLOWED');
    assert.equal(await code(v.verify(await mint(ke, { iss: iss(T1), claims: { tid: T2 } }))), 'ISSUER_NOT_ALLOWED');
    await v.close();
  });

  test('malformed and oversized tokens', async () => {
    const v = router();
    assert.equal(await code(v.verify('a.b')), 'TOKEN_MALFORMED');
    assert.equal(await code(v.verify('x'.repeat(20_000))), 'TOKEN_TOO_LARGE');
    assert.equal(await code(v.verify(42 as unknown as string)), 'TOKEN_MALFORMED');
    await v.close();
  });

  test('configuration errors', () => {
    const dup = () => createMultiIssuerVerifier({ issuers: [{ issuer: ISS_A, audience: AUD, jwksUri: A.url }, { issuer: ISS_A, audience: AUD, jwksUri: B.url }] });
    assert.throws(dup, { code: 'CONFIG_INVALID' });
    assert.throws(() => createMultiIssuerVerifier({ issuers: [] }), { code: 'CONFIG_INVALID' });
    assert.throws(() => createMultiIssuerVerifier({ issuers: [{ issuer: ISS_A, audience: AUD, jwksUri: A.url, keys: {} as never }] }), { code: 'CONFIG_INVALID' });
    // a template cannot be discovered
    assert.throws(() => createMultiIssuerVerifier({ issuers: [{ issuer: ENTRA, tenants: 'any', audience: AUD }] }), { code: 'CONFIG_INVALID' });
  });
});

describe('one cache and one budget per JWKS URL', () => {
  test('issuers sharing a JWKS URL share one cache', async () => {
    const v = createMultiIssuerVerifier({
      issuers: [
        { issuer: ISS_A, audience: AUD, jwksUri: A.url },
        { issuer: 'https://a-alias.idp.test/', audience: AUD, jwksUri: A.url.replace('http://', 'HTTP://') }, // the same URL once normalised
        { issuer: ISS_B, audience: AUD, jwksUri: B.url },
      ],
    });
    assert.equal(v.caches.size, 2);
    const before = A.idp.requests;
    await v.verify(await mint(ka, { iss: ISS_A }));
    await v.verify(await mint(ka, { iss: 'https://a-alias.idp.test/' }));
    assert.equal(A.idp.requests - before, 1);
    await v.close();
  });

  test('an unknown-kid flood split across two issuers of one key set spends one budget', async () => {
    const clock = new ManualClock(Date.now());
    const v = createMultiIssuerVerifier({
      issuers: [
        { issuer: ISS_A, audience: AUD, jwksUri: A.url },
        { issuer: 'https://a-alias.idp.test/', audience: AUD, jwksUri: A.url },
      ],
      cacheOptions: { clock, scheduler: clock },
    });
    await v.verify(await mint(ka, { iss: ISS_A }));
    const before = A.idp.requests;
    const now = Math.floor(Date.now() / 1000);
    const flood = Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        code(v.verify(signRaw(ka, { alg: 'ES256', kid: `r${i}` }, { iss: i % 2 ? ISS_A : 'https://a-alias.idp.test/', aud: AUD, exp: now + 600, iat: now }))),
      ),
    );
    for (let i = 0; i < 30; i++) await clock.advance(1000);
    const codes = await flood;
    assert.ok(codes.every((c) => c !== 'ok'));
    // one budget: burst 2 + one per 10 s over 30 s ≤ 5 requests (two budgets would allow up to 10)
    assert.ok(A.idp.requests - before <= 5, `requests: ${A.idp.requests - before}`);
    await v.close();
  });

  test('ready() loads every key set', async () => {
    const v = router();
    await v.ready();
    for (const c of v.caches.values()) assert.equal(c.health().state, 'healthy');
    await v.close();
  });
});

describe('with discovery', () => {
  test('issuers without jwksUri are discovered; a shared discovered jwks_uri shares one cache; unknown iss costs nothing', async () => {
    const { createServer } = await import('node:http');
    const hits: string[] = [];
    let origin = '';
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      const m = /^\/(t1|t2)\/\.well-known\/openid-configuration$/.exec(req.url ?? '');
      if (m) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: `${origin}/${m[1]}`, jwks_uri: A.url }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    try {
      const v = createMultiIssuerVerifier({ issuers: [{ issuer: `${origin}/t1`, audience: AUD }, { issuer: `${origin}/t2`, audience: AUD }] });
      const beforeA = A.idp.requests;
      assert.equal(await code(v.verify(await mint(ka, { iss: `${origin}/t3` }))), 'ISSUER_NOT_ALLOWED');
      assert.deepEqual(hits, []);
      assert.equal((await v.verify(await mint(ka, { iss: `${origin}/t1` }))).issuer, `${origin}/t1`);
      assert.equal((await v.verify(await mint(ka, { iss: `${origin}/t2` }))).issuer, `${origin}/t2`);
      assert.deepEqual(hits.sort(), ['/t1/.well-known/openid-configuration', '/t2/.well-known/openid-configuration']);
      assert.equal(v.caches.size, 1);
      assert.equal(A.idp.requests - beforeA, 1);
      await v.close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
