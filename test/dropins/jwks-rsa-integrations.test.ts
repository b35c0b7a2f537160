/**
 * The framework helpers of jwks-keeper/jwks-rsa inside the real frameworks, over real sockets
 * (express + express-jwt 8, express + passport-jwt, koa + koa-jwt, hapi + hapi-auth-jwt2),
 * each set up as jwks-rsa's examples do with only the import changed. Every case runs twice,
 * with the real jwks-rsa and with the drop-in, and the HTTP statuses must be equal; rotation
 * (a new kid published while running) must be picked up by the drop-in.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { expressjwt } from 'express-jwt';
import passport from 'passport';
import { Strategy as JwtStrategy, ExtractJwt } from 'passport-jwt';
import Koa from 'koa';
import koaJwt from 'koa-jwt';
import Hapi from '@hapi/hapi';
import * as hapiAuthJwt2 from 'hapi-auth-jwt2';
import realJwksRsa from 'jwks-rsa';
import * as dropIn from '../../src/dropins/jwks-rsa/index.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { makeKey, mint, AUD, ISS, type SigningKey } from '../helpers/keys.js';

type Lib = typeof dropIn | typeof realJwksRsa;
const k1 = makeKey('k1', 'RS256');
const k2 = makeKey('k2', 'RS256');
let idp: FakeIdp;
let jwks: HttpIdp;

before(async () => {
  idp = new FakeIdp(k1);
  jwks = await new HttpIdp(idp).start();
});
after(() => jwks.stop());

interface App {
  url: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) => () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });

const builders: Record<string, (lib: Lib) => Promise<App>> = {
  async 'express-jwt 8'(jwksRsa) {
    const app = express();
    app.use(
      expressjwt({
        secret: jwksRsa.expressJwtSecret({ cache: true, rateLimit: true, jwksRequestsPerMinute: 5, jwksUri: jwks.url }),
        audience: AUD,
        issuer: ISS,
        algorithms: ['RS256'],
      }),
    );
    app.get('/me', (req, res) => void res.json({ sub: (req as unknown as { auth: { sub: string } }).auth.sub }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: close(server) };
  },
  async 'passport-jwt'(jwksRsa) {
    const p = new passport.Passport();
    p.use(
      new JwtStrategy(
        {
          secretOrKeyProvider: jwksRsa.passportJwtSecret({ cache: true, rateLimit: true, jwksRequestsPerMinute: 5, jwksUri: jwks.url }),
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          audience: AUD,
          issuer: ISS,
          algorithms: ['RS256'],
        },
        (payload: { sub: string }, done: (err: unknown, user?: unknown) => void) => done(null, payload),
      ),
    );
    const app = express();
    app.use(p.initialize());
    app.get('/me', p.authenticate('jwt', { session: false }), (req, res) => void res.json({ sub: (req.user as { sub: string }).sub }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: close(server) };
  },
  async 'koa-jwt'(jwksRsa) {
    const app = new Koa();
    app.use(
      koaJwt({
        secret: jwksRsa.koaJwtSecret({ jwksUri: jwks.url, cache: true, cacheMaxEntries: 5, cacheMaxAge: 36000000 }),
        audience: AUD,
        issuer: ISS,
        algorithms: ['RS256'],
      }),
    );
    app.use((ctx) => {
      ctx.body = { sub: (ctx.state as { user: { sub: string } }).user.sub };
    });
    const server = app.listen(0, '127.0.0.1') as Server;
    await new Promise((r) => server.once('listening', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: close(server) };
  },
  async 'hapi-auth-jwt2'(jwksRsa) {
    const server = Hapi.server({ port: 0, host: '127.0.0.1' });
    await server.register(hapiAuthJwt2);
    server.auth.strategy('jwt', 'jwt', {
      complete: true,
      key: jwksRsa.hapiJwt2KeyAsync({ cache: true, rateLimit: true, jwksRequestsPerMinute: 5, jwksUri: jwks.url }),
      validate: async () => ({ isValid: true }),
      verifyOptions: { audience: AUD, issuer: ISS, algorithms: ['RS256'] },
    });
    server.auth.default('jwt');
    server.route({ method: 'GET', path: '/me', handler: (req) => ({ sub: (req.auth.credentials as { sub: string }).sub }) });
    await server.start();
    return { url: server.info.uri, close: () => server.stop() };
  },
};

const call = async (app: App, token: string | undefined) => {
  const res = await fetch(`${app.url}/me`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
};

const cases: { name: string; token: () => Promise<string | undefined>; setup?: () => void }[] = [
  { name: 'valid', token: () => mint(k1) },
  { name: 'expired', token: () => mint(k1, { expSec: -600 }) },
  { name: 'wrong audience', token: () => mint(k1, { aud: 'api://other' }) },
  { name: 'wrong issuer', token: () => mint(k1, { iss: 'https://evil.test/' }) },
  { name: 'unknown kid', token: () => mint(makeKey('ghost', 'RS256')) },
  { name: 'no token', token: async () => undefined },
  { name: 'malformed token', token: async () => 'not.a.jwt' },
  { name: 'IdP down at first use', token: () => mint(k1), setup: () => { idp.mode = '503'; } },
];

for (const [framework, build] of Object.entries(builders)) {
  describe(framework, () => {
    for (const c of cases) {
      test(`${c.name}: same status as jwks-rsa`, async () => {
        const statuses: number[] = [];
        for (const lib of [realJwksRsa, dropIn] as Lib[]) {
          idp.publish(k1);
          idp.mode = 'ok';
          c.setup?.();
          const app = await build(lib);
          try {
            statuses.push(await call(app, await c.token()));
          } finally {
            await app.close();
          }
        }
        idp.mode = 'ok';
        assert.equal(statuses[1], statuses[0], `jwks-rsa ${statuses[0]}, drop-in ${statuses[1]}`);
        if (c.name === 'valid') assert.equal(statuses[1], 200);
      });
    }

    test('rotation: a newly published kid verifies without a restart', async () => {
      idp.publish(k1);
      idp.mode = 'ok';
      const app = await build(dropIn);
      try {
        assert.equal(await call(app, await mint(k1)), 200);
        idp.publish(k1, k2);
        assert.equal(await call(app, await mint(k2 as SigningKey)), 200);
        idp.publish(k2);
        assert.equal(await call(app, await mint(k2)), 200);
      } finally {
        await app.close();
      }
    });
  });
}
