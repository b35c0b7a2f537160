/**
 * The migration examples from express-oauth2-jwt-bearer and @fastify/jwt (docs/migration.md,
 * README "Migrating") run as written against an IdP on 127.0.0.1 that serves discovery and a
 * key set: the issuer alone is configured, as with those libraries.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeKey, mint } from '../helpers/keys.js';

const key = makeKey('mig-1', 'RS256');
const AUD = 'api://orders';
let idp: Server;
let issuer = '';

before(async () => {
  idp = createServer((req, res) => {
    const json = (body: unknown) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') return json({ issuer, jwks_uri: `${issuer}jwks` });
    if (req.url === '/jwks') return json({ keys: [key.jwk] });
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/`;
  process.env.ISSUER = issuer; // read by the examples at import
});
after(async () => {
  delete process.env.ISSUER;
  idp.closeAllConnections();
  await new Promise((r) => idp.close(r));
});

async function statuses(base: string): Promise<number[]> {
  const call = async (token?: string) => (await fetch(`${base}/orders`, token ? { headers: { authorization: `Bearer ${token}` } } : {})).status;
  return [
    await call(await mint(key, { iss: issuer, aud: AUD, claims: { sub: 'u1', scope: 'read:orders' } })),
    await call(await mint(key, { iss: issuer, aud: AUD, claims: { sub: 'u1', scope: 'other' } })),
    await call(await mint(key, { iss: issuer, aud: 'api://else', claims: { sub: 'u1', scope: 'read:orders' } })),
    await call(),
  ];
}

test('migrate-express-oauth2-jwt-bearer: issuer only (discovery), scopes, 401 without a token', async () => {
  const { app, checkJwt } = await import('../../examples/migrate-express-oauth2-jwt-bearer.js');
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    assert.deepEqual(await statuses(`http://127.0.0.1:${(server.address() as AddressInfo).port}`), [200, 403, 401, 401]);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await checkJwt.close();
  }
});

test('migrate-fastify-jwt: issuer only (discovery), request.auth, 401 without a token', async () => {
  const { app } = await import('../../examples/migrate-fastify-jwt.js');
  app.get('/scoped', { onRequest: [app.authenticate, app.requireScopes('read:orders')] }, async () => 'ok');
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const [ok, , wrongAud, none] = await statuses(address);
    assert.deepEqual([ok, wrongAud, none], [200, 401, 401]);
    const body = await (await fetch(`${address}/orders`, { headers: { authorization: `Bearer ${await mint(key, { iss: issuer, aud: AUD, claims: { sub: 'u7' } })}` } })).json();
    assert.deepEqual(body, { sub: 'u7' });
  } finally {
    await app.close();
  }
});
