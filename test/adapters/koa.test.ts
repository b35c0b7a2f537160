/**
 * jwks-keeper/koa against real Koa 3 over real sockets: the matrix (with a tiny router by
 * path), stateKey, and passErrors into Koa's default error handling.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import { bearerAuth, requireScopes } from '../../src/adapters/koa.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';
import { adapterMatrix, json, listen } from './matrix.js';
import type { TargetConfig } from './matrix.js';

/** Mount a middleware chain on a path (koa-router is not a dependency). */
function route(path: string, ...chain: Middleware[]): Middleware {
  return async (ctx: Context, next: Next) => {
    if (ctx.path !== path) return next();
    let i = -1;
    const run = async (k: number): Promise<void> => {
      if (k <= i) throw new Error('next() called twice');
      i = k;
      const mw = chain[k];
      if (mw) await mw(ctx, () => run(k + 1));
    };
    await run(0);
  };
}

async function start(cfg: TargetConfig & { passErrors?: boolean; stateKey?: string }) {
  const app = new Koa();
  app.silent = true;
  const auth = bearerAuth({ ...cfg, algorithms: ['ES256'] });
  const key = cfg.stateKey ?? 'auth';
  app.use(route('/api/me', auth, (ctx) => void (ctx.body = ctx.state[key])));
  app.use(route('/api/admin', auth, requireScopes('admin'), (ctx) => void (ctx.body = ctx.state[key])));
  const t = await listen(createServer(app.callback()));
  return { url: t.url, close: async () => { await t.close(); await auth.close(); } };
}

adapterMatrix('koa bearerAuth', start);

test("stateKey, and passErrors: Koa's error handling answers status and headers, exposes 4xx messages only", async () => {
  const key = makeKey('k-koa');
  const idp = await new HttpIdp(new FakeIdp(key)).start();
  const downIdp = new FakeIdp(key);
  downIdp.mode = 'refuse';
  const down = await new HttpIdp(downIdp).start();
  const t = await start({ issuer: ISS, audience: AUD, jwksUri: idp.url, passErrors: true, stateKey: 'user' });
  const td = await start({ issuer: ISS, audience: AUD, jwksUri: down.url, passErrors: true });
  try {
    const ok = await fetch(`${t.url}/api/me`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.equal((await json(ok)).sub, 'user-1');
    const bad = await fetch(`${t.url}/api/me`, { headers: { authorization: `Bearer ${await mint(key, { aud: 'x' })}` } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
    await bad.body?.cancel();
    const scope = await fetch(`${t.url}/api/admin`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.equal(scope.status, 403);
    assert.match(scope.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    await scope.body?.cancel();
    const unavailable = await fetch(`${td.url}/api/me`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.equal(unavailable.status, 503);
    assert.ok(Number(unavailable.headers.get('retry-after')) >= 1);
    assert.equal(await unavailable.text(), 'Service Unavailable'); // expose is false for 503
  } finally {
    await t.close();
    await td.close();
    await idp.stop();
    await down.stop();
  }
});
