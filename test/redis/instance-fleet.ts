/**
 * The fleet option of a multi-process test instance: a redisFleet over its own node-redis
 * client on the test's redis-server socket.
 */
import { createClient } from 'redis';
import type { JwksCacheOptions } from '../../src/options.js';
import { redisFleet } from '../../src/redis/index.js';
import type { InstanceConfig } from './instance.js';

export async function fleetOption(c: InstanceConfig): Promise<{ cacheOptions: Partial<JwksCacheOptions>; close: () => Promise<void> }> {
  const client = createClient({ socket: { path: c.redisSocket, tls: false, reconnectStrategy: (n: number) => Math.min(50 * n, 200) } });
  client.on('error', () => {});
  await client.connect();
  const fleet = redisFleet({ client, keyPrefix: c.keyPrefix, secret: c.secret, openMs: 500 });
  return {
    cacheOptions: { fleet },
    close: async () => {
      await fleet.close();
      client.destroy();
    },
  };
}
