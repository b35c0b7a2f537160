/**
 * The Redis shared store on node-redis (the suite in store-suite.ts), plus the options of
 * `redisFleet` and its `{ url }` form.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/errors.js';
import { redisFleet, type RedisFleet } from '../../src/redis/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SECRET, fleetOn, until } from './fixture.js';
import { defineStoreSuite } from './store-suite.js';

defineStoreSuite('node-redis');

let server: RedisServer;
const fleets: RedisFleet[] = [];
let seq = 0;
const freshKey = () => `https://options${++seq}.example/jwks`;
async function fleet(): Promise<RedisFleet> {
  const f = await fleetOn(server);
  fleets.push(f);
  return f;
}

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  for (const f of fleets) await f.close();
  await server?.stop();
});

describe('redisFleet options', () => {
  test('bad options are a ConfigError', () => {
    const client = { sendCommand() {}, duplicate() {}, subscribe() {}, connect() {} } as never;
    const bad: unknown[] = [
      undefined,
      {},
      { secret: SECRET },
      { url: 'redis://127.0.0.1:1', client, secret: SECRET },
      { url: 'http://127.0.0.1:1', secret: SECRET },
      { client: {}, secret: SECRET },
      { url: 'redis://127.0.0.1:1' },
      { url: 'redis://127.0.0.1:1', secret: 'short' },
      { url: 'redis://127.0.0.1:1', secret: SECRET, callTimeoutMs: 0 },
      { url: 'redis://127.0.0.1:1', secret: SECRET, failureThreshold: 0 },
      { url: 'redis://127.0.0.1:1', secret: SECRET, maxValueBytes: 10 },
      { url: 'redis://127.0.0.1:1', secret: SECRET, keyPrefix: 'has space' },
      { url: 'redis://127.0.0.1:1', secret: SECRET, keyPrefix: '{tag}' },
    ];
    for (const o of bad) assert.throws(() => redisFleet(o as never), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID', JSON.stringify(o));
  });

  test('{ url } creates its own client (TCP on 127.0.0.1) and close() releases it', async () => {
    const s = redisFleet({ url: server.url, secret: SECRET });
    const key = freshKey();
    assert.equal(await s.setIfNewer(key, 1, 'via-url'), true);
    const got: number[] = [];
    await s.subscribe(key, (v) => got.push(v));
    const other = await fleet();
    await other.setIfNewer(key, 2, 'two');
    await until(() => got.length === 1, 'broadcast over the url client');
    await s.close();
    await s.close();
    await assert.rejects(s.get(key), (e: { code?: string }) => e.code === 'FLEET_CLOSED');
  });

  test('a real node-redis client that is not connected yet is connected by the fleet', async () => {
    const { createClient } = await import('redis');
    const c = createClient({ socket: { path: server.socketPath, tls: false } });
    c.on('error', () => {});
    const s = redisFleet({ client: c, secret: SECRET });
    assert.equal(await s.get(freshKey()), undefined);
    await s.close();
    assert.equal(c.isOpen, true, "the application's client stays open");
    c.destroy();
  });
});
