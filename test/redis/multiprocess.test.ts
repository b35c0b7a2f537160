/**
 * Multi-process fleet tests: child processes, real sockets, a fake IdP counting requests.
 * The baseline first: N independent caches cost the IdP N requests per refresh window.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeIdp, HttpIdp } from '../helpers/fake-idp.js';
import { makeKey, mint } from '../helpers/keys.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { SECRET } from './fixture.js';
import { startFleet, stopFleet, type Instance } from './fleet-harness.js';
import type { InstanceConfig } from './instance.js';

let server: RedisServer;
let prefixSeq = 0;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  await server?.stop();
});

function config(idp: HttpIdp, mode: InstanceConfig['mode'], extra: Partial<InstanceConfig['cacheOptions']> = {}) {
  const keyPrefix = `mp${++prefixSeq}:`;
  return (index: number): InstanceConfig => ({
    index,
    jwksUri: idp.url,
    mode,
    redisSocket: server.socketPath,
    keyPrefix,
    secret: SECRET,
    cacheOptions: { allowInsecureHttp: true, ...extra },
  });
}

describe('independent caches (the baseline fleet mode improves on)', () => {
  test('N = 3 independent instances: 3 upstream requests for the first load and 3 per refresh window', async () => {
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const http = await new HttpIdp(idp).start();
    let fleet: Instance[] = [];
    try {
      fleet = await startFleet(3, config(http, 'independent'));
      assert.equal(idp.requests, 3);
      await Promise.all(fleet.map((i) => i.refresh()));
      assert.equal(idp.requests, 6);
      const token = await mint(k1);
      for (const i of fleet) assert.equal((await i.verify([token])).ok, 1);
    } finally {
      await stopFleet(fleet);
      await http.stop();
    }
  });
});
