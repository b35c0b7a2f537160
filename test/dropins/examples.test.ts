/**
 * The migration examples (docs/migration.md) run as written: the IdP they name,
 * idp.example.com, is answered by nock (node:http is patched; no network), the express-jwt
 * example's app is served on 127.0.0.1.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import * as jose from 'jose';
import { makeKey, mint } from '../helpers/keys.js';

const key = makeKey('ex-1', 'RS256');
const ISS = 'https://idp.example.com/';
const AUD = 'api://orders';

before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1'));
  nock('https://idp.example.com').persist().get('/.well-known/jwks.json').reply(200, { keys: [key.jwk] });
});
after(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

test('migrate-jwks-rsa', async () => {
  const { publicKeyFor } = await import('../../examples/migrate-jwks-rsa.js');
  assert.equal(await publicKeyFor('ex-1'), (key.publicKey.export({ format: 'pem', type: 'spki' }) as string).trimEnd());
});

test('migrate-express-jwt', async () => {
  const { app } = await import('../../examples/migrate-express-jwt.js');
  app.get('/me', (_req, res) => void res.json({ ok: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/me`;
    const ok = await fetch(url, { headers: { authorization: `Bearer ${await mint(key, { iss: ISS, aud: AUD })}` } });
    assert.equal(ok.status, 200);
    const bad = await fetch(url, { headers: { authorization: `Bearer ${await mint(key, { iss: ISS, aud: 'api://other' })}` } });
    assert.equal(bad.status, 401);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('migrate-passport-jwt registers the strategy', async () => {
  const { passport } = await import('../../examples/migrate-passport-jwt.js');
  assert.ok((passport as unknown as { _strategy(name: string): unknown })._strategy('jwt'));
});

test('migrate-jose: jose errors for a malformed token, before any request', async () => {
  const { verify } = await import('../../examples/migrate-jose.js');
  await assert.rejects(verify("not-a-jwt"), jose.errors.JWSInvalid);
});

test('migrate-multi-issuer and discovery construct without any request', async () => {
  const { verifier } = await import('../../examples/migrate-multi-issuer.js');
  assert.equal(await verifier.verify(await mint(key, { iss: 'https://evil.test/' })).catch((e: { code: string }) => e.code), 'ISSUER_NOT_ALLOWED');
  const d = await import('../../examples/migrate-discovery.js');
  assert.equal(d.verifier.discovery.current(), undefined);
  await verifier.close();
  await d.verifier.close();
});
