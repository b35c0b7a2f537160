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
