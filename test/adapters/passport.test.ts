/**
 * jwks-keeper/passport with real passport 0.7 and Express 5 over real sockets: the matrix
 * (passport answers a failure's 400 without a challenge, and its own text bodies), the 503
 * through next(err), the user mapper.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import express from 'express';
import passport from 'passport';
import { BearerStrategy } from '../../src/adapters/passport.js';
import { requireScopes } from '../../src/adapters/express.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';
import { adapterMatrix, json, listen } from './matrix.js';
import type { TargetConfig } from './matrix.js';

let n = 0;

adapterMatrix(
  'passport BearerStrategy',
  async (cfg: TargetConfig) => {
    const name = `jk-${++n}`;
    const strategy = new BearerStrategy({ ...cfg, name, algorithms: ['ES256'] });
    const authenticator = new passport.Passport();
    authenticator.use(strategy);
    const app = express();
    app.use(authenticator.initialize());
    const auth = authenticator.authenticate(name, { session: false });
    app.get('/api/me', auth, (req, res) => void res.json(req.user));
    app.get('/api/admin', auth, requireScopes('admin'), (req, res) => void res.json(req.user));
    const t = await listen(createServer(app));
    return { url: t.url, close: async () => { await t.close(); await strategy.close(); } };
  },
  { challengeOn400: false, jsonBody: false },
);

test('the user mapper shapes req.user; a falsy result is a 401', async () => {
  const key = makeKey('p1');
  const idp = await new HttpIdp(new FakeIdp(key)).start();
  const strategy = new BearerStrategy({ issuer: ISS, audience: AUD, jwksUri: idp.url }, (payload) => (payload.sub === 'blocked' ? false : { id: payload.sub }));
  assert.equal(strategy.name, 'jwks-keeper');
  const authenticator = new passport.Passport();
  authenticator.use(strategy);
  const app = express();
  app.get('/me', authenticator.authenticate('jwks-keeper', { session: false }), (req, res) => void res.json(req.user));
  const t = await listen(createServer(app));
  try {
    const ok = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${await mint(key)}` } });
    assert.deepEqual(await json(ok), { id: 'user-1' });
    const refused = await fetch(`${t.url}/me`, { headers: { authorization: `Bearer ${await mint(key, { claims: { sub: 'blocked' } })}` } });
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    await refused.body?.cancel();
  } finally {
    await t.close();
    await strategy.close();
    await idp.stop();
  }
});
