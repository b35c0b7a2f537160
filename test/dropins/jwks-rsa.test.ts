/**
 * jwks-keeper/jwks-rsa: jwks-rsa's README and EXAMPLES.md usage as written with only the import
 * changed (endpoint mocked by nock 13, which patches node:http(s)), the request shape, and a
 * differential against the real jwks-rsa over the same endpoint: same key material, same
 * error names and messages (the messages are part of jwks-rsa's API, so they are asserted).
 */
import { test, before, after, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Agent, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import nock from 'nock';
import realJwksRsa from 'jwks-rsa';
import jwksClient, { JwksClient, SigningKeyNotFoundError, JwksError, JwksRateLimitError, ArgumentError } from '../../src/dropins/jwks-rsa/index.js';
import { mapJwksRsaOptions } from '../../src/dropins/jwks-rsa/client.js';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { makeKey } from '../helpers/keys.js';

const KID = 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg';
const readme = makeKey(KID, 'RS256');
/** jwks-rsa's PEM: SPKI without a trailing newline. */
const pem = (k: { publicKey: import('node:crypto').KeyObject }) => (k.publicKey.export({ format: 'pem', type: 'spki' }) as string).trimEnd();

before(() => {
  nock.disableNetConnect();
  nock.enableNetConnect((host) => host.startsWith('127.0.0.1'));
});
after(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});
afterEach(() => nock.cleanAll());

describe('README and EXAMPLES.md, only the import changed, endpoint mocked by nock', () => {
  test('Configure the client + Retrieve a key', async () => {
    const scope = nock('https://sandrino.auth0.com').get('/.well-known/jwks.json').reply(200, { keys: [readme.jwk] });

    const client = jwksClient({
      jwksUri: 'https://sandrino.auth0.com/.well-known/jwks.json',
      requestHeaders: {}, // Optional
      timeout: 30000, // Defaults to 30s
    });

    const kid = 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg';
    const key = await client.getSigningKey(kid);
    const signingKey = key.getPublicKey();

    assert.equal(signingKey, pem(readme));
    assert.ok(scope.isDone());
    await client.close();
  });

  test('Caching: one request for repeated lookups', async () => {
    const scope = nock('https://sandrino.auth0.com').get('/.well-known/jwks.json').once().reply(200, { keys: [readme.jwk] });
    const client = jwksClient({
      cache: true, // Default Value
      cacheMaxEntries: 5, // Default value
      cacheMaxAge: 600000, // Defaults to 10m
      jwksUri: 'https://sandrino.auth0.com/.well-known/jwks.json',
    });
    const kid = 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg';
    const key = await client.getSigningKey(kid);
    const signingKey = key.getPublicKey();
    assert.equal(signingKey, pem(readme));
    assert.equal((await client.getSigningKey(kid)).getPublicKey(), signingKey);
    assert.ok(scope.isDone()); // a second request would have failed: nock has no more interceptors
    await client.close();
  });

  test('Graceful degradation: cacheMaxAgeFallback', async () => {
    nock('https://sandrino.auth0.com').get('/.well-known/jwks.json').reply(200, { keys: [readme.jwk] });
    const client = jwksClient({
      cache: true,
      cacheMaxAge: 600000, // 10 minutes — normal freshness TTL
      cacheMaxAgeFallback: 3600000, // 1 hour — serve stale key if JWKS endpoint is unreachable
      jwksUri: 'https://sandrino.auth0.com/.well-known/jwks.json',
    });
    const kid = 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg';
    const key = await client.getSigningKey(kid);
    const signingKey = key.getPublicKey();
    assert.equal(signingKey, pem(readme));
    assert.equal(mapJwksRsaOptions(client.options).maxStaleMs, 3600000);
    await client.close();
  });

  test('Rate limiting', async () => {
    nock('https://sandrino.auth0.com').get('/.well-known/jwks.json').reply(200, { keys: [readme.jwk] });
    const client = jwksClient({
      rateLimit: true,
      jwksRequestsPerMinute: 10, // Default value
      jwksUri: 'https://sandrino.auth0.com/.well-known/jwks.json',
    });
    const kid = 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg';
    const key = await client.getSigningKey(kid);
    const signingKey = key.getPublicKey();
    assert.equal(signingKey, pem(readme));
    await client.close();
  });

  test('callback form and the class form', async () => {
    // two answers: an unknown kid refetches (as with jwks-rsa, within our budget)
    const scope = nock('https://sandrino.auth0.com').get('/.well-known/jwks.json').times(2).reply(200, { keys: [readme.jwk] });
    const client = new JwksClient({ jwksUri: 'https://sandrino.auth0.com/.well-known/jwks.json' });
    const key = await new Promise<import('../../src/dropins/jwks-rsa/index.js').SigningKey>((resolve, reject) =>
      client.getSigningKey(KID, (err, k) => (err ? reject(err) : resolve(k!))),
    );
    assert.equal(key.kid, KID);
    assert.equal(key.alg, 'RS256');
    assert.equal('rsaPublicKey' in key && key.rsaPublicKey, pem(readme));
    assert.equal('publicKey' in key && key.publicKey, pem(readme));
    const err = await new Promise<Error | null>((resolve) => client.getSigningKey('nope', (e) => resolve(e)));
    assert.ok(err instanceof SigningKeyNotFoundError);
    assert.equal(err.message, "Unable to find a signing key that matches 'nope'");
    assert.ok(scope.isDone());
    await client.close();
  });

  test('getKeysInterceptor: local keys first, endpoint for the rest', async () => {
    const other = makeKey('remote', 'ES256');
    const scope = nock('https://my-enterprise-id-provider').get('/.well-known/jwks.json').reply(200, { keys: [other.jwk] });
    const client = new JwksClient({
      jwksUri: 'https://my-enterprise-id-provider/.well-known/jwks.json',
      getKeysInterceptor: () => [readme.jwk as { kid: string; alg: string }],
    });
    assert.equal((await client.getSigningKey(KID)).getPublicKey(), pem(readme));
    assert.equal(scope.isDone(), false); // not needed yet
    assert.equal((await client.getSigningKey('remote')).getPublicKey(), pem(other));
    assert.ok(scope.isDone());
    await client.close();
  });

  test('plain http: URLs are accepted and warned about once', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => void (w.code === 'JWKS_KEEPER_INSECURE_HTTP' && warnings.push(w.message));
    process.on('warning', onWarning);
    nock('http://my-authz-server').get('/.well-known/jwks.json').times(2).reply(200, { keys: [readme.jwk] });
    const a = jwksClient({ jwksUri: 'http://my-authz-server/.well-known/jwks.json' });
    const b = jwksClient({ jwksUri: 'http://my-authz-server/.well-known/jwks.json' });
    assert.equal((await a.getSigningKey(KID)).kid, KID);
    assert.equal((await b.getSigningKey(KID)).kid, KID);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.equal(warnings.length, 1);
    await a.close();
    await b.close();
  });

  test('require() returns the callable, like require("jwks-rsa")', () => {
    const require = createRequire(import.meta.url);
    const mod = require('../../src/dropins/jwks-rsa/index.ts') as typeof jwksClient;
    assert.equal(typeof mod, 'function');
    assert.equal(typeof mod.expressJwtSecret, 'function');
    assert.ok(mod({ jwksUri: 'https://idp.test/jwks' }) instanceof mod.JwksClient);
  });
});

describe('request shape', () => {
  let seen: { method: string | undefined; url: string | undefined; headers: IncomingHttpHeaders }[] = [];
  let base = '';
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [readme.jwk] }));
  });
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('same method, path and header names as jwks-rsa, user headers only; requestAgent used', async () => {
    const agent = new Agent({ keepAlive: false });
    let agentUsed = 0;
    const create = agent.createConnection.bind(agent);
    agent.createConnection = ((...args: Parameters<typeof create>) => {
      agentUsed++;
      return create(...args);
    }) as typeof agent.createConnection;
    const opts = { jwksUri: `${base}/jwks?x=1`, requestHeaders: { 'User-Agent': 'my-app/1.0' } };
    seen = [];
    await new realJwksRsa.JwksClient(opts).getSigningKey(KID);
    const theirs = seen[0]!;
    seen = [];
    const ours = new JwksClient({ ...opts, requestAgent: agent });
    await ours.getSigningKey(KID);
    assert.equal(seen[0]!.method, theirs.method);
    assert.equal(seen[0]!.url, '/jwks?x=1');
    assert.equal(seen[0]!.url, theirs.url);
    assert.deepEqual(Object.keys(seen[0]!.headers).sort(), Object.keys(theirs.headers).sort());
    assert.equal(seen[0]!.headers['user-agent'], 'my-app/1.0');
    assert.equal(agentUsed, 1);
    await ours.close();
  });
});

describe('differential against jwks-rsa over the same endpoint', () => {
  const k1 = makeKey('k1', 'RS256');
  const k2 = makeKey('k2', 'ES256');
  let idp: FakeIdp;
  let http: HttpIdp;
  before(async () => {
    idp = new FakeIdp(k1, k2);
    http = await new HttpIdp(idp).start();
  });
  after(() => http.stop());

  const outcome = async (client: { getSigningKey(kid?: string | null): Promise<{ getPublicKey(): string; kid?: string }> }, kid: string | null | undefined) =>
    client.getSigningKey(kid).then(
      (k) => `key:${k.kid}:${k.getPublicKey().length}`,
      (e: Error) => `${e.name}:${e.message}`,
    );

  const cases: { name: string; kid: string | null | undefined; setup: () => void }[] = [
    { name: 'known kid', kid: 'k2', setup: () => idp.publish(k1, k2) },
    { name: 'unknown kid', kid: 'nope', setup: () => idp.publish(k1, k2) },
    { name: 'no kid, one key', kid: undefined, setup: () => idp.publish(k1) },
    { name: 'null kid, one key', kid: null, setup: () => idp.publish(k1) },
    { name: 'no kid, two keys', kid: undefined, setup: () => idp.publish(k1, k2) },
    { name: 'empty kid', kid: '', setup: () => idp.publish(k1) },
    { name: 'endpoint 503', kid: 'k1', setup: () => { idp.mode = '503'; } },
    { name: 'no signing keys', kid: 'k1', setup: () => { idp.keys = [{ ...k1.jwk, use: 'enc' }]; } },
    { name: 'no keys array', kid: 'k1', setup: () => { idp.body = '{"nokeys":true}'; } },
    { name: 'not JSON', kid: 'k1', setup: () => { idp.mode = 'garbage'; idp.body = 'oops, not json'; } },
    { name: 'endpoint 429', kid: 'k1', setup: () => { idp.mode = '429'; } },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      idp.mode = 'ok';
      c.setup();
      const ours = new JwksClient({ jwksUri: http.url });
      const a = await outcome(ours, c.kid);
      const b = await outcome(new realJwksRsa.JwksClient({ jwksUri: http.url }), c.kid);
      idp.mode = 'ok';
      idp.body = undefined;
      await ours.close();
      assert.equal(a, b);
    });
  }

  test('connection refused: the same socket error', async () => {
    const { createServer: mk } = await import('node:net');
    const probe = mk();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const uri = `http://127.0.0.1:${port}/jwks`;
    const ours = new JwksClient({ jwksUri: uri });
    const a = (await ours.getSigningKey('k1').catch((e: unknown) => e)) as Error & { code?: string; isEndpointUnavailable?: boolean };
    const b = (await new realJwksRsa.JwksClient({ jwksUri: uri }).getSigningKey('k1').catch((e: unknown) => e)) as Error & { code?: string };
    assert.equal(a.code, 'ECONNREFUSED');
    assert.equal(a.code, b.code);
    assert.equal(a.message, b.message);
    assert.equal(a.isEndpointUnavailable, true);
    await ours.close();
  });

  test('getSigningKeys and getKeys', async () => {
    idp.publish(k1, k2);
    const ours = new JwksClient({ jwksUri: http.url });
    const theirs = new realJwksRsa.JwksClient({ jwksUri: http.url });
    const a = (await ours.getSigningKeys()).map((k) => [k.kid, k.alg, k.getPublicKey()]);
    const b = (await theirs.getSigningKeys()).map((k) => [k.kid, k.alg, k.getPublicKey()]);
    assert.deepEqual(a, b);
    assert.deepEqual(((await ours.getKeys()) as { kid: string }[]).map((k) => k.kid), ['k1', 'k2']);
    await ours.close();
  });

  test('cache: false fetches on every lookup, as jwks-rsa', async () => {
    idp.publish(k1);
    const ours = new JwksClient({ jwksUri: http.url, cache: false });
    const before = idp.requests;
    await ours.getSigningKey('k1');
    await ours.getSigningKey('k1');
    assert.equal(idp.requests - before, 2);
    await ours.close();
  });

  test('rateLimit: JwksRateLimitError once the per-minute budget is spent, without a request', async () => {
    idp.publish(k1);
    const ours = new JwksClient({ jwksUri: http.url, rateLimit: true, jwksRequestsPerMinute: 2 });
    await ours.getSigningKey('k1');
    const before = idp.requests;
    const errs: Error[] = [];
    for (const kid of ['a', 'b', 'c', 'd']) errs.push(await ours.getSigningKey(kid).then(() => new Error('resolved'), (e: Error) => e));
    assert.ok(errs[0] instanceof SigningKeyNotFoundError);
    assert.ok(errs[1] instanceof SigningKeyNotFoundError);
    assert.ok(errs[2] instanceof JwksRateLimitError);
    assert.equal(errs[2]!.message, 'Too many requests to the JWKS endpoint');
    assert.ok(errs[3] instanceof JwksRateLimitError);
    assert.equal(idp.requests - before, 2);
    await ours.close();
  });

  test('a flood of unknown kids without rateLimit costs a bounded number of requests (our default)', async () => {
    idp.publish(k1);
    const { ManualClock } = await import('../../src/testing/index.js');
    const clock = new ManualClock();
    const ours = new JwksClient({ jwksUri: http.url, cacheOptions: { clock, scheduler: clock } });
    await ours.getSigningKey('k1');
    const before = idp.requests;
    const all = Promise.all(Array.from({ length: 100 }, (_, i) => ours.getSigningKey(`r${i}`).then(() => 'resolved', (e: Error) => e.name)));
    for (let i = 0; i < 20; i++) await clock.advance(1000);
    const names = await all;
    assert.ok(names.every((n) => n === 'SigningKeyNotFoundError'));
    assert.ok(idp.requests - before <= 4, `requests: ${idp.requests - before}`);
    await ours.close();
  });

  test('fetcher replaces the request; the URL is optional', async () => {
    let calls = 0;
    const client = new JwksClient({
      fetcher: async (uri) => {
        calls++;
        assert.equal(uri, undefined);
        return { keys: [k1.jwk] };
      },
    });
    assert.equal((await client.getSigningKey('k1')).kid, 'k1');
    assert.equal(calls, 1);
    await client.close();
  });

  test('a bad URL rejects with ArgumentError at lookup time, as jwks-rsa', async () => {
    const client = new JwksClient({ jwksUri: 'not a url' });
    const err = await client.getSigningKey('k1').catch((e: Error) => e);
    assert.ok(err instanceof ArgumentError);
    assert.equal(err.message, 'Invalid JWKS URI: The provided URI is not a valid URL.');
    const theirs = await new realJwksRsa.JwksClient({ jwksUri: 'not a url' }).getSigningKey('k1').catch((e: Error) => e);
    assert.equal(err.message, (theirs as Error).message);
  });

  test('errors carry jwks-rsa names and isEndpointUnavailable', async () => {
    idp.mode = '503';
    const ours = new JwksClient({ jwksUri: http.url });
    const err = (await ours.getSigningKey('k1').catch((e: unknown) => e)) as JwksError;
    idp.mode = 'ok';
    assert.ok(err instanceof JwksError);
    assert.equal(err.name, 'JwksError');
    assert.equal(err.isEndpointUnavailable, true);
    assert.equal((err.cause as { code: string }).code, 'KEYS_NOT_LOADED');
    await ours.close();
  });
});
