/**
 * Shared setup of the Redis tests: fleets on the file's own redis-server (unix socket), a raw
 * client for planting garbage, and waiting on events without sleeping.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { redisFleet, type RedisFleet, type RedisFleetOptions } from '../../src/redis/index.js';
import type { RedisServer } from '../helpers/redis-server.js';

export const SECRET = 'a fleet secret of at least thirty-two bytes!';

export type RawClient = ReturnType<typeof createClient>;

/** A connected node-redis client on the server's socket (errors swallowed: faults are expected). */
export async function rawClient(server: RedisServer): Promise<RawClient> {
  const c = createClient({ socket: { path: server.socketPath, reconnectStrategy: (n: number) => Math.min(50 * n, 200) } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Which client library a fleet runs on. */
export type ClientKind = 'node-redis' | 'ioredis';

/** A connected ioredis client on the server's socket. */
export async function ioredisClient(server: RedisServer): Promise<Redis> {
  const c = new Redis({ path: server.socketPath, retryStrategy: (n: number) => Math.min(50 * n, 200), maxRetriesPerRequest: null, lazyConnect: true });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** A fleet over its own client on the server's socket; `close()` of the result closes both. */
export async function fleetOn(server: RedisServer, extra: Partial<RedisFleetOptions> = {}, kind: ClientKind = 'node-redis'): Promise<RedisFleet & { isReady: () => boolean }> {
  if (kind === 'ioredis') {
    const client = await ioredisClient(server);
    const fleet = redisFleet({ client, secret: SECRET, ...extra });
    const close = fleet.close.bind(fleet);
    return Object.assign(fleet, {
      isReady: () => client.status === 'ready',
      close: async () => {
        await close();
        client.disconnect();
      },
    });
  }
  const client = await rawClient(server);
  const fleet = redisFleet({ client, secret: SECRET, ...extra });
  const close = fleet.close.bind(fleet);
  let closed = false;
  return Object.assign(fleet, {
    isReady: () => client.isReady,
    close: async () => {
      await close();
      if (!closed) client.destroy();
      closed = true;
    },
  });
}

/**
 * Resolve when `predicate` holds: a condition wait for things only Redis' own clock or a
 * reconnection decides (lock expiry, resubscription), polled every few ms and bounded; never
 * an assertion on how long it took.
 */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, maxPolls = 5_000): Promise<void> {
  for (let i = 0; i < maxPolls; i++) {
    if (await predicate()) return;
    await new Promise<void>((r) => setTimeout(r, 2));
  }
  throw new Error(`never happened: ${what}`);
}
