/**
 * Fleet mode for the sidecar: the config file's `fleet` entry, checked like the rest of the
 * config, and the Redis fleet made from it when the sidecar starts. Several sidecars (one per
 * node or pod) sharing a Redis then make one IdP request per refresh window between them, spend
 * one unknown-kid budget, and learn each other's rotations by broadcast (docs/fleet.md).
 */
import { ConfigError } from '../errors.js';
import type { RedisFleet } from '../redis/index.js';
import type { ResolvedSidecarFleet } from './config.js';

/** The Redis host and port of a URL, for logs (never the password). */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparsable)';
  }
}

/** The URL's password, decoded (`''` without one): a client error quoting it is redacted. */
function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

/** The sidecar's log function, as fleet.ts needs it. */
export type FleetLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/**
 * Create the fleet (the connection is made in the background; an unreachable Redis degrades
 * every cache to local-only until it is back). Logs `fleet degraded` / `fleet recovered` and
 * the Redis client's connection errors (each distinct message once in a row). Rejects with a
 * `ConfigError` when the optional `redis` package is not installed.
 */
export async function openSidecarFleet(f: ResolvedSidecarFleet, log: FleetLog): Promise<RedisFleet> {
  try {
    await import('redis');
  } catch {
    throw new ConfigError('fleet mode needs the optional "redis" package (npm install redis)');
  }
  const { redisFleet } = await import('../redis/index.js');
  let lastError = '';
  const password = passwordOf(f.url);
  const fleet = redisFleet({
    url: f.url,
    secret: f.secret,
    ...(f.keyPrefix !== undefined ? { keyPrefix: f.keyPrefix } : {}),
    onClientError: (err) => {
      let error = err instanceof Error ? err.message : String(err);
      if (password !== '') error = error.split(password).join('***');
      if (error !== lastError) log('warn', 'fleet redis client error', { error: error.slice(0, 200) });
      lastError = error;
    },
  });
  fleet.onStatus((c) => {
    lastError = '';
    if (c.state === 'degraded') log('warn', 'fleet degraded', { reason: c.reason });
    else log('info', 'fleet recovered', { degradedForMs: c.degradedForMs });
  });
  log('info', 'fleet mode', { redis: redactRedisUrl(f.url), keyPrefix: fleet.keyPrefix });
  return fleet;
}
