/**
 * Every README example runs: the server examples through the adapters' real-socket matrix
 * (valid, expired, wrong audience and issuer, no/malformed header, insufficient scope, keys
 * unavailable, rotation), the scripts to completion with their output checked.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';
import { adapterMatrix } from '../adapters/matrix.js';
import type { Quirks, TargetConfig } from '../adapters/matrix.js';
import { runExample, startExample } from './spawn.js';

const envOf = (cfg: TargetConfig) => ({ ISSUER: cfg.issuer, AUDIENCE: cfg.audience, JWKS_URI: cfg.jwksUri });
const servers: [string, Quirks][] = [
  ['express', {}],
  ['fastify', {}],
  ['koa', {}],
  ['passport', { challengeOn400: false, jsonBody: false }],
  // express-jwt parses the header itself: "Bearer ,,," reaches the secret as a non-JWT (401)
  ['express-jwt', { jsonBody: false, malformedHeaders: ['Bearer', 'Bearer two tokens'] }],
  // passport-jwt cannot tell a malformed header from a missing one: 401
  ['passport-jwt', { jsonBody: false, malformedStatus: 401 }],
];
for (const [name, quirks] of servers) {
  adapterMatrix(`examples/${name}.ts`, (cfg) => startExample(name, envOf(cfg)), { ...quirks, alg: 'RS256' });
}

describe('script examples', () => {
  const key = makeKey('s1', 'RS256');
  const idp = new FakeIdp(key);
  const down = new FakeIdp(key);
  down.mode = 'refuse';
  let http: HttpIdp;
  let httpDown: HttpIdp;
  let env: Record<string, string>;
  before(async () => {
    http = await new HttpIdp(idp).start();
    httpDown = await new HttpIdp(down).start();
    env = { ISSUER: ISS, AUDIENCE: AUD, JWKS_URI: http.url };
  });
  after(async () => {
    await http.stop();
    await httpDown.stop();
  });

  test('quick-start: a valid token, an invalid one (401), keys unavailable (503)', async () => {
    const ok = await runExample('quick-start', env, [await mint(key, { claims: { scope: 'read' } })]);
    assert.match(ok.stdout, /^valid token for user-1, scope: read$/m);
    const bad = await runExample('quick-start', env, [await mint(key, { aud: 'other' })]);
    assert.match(bad.stdout, /^invalid token \(CLAIM_INVALID\): answer 401$/m);
    const unavailable = await runExample('quick-start', { ...env, JWKS_URI: httpDown.url }, [await mint(key)]);
    assert.match(unavailable.stdout, /^keys unavailable \(KEYS_NOT_LOADED\): answer 503, Retry-After \d+(\.\d+)? ms$/m);
  });

  test('key-resolver: jose jwtVerify with keys.getKey, events logged', async () => {
    const r = await runExample('key-resolver', env, [await mint(key)]);
    assert.match(r.stdout, /^JWKS loaded: 1 keys$/m);
    assert.doesNotMatch(r.stdout, /JWKS rotated/); // the initial load is not a rotation
    assert.match(r.stdout, /a signing key is now in use \{ kid: 's1' \}/);
    assert.match(r.stdout, /^valid token for user-1; cache healthy, 1 keys$/m);
  });

  test('persistence: the set is saved, and restored by the next start while the IdP is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jk-example-'));
    try {
      const penv = { ...env, SNAPSHOT_PATH: join(dir, 'jwks.snapshot'), JWKS_SNAPSHOT_SECRET: 'x'.repeat(32) };
      const first = await runExample('persistence', penv);
      assert.match(first.stdout, /^keys usable: true$/m);
      assert.ok(existsSync(penv.SNAPSHOT_PATH));
      idp.mode = 'refuse';
      try {
        const second = await runExample('persistence', penv);
        assert.match(second.stdout, /^restored 1 keys saved \d+ s ago$/m);
        assert.match(second.stdout, /^keys usable: true$/m); // ready from the saved set, whether or not the fetch has failed yet
      } finally {
        idp.mode = 'ok';
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('events: subscribe, count, unsubscribe', async () => {
    const r = await runExample('events', env);
    assert.match(r.stdout, /^JWKS fetched in \d+ ms, generation 1$/m);
    assert.match(r.stdout, /^1 fetch; healthy 0 failure codes$/m);
  });

  test('logger: the cache events reach the logger', async () => {
    const r = await runExample('logger', env);
    assert.match(r.stdout, /JWKS key set changed/);
  });

  test('readiness: ready after start with the IdP up; 503 with not-loaded while it is down', async () => {
    const up = await startExample('readiness', env);
    try {
      const res = await fetch(`${up.url}/readyz`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { state: string }).state, 'healthy');
      assert.equal((await fetch(`${up.url}/healthz`)).status, 200);
    } finally {
      await up.close();
    }
    const downServer = await startExample('readiness', { ...env, JWKS_URI: httpDown.url });
    try {
      const res = await fetch(`${downServer.url}/readyz`);
      assert.equal(res.status, 503);
      assert.deepEqual(((await res.json()) as { reasons: string[] }).reasons, ['not-loaded', 'refresh-failing']);
      assert.equal((await fetch(`${downServer.url}/healthz`)).status, 200);
      assert.match(downServer.output(), /JWKS not loaded yet/);
    } finally {
      await downServer.close();
    }
  });
});
