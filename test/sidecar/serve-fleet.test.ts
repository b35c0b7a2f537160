/**
 * `jwks-keeper serve` with fleet mode, as child processes (the built binary) on a real
 * redis-server this file starts: two sidecars from one config file make one IdP request
 * between them, a SIGUSR1 refresh of one reaches the other's SSE clients by broadcast, and
 * SIGTERM exits both with 0 (the process only exits once the Redis connections are closed).
 * Bad fleet flags and a missing `redis` package exit 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey } from '../helpers/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { OidcIdp, Proc, buildOnce, run } from '../cli/helpers.js';
import { SseClient, send } from './helpers.js';

const SECRET = 'sidecar fleet secret: thirty-two bytes or more';
const NO_REDIS = pathToFileURL(fileURLToPath(new URL('../helpers/no-redis.mjs', import.meta.url))).href;
const dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-serve-fleet-'));
const procs: Proc[] = [];
let redis: RedisServer;
let idp: OidcIdp | undefined;
before(async () => {
  buildOnce();
  redis = await startRedisServer();
});
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await idp?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'ES256');

test('two `serve --config` processes with a fleet entry: one IdP request, a rotation reaches the other by broadcast, SIGTERM exits 0', async () => {
  idp = await new OidcIdp(new FakeIdp(k1)).start();
  const file = join(dir, 'fleet.json');
  const config = {
    port: 0,
    issuers: [{ name: 'idp', issuer: idp.base, jwksUri: idp.jwksUrl, audience: 'api', cache: { minRefreshIntervalMs: 0 } }],
    fleet: { url: redis.url, secretEnv: 'JWKS_FLEET_SECRET', keyPrefix: 'serve-fleet:' },
  };
  writeFileSync(file, JSON.stringify(config));
  const env = { JWKS_FLEET_SECRET: SECRET };
  const a = new Proc(['serve', '--config', file], env);
  procs.push(a);
  assert.equal((await a.waitForJson('fleet mode')).redis, redis.url);
  await a.waitForJson('keys loaded');
  assert.equal(idp.idp.requests, 1);
  const b = new Proc(['serve', '--config', file], env);
  procs.push(b);
  const urlB = String((await b.waitForJson('listening')).url);
  await b.waitForJson('keys loaded');
  assert.equal(idp.idp.requests, 1, 'the second process starts from the shared record');

  const sse = new SseClient(`${urlB}/events`);
  await sse.connected;
  idp.idp.publish(k1, k2);
  a.kill('SIGUSR1');
  await sse.waitFor((e) => e.event === 'keys.changed' && (e.data.added as string[]).includes('k2'));
  assert.equal(idp.idp.requests, 2, 'one IdP request for the rotation, for both processes');
  assert.match((await send(`${urlB}/metrics`)).text, /^jwks_keeper_sidecar_fleet_connected 1$/m);

  for (const p of [a, b]) p.kill('SIGTERM');
  assert.deepEqual(await a.exited, { code: 0, signal: null });
  assert.deepEqual(await b.exited, { code: 0, signal: null });
  sse.close();
  for (const p of [a, b]) {
    assert.ok(!p.lines.join('\n').includes(SECRET), 'the secret is never logged');
    assert.ok(p.lines.some((l) => l.includes('"msg":"stopped"')));
  }
});

test('fleet flags: --fleet-url without --fleet-secret-env, an unset or short secret, a non-redis URL → exit 2', async () => {
  const base = ['serve', '--issuer', 'https://idp.test/', '--jwks-url', 'https://idp.test/jwks.json', '--port', '0'];
  const cases: [string[], Record<string, string>][] = [
    [['--fleet-url', redis.url], {}],
    [['--fleet-secret-env', 'S'], { S: SECRET }],
    [['--fleet-url', redis.url, '--fleet-secret-env', 'UNSET_FLEET_SECRET'], {}],
    [['--fleet-url', redis.url, '--fleet-secret-env', 'S'], { S: 'too short' }],
    [['--fleet-url', 'http://127.0.0.1:6379', '--fleet-secret-env', 'S'], { S: SECRET }],
    [['--fleet-url', redis.url, '--fleet-secret-env', 'S', '--fleet-key-prefix', 'a b'], { S: SECRET }],
  ];
  for (const [flags, env] of cases) {
    const r = await run([...base, ...flags], { env });
    assert.equal(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.ok(!r.stderr.includes(SECRET));
  }
});

test('fleet mode without the optional redis package: exit 2 saying what to install', async () => {
  const r = await run(['serve', '--issuer', 'https://idp.test/', '--jwks-url', 'https://idp.test/jwks.json', '--port', '0', '--fleet-url', redis.url, '--fleet-secret-env', 'S'], {
    env: { S: SECRET, NODE_OPTIONS: `--import ${NO_REDIS}` },
  });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /npm install redis/);
});
