/**
 * Discovery inside the cache (the source pipeline's leaf seam): `createVerifier({ issuer,
 * audience })` without jwksUri, the discovery request inside budgeted loads, a moved jwks_uri
 * picked up by the next load, failures reported with the cause's code, no timer after close().
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createJwksCache, createVerifier } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { makeKey, mint, AUD } from '../helpers/keys.js';

const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'ES256');
let server: Server;
let origin = '';
const hits = new Map<string, number>();
let doc: () => unknown = () => ({});
const sets: Record<string, unknown[]> = {};

before(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/.well-known/openid-configuration') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc()));
    const set = sets[path];
    if (set) return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: set }));
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

function reset(): void {
  hits.clear();
  sets['/jwks'] = [k1.jwk];
  sets['/jwks2'] = [k2.jwk];
  doc = () => ({ issuer: origin, jwks_uri: `${origin}/jwks` });
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; cause?: { code?: string } }) => `${e.code}${e.cause?.code ? `/${e.cause.code}` : ''}`);

test('createVerifier({ issuer, audience }) without jwksUri, over real sockets', async () => {
  reset();
  const v = createVerifier({ issuer: origin, audience: AUD });
  // a token for another issuer is refused before any request, discovery included
  assert.equal(await code(v.verify(await mint(k1, { iss: 'https://evil.test/' }))), 'ISSUER_NOT_ALLOWED');
  assert.equal(hits.size, 0);
  const r = await v.verify(await mint(k1, { iss: origin }));
  assert.equal(r.key.kid, 'k1');
  assert.equal(hits.get('/.well-known/openid-configuration'), 1);
  assert.equal(hits.get('/jwks'), 1);
  assert.equal(v.keys.jwksUri, `${origin}/.well-known/openid-configuration`);
  await v.close();
});

test('a moved jwks_uri is followed by the next load; the document is fetched inside budgeted loads only', async () => {
  // in-memory IdP so the ManualClock alone orders everything
  const clock = new ManualClock(Date.now());
  const ISS = 'https://idp.test';
  let jwksUri = 'https://idp.test/jwks';
  const requests: string[] = [];
  const fetch = async (url: string) => {
    requests.push(new URL(url).pathname);
    const path = new URL(url).pathname;
    if (path === '/.well-known/openid-configuration') return Response.json({ issuer: ISS, jwks_uri: jwksUri });
    if (path === '/jwks') return Response.json({ keys: [k1.jwk] });
    if (path === '/jwks2') return Response.json({ keys: [k1.jwk, k2.jwk] });
    return new Response('nope', { status: 404 });
  };
  const v = createVerifier({ issuer: ISS, audience: AUD, cacheOptions: { clock, scheduler: clock, fetch } });
  const at = () => Math.floor(clock.wallNow() / 1000);
  assert.equal(await code(v.verify(await mint(k1, { iss: ISS, nowSec: at() }))), 'ok');
  assert.deepEqual(requests, ['/.well-known/openid-configuration', '/jwks']);

  jwksUri = 'https://idp.test/jwks2';
  await clock.advance(2 * 3600_000); // past the document's 1 h freshness: scheduled loads refresh it
  assert.ok(requests.includes('/jwks2'), requests.join(' '));
  assert.equal(await code(v.verify(await mint(k2, { iss: ISS, nowSec: at() }))), 'ok');
  // discovery requests only accompany key-set loads: never more than them
  const docs = requests.filter((p) => p.startsWith('/.well-known')).length;
  assert.ok(docs <= requests.length - docs, requests.join(' '));

  await v.close();
  assert.equal(clock.pendingTimers, 0);
});

test('a discovery failure is keys-unavailable with the cause’s code; a token never picks the URL', async () => {
  reset();
  doc = () => ({ issuer: `${origin}/other`, jwks_uri: `${origin}/jwks` });
  const v = createVerifier({ issuer: origin, audience: AUD });
  assert.equal(await code(v.verify(await mint(k1, { iss: origin, header: { jku: `${origin}/jwks2` } }))), 'KEYS_NOT_LOADED/JWKS_MALFORMED');
  assert.equal(hits.get('/jwks') ?? 0, 0);
  assert.equal(hits.get('/jwks2') ?? 0, 0);
  await v.close();
});

test('cache options: exactly one of jwksUri or discovery; a templated issuer cannot be discovered', () => {
  assert.throws(() => createJwksCache({}), { code: 'CONFIG_INVALID' });
  assert.throws(() => createJwksCache({ jwksUri: `${origin}/jwks`, discovery: { issuer: origin } }), { code: 'CONFIG_INVALID' });
  assert.throws(() => createVerifier({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: 'any', audience: AUD }), { code: 'CONFIG_INVALID' });
});
