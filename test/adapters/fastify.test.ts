/**
 * jwks-keeper/fastify against real Fastify 5 over real sockets: the matrix, passErrors into
 * Fastify's default error handler, the verifier closed in onClose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { jwksKeeper } from '../../src/adapters/fastify.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';
import { adapterMatrix } from './matrix.js';
import type { TargetConfig } from './matrix.js';

async function start(cfg: TargetConfig & { passErrors?: boolean }) {
  const app = Fastify();
  await app.register(jwksKeeper, { ...cfg, algorithms: ['ES256'] });
  app.get('/api/me', { onRequest: app.authenticate }, async (req) => req.auth);
  app.get('/api/admin', { onRequest: [app.authenticate, app.requireScopes('admin')] }, async (req) => req.auth);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, close: () => app.close() };
}

adapterMatrix('fastify plugin', start);

test("passErrors: Fastify's default error handler answers the errors' statusCode and headers", async () => {
  const key = makeKey('f1');
  const idp = await new HttpIdp(new FakeIdp(key)).start();
  const downIdp = new FakeIdp(key);
  downIdp.mode = 'refuse';
  const down = await new HttpIdp(downIdp).start();
  const t = await start({ issuer: ISS, audience: AUD, jwksUri: idp.url, passErrors: true });
  const td = await start({ issuer: ISS, audience: AUD, jwksUri: down.url, passErrors: true });
  try {
    const bad = await fetch(`${t.url}/api/me`, { headers: { authorization: `Bearer ${await mint(key, { aud: 'x' })}` } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    assert.equal(((await bad.json()) as { code: string }).code, 'CLAIM_INVALID');
    const malformed = await fetch(`${t.url}/api/me`, { headers: { authorization: 'Bearer a b' } });
    assert.equal(malformed.status, 400);
    await malformed.body?.cancel();
    const unavailable = await fetch(`${td.url}/api/me`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.equal(unavailable.status, 503);
    assert.ok(Number(unavailable.headers.get('retry-after')) >= 1);
    await unavailable.body?.cancel();
  } finally {
    await t.close();
    await td.close();
    await idp.stop();
    await down.stop();
  }
});

test('the verifier the plugin created is closed with the app', async () => {
  const key = makeKey('f2');
  const idp = await new HttpIdp(new FakeIdp(key)).start();
  const t = await start({ issuer: ISS, audience: AUD, jwksUri: idp.url });
  const verifier = t.app.jwksVerifier;
  assert.equal((await verifier.verify(await mint(key))).payload.sub, 'user-1');
  await t.close();
  assert.deepEqual(verifier.keys.health().reasons, ['closed']);
  await idp.stop();
});

test("without the plugin, verify's errors reach Fastify's default handler as 401/503 with their headers, not 500", async () => {
  const { createVerifier } = await import('../../src/verify/verifier.js');
  const key = makeKey('f3');
  const idp = await new HttpIdp(new FakeIdp(key)).start();
  const downIdp = new FakeIdp(key);
  downIdp.mode = '503';
  downIdp.retryAfter = '30';
  const down = await new HttpIdp(downIdp).start();
  const up = createVerifier({ issuer: ISS, audience: AUD, jwksUri: idp.url });
  const gone = createVerifier({ issuer: ISS, audience: AUD, jwksUri: down.url });
  const app = Fastify();
  app.get('/up', async (req) => (await up.verify(String(req.headers['x-token']))).payload);
  app.get('/down', async (req) => (await gone.verify(String(req.headers['x-token']))).payload);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const bad = await fetch(`${url}/up`, { headers: { 'x-token': await mint(key, { iss: 'https://other.test/' }) } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Bearer error="invalid_token", error_description="issuer not allowed"'); // pre-gated before any key lookup
    assert.equal(((await bad.json()) as { code: string }).code, 'ISSUER_NOT_ALLOWED');
    const unavailable = await fetch(`${url}/down`, { headers: { 'x-token': await mint(key) } });
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.headers.get('retry-after'), '30'); // the IdP's Retry-After, passed on
    await unavailable.body?.cancel();
  } finally {
    await app.close();
    await up.close();
    await gone.close();
    await idp.stop();
    await down.stop();
  }
});
