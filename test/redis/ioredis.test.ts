/**
 * The same store suite on an ioredis client, and the faults where ioredis differs from
 * node-redis (no per-command abort, its own reconnection and resubscription).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FleetStatusChange, RedisFleet } from '../../src/redis/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { fleetOn, rawClient, until } from './fixture.js';
import { defineStoreSuite } from './store-suite.js';

defineStoreSuite('ioredis');

let server: RedisServer;
const fleets: (RedisFleet & { isReady: () => boolean })[] = [];
let seq = 0;
const freshKey = () => `https://io${++seq}.example/jwks`;
async function fleet(extra = {}) {
  const f = await fleetOn(server, extra, 'ioredis');
  fleets.push(f);
  return f;
}

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  server?.resume();
  for (const f of fleets) await f.close();
  await server?.stop();
});

describe('ioredis faults', () => {
  test('paused: calls end at callTimeoutMs, the circuit opens; resumed, the probe rejoins', async () => {
    const clock = new ManualClock();
    const f = await fleet({ clock, scheduler: clock, callTimeoutMs: 200, failureThreshold: 2, openMs: 1_000 });
    const key = freshKey();
    await f.setIfNewer(key, 1, 'one');
    const log: FleetStatusChange['state'][] = [];
    f.onStatus((c) => log.push(c.state));
    server.pause();
    try {
      for (let i = 0; i < 2; i++) {
        const p = f.get(key).then(
          () => 'resolved',
          (e: { code?: string }) => String(e.code),
        );
        await clock.advance(200);
        assert.equal(await p, 'FLEET_TIMEOUT');
      }
      assert.equal(f.status().state, 'degraded');
    } finally {
      server.resume();
    }
    const recovered = new Promise<void>((resolve) => f.onStatus((c) => c.state === 'recovered' && resolve()));
    await clock.advance(1_000);
    await recovered;
    assert.deepEqual(log, ['degraded', 'recovered']);
    assert.deepEqual(await f.get(key), { version: 1, value: 'one' });
  });

  test('killed and restarted: scripts reload, the subscriber resubscribes and catches up', async () => {
    const a = await fleet();
    const b = await fleet();
    const key = freshKey();
    const got: number[] = [];
    await a.subscribe(key, (v) => got.push(v));
    await b.setIfNewer(key, 1, 'one');
    await until(() => got.includes(1), 'first broadcast');
    await server.kill();
    await server.restart();
    await until(() => a.isReady() && b.isReady(), 'clients reconnected');
    await until(async () => {
      await b.setIfNewer(key, 2 + got.length, 'x').catch(() => false);
      return got.some((v) => v >= 2);
    }, 'a broadcast after the restart');
    const raw = await rawClient(server);
    try {
      await raw.scriptFlush();
      assert.equal(await b.setIfNewer(key, 1_000, 'after SCRIPT FLUSH'), true);
    } finally {
      raw.destroy();
    }
  });
});
