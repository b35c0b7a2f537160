/**
 * The same cases for every adapter and recipe, over real sockets: a fake IdP on 127.0.0.1,
 * the framework's real server on 127.0.0.1 port 0, global fetch as the client.
 *
 * A target serves `GET /api/me` (authenticated: answers the payload as JSON) and
 * `GET /api/admin` (authenticated and requiring scope `admin`).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';

export interface TargetConfig {
  issuer: string;
  audience: string;
  jwksUri: string;
}

export interface Target {
  /** Base URL, e.g. http://127.0.0.1:1234 */
  url: string;
  close(): Promise<void>;
}

/** Where a target legitimately differs from the adapters' answers. */
export interface Quirks {
  /** Status for a malformed `Authorization: Bearer` header. Default 400. */
  malformedStatus?: 400 | 401;
  /** Whether a 400 carries `WWW-Authenticate` (passport only sets it on 401). Default true. */
  challengeOn400?: boolean;
  /** Whether bodies are our JSON `{ error, error_description, code }`. Default true. */
  jsonBody?: boolean;
  /** The malformed `Authorization` values tried. Default: `Bearer`, `Bearer two tokens`, `Bearer ,,,`. */
  malformedHeaders?: string[];
  /** Signing algorithm of the IdP's keys. Default ES256. */
  alg?: 'ES256' | 'RS256';
}

export const REALM = 'api';

/** The JSON bodies the tests read. */
export interface Body {
  sub?: string;
  code?: string;
  error?: string;
  state?: string;
  reasons?: string[];
  user?: { sub?: string };
  auth?: unknown;
}

/** `res.json()`, typed for the tests. */
export async function json(res: Response): Promise<Body> {
  return (await res.json()) as Body;
}

/** Listen on 127.0.0.1 port 0; returns the base URL and a closer that drops keep-alive sockets. */
export async function listen(server: Server): Promise<Target> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Register the matrix for one target. `start` is called twice: with a working IdP and with one that answers 503. */
export function adapterMatrix(name: string, start: (cfg: TargetConfig) => Promise<Target>, quirks: Quirks = {}): void {
  const malformedStatus = quirks.malformedStatus ?? 400;
  const challengeOn400 = quirks.challengeOn400 ?? true;
  const jsonBody = quirks.jsonBody ?? true;

  describe(name, () => {
    const k1 = makeKey('k1', quirks.alg ?? 'ES256');
    const k2 = makeKey('k2', quirks.alg ?? 'ES256');
    const idp = new FakeIdp(k1);
    const down = new FakeIdp(k1);
    down.mode = '503';
    down.retryAfter = '7';
    let http: HttpIdp;
    let httpDown: HttpIdp;
    let target: Target;
    let targetDown: Target;

    before(async () => {
      http = await new HttpIdp(idp).start();
      httpDown = await new HttpIdp(down).start();
      target = await start({ issuer: ISS, audience: AUD, jwksUri: http.url });
      targetDown = await start({ issuer: ISS, audience: AUD, jwksUri: httpDown.url });
    });

    after(async () => {
      await target?.close();
      await targetDown?.close();
      await http?.stop();
      await httpDown?.stop();
    });

    const get = (base: string, path: string, authorization?: string) =>
      fetch(`${base}${path}`, { headers: authorization === undefined ? {} : { authorization } });

    async function expect401(res: Response, code: string): Promise<void> {
      assert.equal(res.status, 401);
      const h = res.headers.get('www-authenticate') ?? '';
      assert.match(h, /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
      const body = await res.text();
      if (jsonBody) assert.equal((JSON.parse(body) as Body).code, code);
    }

    test('a valid token is accepted and its payload reaches the handler', async () => {
      const res = await get(target.url, '/api/me', `Bearer ${await mint(k1)}`);
      assert.equal(res.status, 200);
      assert.equal((await json(res)).sub, 'user-1');
    });

    test('the Bearer scheme is case-insensitive', async () => {
      const res = await get(target.url, '/api/me', `bearer ${await mint(k1)}`);
      assert.equal(res.status, 200);
    });

    test('an expired token: 401 invalid_token', async () => {
      const now = Math.floor(Date.now() / 1000);
      await expect401(await get(target.url, '/api/me', `Bearer ${await mint(k1, { nowSec: now - 3600, expSec: 600 })}`), 'TOKEN_EXPIRED');
    });

    test('a wrong audience: 401 invalid_token', async () => {
      await expect401(await get(target.url, '/api/me', `Bearer ${await mint(k1, { aud: 'api://other' })}`), 'CLAIM_INVALID');
    });

    test('a wrong issuer: 401 invalid_token', async () => {
      await expect401(await get(target.url, '/api/me', `Bearer ${await mint(k1, { iss: 'https://evil.test/' })}`), 'CLAIM_INVALID');
    });

    test('a forged signature: 401 invalid_token', async () => {
      const t = await mint(k1);
      const sigBytes = Buffer.from(t.slice(t.lastIndexOf('.') + 1), 'base64url').length;
      const forged = `${t.slice(0, t.lastIndexOf('.'))}.${Buffer.alloc(sigBytes, 7).toString('base64url')}`;
      await expect401(await get(target.url, '/api/me', `Bearer ${forged}`), 'SIGNATURE_INVALID');
    });

    test('no Authorization header: 401 with a bare challenge (no error code, RFC 6750 §3.1)', async () => {
      const res = await get(target.url, '/api/me');
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${REALM}"`);
      await res.body?.cancel();
    });

    test('another scheme (Basic): 401 with a bare challenge', async () => {
      const res = await get(target.url, '/api/me', 'Basic dXNlcjpwYXNz');
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${REALM}"`);
      await res.body?.cancel();
    });

    for (const header of quirks.malformedHeaders ?? ['Bearer', 'Bearer two tokens', 'Bearer ,,,']) {
      test(`a malformed Authorization header (${JSON.stringify(header)}): ${malformedStatus}${malformedStatus === 400 ? ' invalid_request' : ''}`, async () => {
        const res = await get(target.url, '/api/me', header);
        assert.equal(res.status, malformedStatus);
        const h = res.headers.get('www-authenticate');
        if (malformedStatus === 400 && challengeOn400) assert.match(h ?? '', /^Bearer realm="api", error="invalid_request"/);
        if (malformedStatus === 401) assert.match(h ?? '', /^Bearer realm="api"/);
        const body = await res.text();
        if (jsonBody && malformedStatus === 400) assert.equal((JSON.parse(body) as Body).code, 'AUTHORIZATION_MALFORMED');
      });
    }

    test('insufficient scope: 403 insufficient_scope naming the scope; scope, scp and permissions all grant', async () => {
      const res = await get(target.url, '/api/admin', `Bearer ${await mint(k1, { claims: { scope: 'read write' } })}`);
      assert.equal(res.status, 403);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="api", error="insufficient_scope", .*scope="admin"$/);
      await res.body?.cancel();
      for (const claims of [{ scope: 'read admin' }, { scp: ['admin'] }, { scp: 'read admin' }, { permissions: ['admin', 'x'] }]) {
        const ok = await get(target.url, '/api/admin', `Bearer ${await mint(k1, { claims })}`);
        assert.equal(ok.status, 200, JSON.stringify(claims));
        await ok.body?.cancel();
      }
      const anon = await get(target.url, '/api/admin');
      assert.equal(anon.status, 401);
      await anon.body?.cancel();
    });

    test('keys unavailable (IdP answers 503): 503 with Retry-After, not 401', async () => {
      const res = await get(targetDown.url, '/api/me', `Bearer ${await mint(k1)}`);
      assert.equal(res.status, 503);
      const retryAfter = Number(res.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
      const body = await res.text();
      if (jsonBody) assert.equal((JSON.parse(body) as Body).code, 'KEYS_NOT_LOADED');
      assert.ok(down.requests >= 1);
    });

    test('rotation: a token signed by a newly published key is accepted, the old key keeps working', async () => {
      const before = idp.requests;
      idp.publish(k1, k2);
      const res = await get(target.url, '/api/me', `Bearer ${await mint(k2)}`);
      assert.equal(res.status, 200);
      assert.equal((await json(res)).sub, 'user-1');
      assert.equal(idp.requests, before + 1);
      const old = await get(target.url, '/api/me', `Bearer ${await mint(k1)}`);
      assert.equal(old.status, 200);
      await old.body?.cancel();
    });
  });
}
