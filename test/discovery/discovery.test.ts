/**
 * OIDC discovery: the well-known URLs (OIDC and RFC 8414), the exact issuer comparison, the
 * hard-limited transport, caching and refresh, outages on the last good document, a moved
 * jwks_uri, and no request caused by a token before or after discovery.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDiscovery, createDiscoveredVerifier, discoveryUrls } from '../../src/discovery/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { makeKey, mint, AUD } from '../helpers/keys.js';

const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'ES256');

/** An IdP serving discovery documents and key sets on 127.0.0.1, counting requests per path. */
class DiscoIdp {
  server: Server;
  origin = '';
  hits = new Map<string, number>();
  docs = new Map<string, () => { status: number; body: string; headers?: Record<string, string> }>();
  constructor() {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const d = this.docs.get(path);
      if (!d) return void res.writeHead(404).end();
      const a = d();
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers }).end(a.body);
    });
  }
  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
  json(path: string, body: unknown, headers?: Record<string, string>): void {
    this.docs.set(path, () => ({ status: 200, body: JSON.stringify(body), headers }));
  }
  fail(path: string, status = 503): void {
    this.docs.set(path, () => ({ status, body: '{}' }));
  }
  total(): number {
    return [...this.hits.values()].reduce((a, b) => a + b, 0);
  }
}

let idp: DiscoIdp;
let other: DiscoIdp;
before(async () => {
  idp = await new DiscoIdp().start();
  other = await new DiscoIdp().start();
});
after(async () => {
  await idp.stop();
  await other.stop();
});

function reset(issuerPath = ''): string {
  idp.docs.clear();
  idp.hits.clear();
  other.hits.clear();
  const issuer = `${idp.origin}${issuerPath}`;
  idp.json(`${issuerPath}/.well-known/openid-configuration`, { issuer, jwks_uri: `${idp.origin}/jwks`, id_token_signing_alg_values_supported: ['ES256'] });
  idp.json('/jwks', { keys: [k1.jwk] });
  return issuer;
}

const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string; cause?: { code?: string } }) => `${e.code}${e.cause?.code ? `/${e.cause.code}` : ''}`);

describe('well-known URLs', () => {
  test('table', () => {
    const rows: [string, string, string][] = [
      ['https://idp.test', 'https://idp.test/.well-known/openid-configuration', 'https://idp.test/.well-known/oauth-authorization-server'],
      ['https://idp.test/', 'https://idp.test/.well-known/openid-configuration', 'https://idp.test/.well-known/oauth-authorization-server'],
      ['https://idp.test/realms/acme', 'https://idp.test/realms/acme/.well-known/openid-configuration', 'https://idp.test/.well-known/oauth-authorization-server/realms/acme'],
      ['https://idp.test/tenant/v2.0/', 'https://idp.test/tenant/v2.0/.well-known/openid-configuration', 'https://idp.test/.well-known/oauth-authorization-server/tenant/v2.0'],
    ];
    for (const [issuer, oidc, rfc8414] of rows) {
      const [a, b] = discoveryUrls(new URL(issuer), ['openid-configuration', 'oauth-authorization-server']);
      assert.equal(a!.url.href, oidc, issuer);
      assert.equal(b!.url.href, rfc8414, issuer);
    }
  });

  test('configuration errors', () => {
    assert.throws(() => createDiscovery({ issuer: '' }), { code: 'CONFIG_INVALID' });
    assert.throws(() => createDiscovery({ issuer: 'http://idp.example.com' }), { code: 'CONFIG_INVALID' });
    assert.throws(() => createDiscovery({ issuer: 'https://idp.test/?x=1' }), { code: 'CONFIG_INVALID' });
    assert.throws(() => createDiscovery({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' }), { code: 'CONFIG_INVALID' });
  });
});

describe('discovered verifier', () => {
  test('issuer alone is enough', async () => {
    const issuer = reset('/realms/acme');
    const v = createDiscoveredVerifier({ issuer, audience: AUD });
    const r = await v.verify(await mint(k1, { iss: issuer }));
    assert.equal(r.payload.iss, issuer);
    assert.equal(v.discovery.current()?.jwksUri, `${idp.origin}/jwks`);
    assert.equal(v.discovery.current()?.source, 'openid-configuration');
    assert.equal(idp.hits.get('/realms/acme/.well-known/openid-configuration'), 1);
    // cached: more tokens, no more discovery requests
    await v.verify(await mint(k1, { iss: issuer }));
    assert.equal(idp.hits.get('/realms/acme/.well-known/openid-configuration'), 1);
    await v.close();
  });

  test('RFC 8414 fallback when the OIDC document is absent', async () => {
    const issuer = reset('/tenant');
    idp.docs.delete('/tenant/.well-known/openid-configuration');
    idp.json('/.well-known/oauth-authorization-server/tenant', { issuer, jwks_uri: `${idp.origin}/jwks` });
    const v = createDiscoveredVerifier({ issuer, audience: AUD });
    await v.verify(await mint(k1, { iss: issuer }));
    assert.equal(v.discovery.current()?.source, 'oauth-authorization-server');
    // the document that worked is tried first next time
    await v.discovery.refresh();
    assert.equal(idp.hits.get('/tenant/.well-known/openid-configuration'), 1);
    assert.equal(idp.hits.get('/.well-known/oauth-authorization-server/tenant'), 2);
    await v.close();
  });

  test('the document’s issuer must equal the configured one exactly', async () => {
    for (const docIssuer of ['https://evil.test', `${idp.origin}/`, `${idp.origin}/x`, undefined]) {
      reset();
      idp.json('/.well-known/openid-configuration', { issuer: docIssuer, jwks_uri: `${idp.origin}/jwks` });
      const v = createDiscoveredVerifier({ issuer: idp.origin, audience: AUD });
      assert.equal(await code(v.verify(await mint(k1, { iss: idp.origin }))), 'KEYS_NOT_LOADED/JWKS_MALFORMED', String(docIssuer));
      assert.equal(idp.hits.get('/jwks') ?? 0, 0);
      await v.close();
    }
  });

  test('an unusable jwks_uri is refused (plain http to a remote host, credentials, not a URL)', async () => {
    for (const jwks of ['http://idp.example.com/jwks', 'https://u:p@idp.test/jwks', 'not a url', 42]) {
      reset();
      idp.json('/.well-known/openid-configuration', { issuer: idp.origin, jwks_uri: jwks });
      const d = createDiscovery({ issuer: idp.origin });
      assert.equal(await code(d.get()), 'KEYS_NOT_LOADED/JWKS_MALFORMED', String(jwks));
      d.close();
    }
  });

  test('the hard limits of the transport apply (byte cap, content type, redirects)', async () => {
    reset();
    idp.json('/.well-known/openid-configuration', { issuer: idp.origin, jwks_uri: `${idp.origin}/jwks`, pad: 'x'.repeat(300_000) });
    assert.equal(await code(createDiscovery({ issuer: idp.origin, wellKnown: ['openid-configuration'] }).get()), 'KEYS_NOT_LOADED/JWKS_TOO_LARGE');
    idp.docs.set('/.well-known/openid-configuration', () => ({ status: 200, body: '<html>', headers: { 'content-type': 'text/html' } }));
    assert.equal(await code(createDiscovery({ issuer: idp.origin, wellKnown: ['openid-configuration'] }).get()), 'KEYS_NOT_LOADED/JWKS_MALFORMED');
    idp.docs.set('/.well-known/openid-configuration', () => ({ status: 302, body: '', headers: { location: `${other.origin}/x` } }));
    assert.equal(await code(createDiscovery({ issuer: idp.origin, wellKnown: ['openid-configuration'] }).get()), 'KEYS_NOT_LOADED/JWKS_REDIRECT');
    assert.equal(other.total(), 0);
  });

  test('no request is caused by a token: a wrong iss before discovery, a jku/iss pointing elsewhere after', async () => {
    const issuer = reset();
    const v = createDiscoveredVerifier({ issuer, audience: AUD });
    assert.equal(await code(v.verify(await mint(k1, { iss: other.origin }))), 'ISSUER_NOT_ALLOWED');
    assert.ok((await code(v.verify('garbage'))).startsWith('TOKEN_MALFORMED'));
    assert.equal(idp.total(), 0);
    await v.verify(await mint(k1, { iss: issuer }));
    const hostile = await mint(makeKey('k9', 'ES256'), { iss: other.origin, header: { jku: `${other.origin}/jwks`, x5u: `${other.origin}/x5u` } });
    assert.notEqual(await code(v.verify(hostile)), 'ok');
    assert.equal(other.total(), 0);
    await v.close();
  });
});

describe('refresh and outages (ManualClock)', () => {
  test('last good document survives an outage; a moved jwks_uri is picked up', async () => {
    const issuer = reset();
    idp.json('/.well-known/openid-configuration', { issuer, jwks_uri: `${idp.origin}/jwks` }, { 'cache-control': 'max-age=600' });
    idp.json('/jwks2', { keys: [k2.jwk] });
    const clock = new ManualClock(Date.now());
    const v = createDiscoveredVerifier({ issuer, audience: AUD, cacheOptions: { clock, scheduler: clock } });
    const at = () => Math.floor(clock.wallNow() / 1000);
    await v.verify(await mint(k1, { iss: issuer, nowSec: at() }));
    const discoveryPath = '/.well-known/openid-configuration';
    assert.equal(idp.hits.get(discoveryPath), 1);

    // outage of the discovery endpoint for 25 h (past the key set's 24 h staleness bound, had
    // the keys depended on it): verification goes on
    idp.fail(discoveryPath);
    for (let h = 0; h < 25; h++) {
      await clock.advance(3600_000);
      await v.discovery.refresh().catch(() => {}); // joins the scheduled attempt (real sockets finish outside the manual clock)
    }
    assert.ok((idp.hits.get(discoveryPath) ?? 0) > 1, 'refreshes were attempted');
    assert.equal(await code(v.verify(await mint(k1, { iss: issuer, nowSec: at() }))), 'ok');
    assert.equal(v.discovery.current()?.jwksUri, `${idp.origin}/jwks`);

    // the IdP moves its key set: the next successful refresh switches caches
    idp.json(discoveryPath, { issuer, jwks_uri: `${idp.origin}/jwks2` });
    await clock.advance(600_000);
    await v.discovery.refresh();
    assert.equal(v.discovery.current()?.jwksUri, `${idp.origin}/jwks2`);
    assert.equal(await code(v.verify(await mint(k2, { iss: issuer, nowSec: at() }))), 'ok');
    assert.equal(v.keys()?.jwksUri, `${idp.origin}/jwks2`);
    await v.close();
  });

  test('a cold start during an outage is a 503-class error with retryAfterMs, then recovers', async () => {
    const issuer = reset();
    idp.fail('/.well-known/openid-configuration');
    idp.fail('/.well-known/oauth-authorization-server');
    const clock = new ManualClock(Date.now());
    const v = createDiscoveredVerifier({ issuer, audience: AUD, cacheOptions: { clock, scheduler: clock } });
    const err = (await v.verify(await mint(k1, { iss: issuer })).catch((e: unknown) => e)) as { code: string; httpStatus: number; retryAfterMs?: number };
    assert.equal(err.code, 'KEYS_NOT_LOADED');
    assert.equal(err.httpStatus, 503);
    assert.ok((err.retryAfterMs ?? 0) > 0);
    reset();
    await clock.advance(5_000);
    assert.equal(await code(v.verify(await mint(k1, { iss: issuer }))), 'ok');
    await v.close();
  });
});
