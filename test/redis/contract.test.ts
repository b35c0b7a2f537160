/**
 * The exported shared-store contract suite (`runSharedStoreContract` from jwks-keeper/testing)
 * against the Redis store, on node-redis and on ioredis, with a real redis-server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runSharedStoreContract } from '../../src/testing/index.js';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { fleetOn } from './fixture.js';

let server: RedisServer;

before(async () => {
  server = await startRedisServer();
});

after(async () => {
  await server?.stop();
});

runSharedStoreContract('redisFleet (node-redis)', () => fleetOn(server), { test, assert });
runSharedStoreContract('redisFleet (ioredis)', () => fleetOn(server, {}, 'ioredis'), { test, assert });
