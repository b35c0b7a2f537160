/**
 * The sidecar's `fleet` option, in process, against a real redis-server this file starts and
 * an IdP over HTTP: two sidecars on one Redis make one IdP request between them, a rotation
 * picked up by one reaches the other's SSE clients, mirror and `POST /verify` by broadcast (no
 * second IdP request), and a sidecar whose Redis is unreachable still starts and serves,
 * reporting the degradation in its logs and metrics. Logs never carry the secret or the Redis
 * password.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { createSidecar } from '../../src/sidecar/index.js';
import type { LogSink, Sidecar, SidecarConfig } from '../../src/sidecar/index.js';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey, mint } from '../helpers/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { OidcIdp } from '../cli/helpers.js';
import { SseClient, send } from './helpers.js';

const SECRET = 'sidecar fleet secret: thirty-two bytes or more';
const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'ES256');
let redis: RedisServer;
const cleanups: (() => Promise<void> | void)[] = [];
before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await redis?.stop();
});

type Line = Parameters<LogSink>[0];

/** Log lines, with a wait for the first one whose `msg` is `msg`. */
class Logs {
  readonly lines: Line[] = [];
  #waiters: { msg: string; resolve: (l: Line) => void }[] = [];
  readonly sink: LogSink = (l) => {
    this.lines.push(l);
    this.#waiters = this.#waiters.filter((w) => (w.msg === l.msg ? (w.resolve(l), false) : true));
  };
  waitFor(msg: string): Promise<Line> {
    const seen = this.lines.find((l) => l.msg === msg);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.#waiters.push({ msg, resolve }));
  }
}

async function sidecarOn(idp: OidcIdp, fleet: SidecarConfig['fleet'], env: Record<string, string> = {}): Promise<{ sidecar: Sidecar; url: string; logs: Logs }> {
  const logs = new Logs();
  const config: SidecarConfig = { port: 0, issuers: [{ name: 'idp', issuer: idp.base, jwksUri: idp.jwksUrl, audience: 'api', cache: { minRefreshIntervalMs: 0 } }], ...(fleet ? { fleet } : {}) };
  const sidecar = createSidecar(config, { log: logs.sink, env });
  cleanups.push(() => sidecar.close());
  const url = await sidecar.start();
  await sidecar.caches.get('idp')!.ready();
  return { sidecar, url, logs };
}

async function startIdp(): Promise<OidcIdp> {
  const idp = await new OidcIdp(new FakeIdp(k1)).start();
  cleanups.push(() => idp.stop());
  return idp;
}

test('two sidecars on one Redis: one IdP request between them; a rotation reaches the other sidecar by broadcast (SSE, mirror, /verify)', async () => {
  const idp = await startIdp();
  const password = 'redis-password-in-the-url';
  const fleet = { urlEnv: 'REDIS_URL', secretEnv: 'FLEET_SECRET', keyPrefix: 'sidecar-share:' };
  // redis-server runs without a password; the URL's user info is only there to check the logs
  const env = { REDIS_URL: redis.url.replace('redis://', `redis://default:${password}@`), FLEET_SECRET: SECRET };
  const a = await sidecarOn(idp, fleet, env);
  assert.equal(idp.idp.requests, 1);
  const b = await sidecarOn(idp, fleet, env);
  assert.equal(idp.idp.requests, 1, 'the second sidecar starts from the shared record');
  assert.equal(b.sidecar.caches.get('idp')!.stats().fleet?.sharedHits, 1);
  const mirrorA = await send(`${a.url}/issuers/idp/jwks.json`);
  const mirrorB = await send(`${b.url}/issuers/idp/jwks.json`);
  assert.equal(mirrorB.status, 200);
  assert.equal(mirrorB.headers.etag, mirrorA.headers.etag, 'both mirror the same key set');

  const sse = new SseClient(`${b.url}/events`);
  cleanups.push(() => sse.close());
  await sse.connected;
  idp.idp.publish(k1, k2);
  await a.sidecar.refresh();
  assert.equal(idp.idp.requests, 2);
  const changed = await sse.waitFor((e) => e.event === 'keys.changed' && (e.data.added as string[]).includes('k2'));
  assert.equal(changed.data.issuer, 'idp');
  assert.equal(idp.idp.requests, 2, 'sidecar B learned the rotation from Redis, not from the IdP');
  const jwks = JSON.parse((await send(`${b.url}/issuers/idp/jwks.json`)).text) as { keys: { kid: string }[] };
  assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), ['k1', 'k2']);
  const token = await mint(k2, { iss: idp.base, aud: 'api' });
  const verified = await send(`${b.url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(verified.status, 200);
  assert.equal(idp.idp.requests, 2);

  assert.match((await send(`${b.url}/metrics`)).text, /^jwks_keeper_sidecar_fleet_connected 1$/m);
  const mode = await b.logs.waitFor('fleet mode');
  assert.equal(mode.redis, redis.url, 'the Redis address is logged without its user info');
  assert.equal(mode.keyPrefix, 'sidecar-share:');
  for (const text of [JSON.stringify(a.logs.lines), JSON.stringify(b.logs.lines)]) {
    assert.ok(!text.includes(SECRET) && !text.includes(password), 'no secret in the logs');
  }
  await b.sidecar.close();
  await a.sidecar.close();
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

test('Redis unreachable at start: the sidecar starts, loads and serves keys from the IdP, logs "fleet degraded", reports fleet_connected 0, stays ready', async () => {
  const idp = await startIdp();
  const { sidecar, url, logs } = await sidecarOn(idp, { url: `redis://127.0.0.1:${await closedPort()}`, secret: SECRET });
  assert.equal((await send(`${url}/issuers/idp/jwks.json`)).status, 200);
  const degraded = await logs.waitFor('fleet degraded');
  assert.equal(degraded.level, 'warn');
  assert.equal(typeof degraded.reason, 'string');
  assert.match((await send(`${url}/metrics`)).text, /^jwks_keeper_sidecar_fleet_connected 0$/m);
  const ready = await send(`${url}/readyz`);
  assert.equal(ready.status, 200, 'local-only is degraded, not down');
  const health = (JSON.parse(ready.text) as { issuers: Record<string, { reasons: string[] }> }).issuers.idp!;
  assert.ok(health.reasons.includes('fleet-degraded'));
  await sidecar.close();
});
