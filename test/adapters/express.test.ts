/**
 * jwks-keeper/express against real Express 5 over real sockets: the matrix, plus the options
 * (property, realm, cookie, getToken, passErrors into the app's error handler and into
 * Express's default handler).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import express from 'express';
import type { NextFunction, Request, Response } from 'express';
import { bearerAuth, readinessHandler, requireScopes } from '../../src/adapters/express.js';
import { BearerRequestError, KeysUnavailableError, TokenInvalidError } from '../../src/errors.js';
import { createVerifier } from '../../src/verify/verifier.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';
import { adapterMatrix, json, listen } from './matrix.js';
import type { TargetConfig } from './matrix.js';

adapterMatrix('express bearerAuth', async (cfg: TargetConfig) => {
  const app = express();
  const auth = bearerAuth({ ...cfg, algorithms: ['ES256'] });
  app.get('/api/me', auth, (req, res) => {
    res.json(req.auth);
  });
  app.get('/api/admin', auth, requireScopes('admin'), (req, res) => {
    res.json(req.auth);
  });
  const t = await listen(createServer(app));
  return { url: t.url, close: async () => { await t.close(); await auth.close(); } };
});

// ------------------------------------------------------------------ options

const key = makeKey('opt');
const idp = new FakeIdp(key);
const httpIdp = await new HttpIdp(idp).start();
const verifier = createVerifier({ issuer: ISS, audience: AUD, jwksUri: httpIdp.url, algorithms: ['ES256'] });
after(async () => {
  await verifier.close();
  await httpIdp.stop();
});

async function serve(build: (app: express.Express) => void) {
  const app = express();
  build(app);
  return listen(createServer(app));
}

test('property, realm, cookie and a given verifier (not closed by the middleware)', async () => {
  const auth = bearerAuth({ verifier, property: 'user', realm: 'orders', cookie: 'session' });
  assert.equal(auth.verifier, verifier);
  const t = await serve((app) => {
    app.get('/me', auth, (req, res) => {
      res.json({ user: (req as unknown as { user: unknown }).user, auth: req.auth ?? null });
    });
    app.get('/admin', auth, requireScopes('admin'), (_req, res) => {
      res.end('ok');
    });
  });
  try {
    const token = await mint(key);
    const viaCookie = await fetch(`${t.url}/me`, { headers: { cookie: `a=b; session=${token}` } });
    assert.equal(viaCookie.status, 200);
    const body = await json(viaCookie);
    assert.equal(body.user?.sub, 'user-1');
    assert.equal(body.auth, null);
    const none = await fetch(`${t.url}/me`);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="orders"');
    await none.body?.cancel();
    // requireScopes reads the property and realm of the bearerAuth that ran
    const noScope = await fetch(`${t.url}/admin`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(noScope.status, 403);
    assert.match(noScope.headers.get('www-authenticate') ?? '', /^Bearer realm="orders", error="insufficient_scope"/);
    await noScope.body?.cancel();
    await auth.close();
    assert.equal((await verifier.verify(token)).payload.sub, 'user-1'); // still open
  } finally {
    await t.close();
  }
});

test('getToken replaces header extraction; an empty result is "no token"', async () => {
  const auth = bearerAuth({ verifier, getToken: (req) => req.get('x-token') });
  const t = await serve((app) => app.get('/me', auth, (req, res) => void res.json(req.auth)));
  try {
    const ok = await fetch(`${t.url}/me`, { headers: { 'x-token': await mint(key) } });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const ignored = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.equal(ignored.status, 401);
    await ignored.body?.cancel();
  } finally {
    await t.close();
  }
});

test('passErrors hands typed errors to the app error handler', async () => {
  const seen: unknown[] = [];
  const auth = bearerAuth({ verifier, passErrors: true });
  const t = await serve((app) => {
    app.get('/me', auth, (req, res) => void res.json(req.auth));
    app.get('/admin', auth, requireScopes('admin'), (_req, res) => void res.end('ok'));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      seen.push(err);
      res.status(418).end();
    });
  });
  try {
    for (const [path, authorization] of [
      ['/me', undefined],
      ['/me', 'Bearer x y'],
      ['/me', `Bearer ${await mint(key, { aud: 'nope' })}`],
      ['/admin', `Bearer ${await mint(key)}`],
    ] as const) {
      const res = await fetch(`${t.url}${path}`, { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 418);
      await res.body?.cancel();
    }
    assert.deepEqual(seen.map((e) => (e as { code: string }).code), ['TOKEN_MISSING', 'AUTHORIZATION_MALFORMED', 'CLAIM_INVALID', 'INSUFFICIENT_SCOPE']);
    assert.ok(seen[0] instanceof BearerRequestError && seen[2] instanceof TokenInvalidError);
  } finally {
    await t.close();
  }
});

test("passErrors without an error handler: Express's default handler answers the errors' status and headers", async () => {
  const downIdp = new FakeIdp(key);
  downIdp.mode = 'refuse';
  const down = await new HttpIdp(downIdp).start();
  const auth = bearerAuth({ verifier, passErrors: true });
  const authDown = bearerAuth({ issuer: ISS, audience: AUD, jwksUri: down.url, passErrors: true });
  const t = await serve((app) => {
    app.get('/me', auth, (req, res) => void res.json(req.auth));
    app.get('/down', authDown, (req, res) => void res.json(req.auth));
  });
  try {
    const bad = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${await mint(key, { aud: 'nope' })}` } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    await bad.body?.cancel();
    const unavailable = await fetch(`${t.url}/down`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.equal(unavailable.status, 503);
    assert.ok(Number(unavailable.headers.get('retry-after')) >= 1);
    await unavailable.body?.cancel();
  } finally {
    await t.close();
    await authDown.close();
    await down.stop();
  }
});

test('readinessHandler: 503 until the keys load, then 200; the probe itself starts the load', async () => {
  const fresh = new FakeIdp(key);
  const h = await new HttpIdp(fresh).start();
  const auth = bearerAuth({ issuer: ISS, audience: AUD, jwksUri: h.url });
  const t = await serve((app) => app.get('/readyz', readinessHandler(auth)));
  try {
    const first = await fetch(`${t.url}/readyz`);
    assert.equal(first.status, 503);
    assert.deepEqual((await json(first)).reasons, ['not-loaded']);
    await auth.verifier.keys.ready();
    assert.equal(fresh.requests, 1);
    const second = await fetch(`${t.url}/readyz`);
    assert.equal(second.status, 200);
    assert.equal((await json(second)).state, 'healthy');
  } finally {
    await t.close();
    await auth.close();
    await h.stop();
  }
});

test('bad options are ConfigErrors at construction', () => {
  assert.throws(() => bearerAuth({ verifier, header: '' }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bearerAuth({ verifier, cookie: '' }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bearerAuth({ issuer: ISS }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bearerAuth({ verifier, issuer: ISS, audience: AUD }), { code: 'CONFIG_INVALID' });
  assert.throws(() => bearerAuth({ verifier, getToken: 'x' as unknown as () => string }), { code: 'CONFIG_INVALID' });
  assert.throws(() => requireScopes(), { code: 'CONFIG_INVALID' });
  assert.throws(() => requireScopes('a b'), { code: 'CONFIG_INVALID' });
  assert.ok(new KeysUnavailableError('CLOSED', 'x'));
});

test("without an adapter, verify's errors reach Express's default handler as 401/503 with their headers, not 500", async () => {
  const downIdp = new FakeIdp(key);
  downIdp.mode = 'refuse';
  const down = await new HttpIdp(downIdp).start();
  const verifierDown = createVerifier({ issuer: ISS, audience: AUD, jwksUri: down.url });
  const t = await serve((app) => {
    // Express 5 hands a rejected handler promise to next(err)
    app.get('/up', async (req, res) => void res.json((await verifier.verify(req.get('x-token') ?? '')).payload));
    app.get('/down', async (req, res) => void res.json((await verifierDown.verify(req.get('x-token') ?? '')).payload));
  });
  try {
    const expired = await fetch(`${t.url}/up`, { headers: { 'x-token': await mint(key, { nowSec: Math.floor(Date.now() / 1000) - 7200 }) } });
    assert.equal(expired.status, 401);
    assert.equal(expired.headers.get('www-authenticate'), 'Bearer error="invalid_token", error_description="token expired"');
    await expired.body?.cancel();
    const unavailable = await fetch(`${t.url}/down`, { headers: { 'x-token': await mint(key) } });
    assert.equal(unavailable.status, 503);
    assert.ok(Number(unavailable.headers.get('retry-after')) >= 1);
    await unavailable.body?.cancel();
  } finally {
    await t.close();
    await verifierDown.close();
    await down.stop();
  }
});
