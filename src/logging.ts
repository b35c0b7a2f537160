/**
 * The `logger` option: the cache's events written to any pino-compatible logger (pino,
 * bunyan-style, Fastify's `request.log`/`fastify.log`, or a few lines around `console`),
 * without a dependency.
 */
import type { JwksCache } from './cache.js';
import { ConfigError } from './errors.js';

/** One log method: a structured object first, then the message (pino's order). */
export type LogMethod = (obj: Record<string, unknown>, msg: string) => void;

/**
 * Any logger with pino's method shape: `logger.info({ kid }, 'message')`. pino, Fastify's
 * logger and bunyan fit as they are; for `console`, wrap it
 * (`{ info: (o, m) => console.info(m, o), ... }`).
 */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Throws {@link ConfigError} unless `logger` has the four methods. */
function checkLogger(logger: unknown): asserts logger is Logger {
  if (logger === null || typeof logger !== 'object') throw new ConfigError('logger must be an object with debug, info, warn and error methods');
  for (const level of LEVELS) {
    if (typeof (logger as Record<string, unknown>)[level] !== 'function') throw new ConfigError(`logger.${level} must be a function`);
  }
}

/**
 * Log the cache's events at these levels (every line carries `jwksUri`):
 *
 * | Event | Level | Why |
 * |---|---|---|
 * | `refresh.started`, `refresh.succeeded` | debug | Routine, every few minutes per instance. |
 * | `keys.changed`, `key.firstUsed`, `persistence.restored` | info | Rotation milestones an operator wants in the log. |
 * | `refresh.failed` while keys are still served, `keys.staleServed`, `key.dropped`, `persistence.refused`, `persistence.failed` | warn | Degraded but verifying. |
 * | `refresh.failed` with no usable keys | error | Requests are being answered 503. |
 *
 * `unknownKid` decisions are not logged: under a flood of forged kids there is one per
 * request, and an attacker would choose the log volume. Read `stats().unknownKid` or
 * subscribe yourself.
 *
 * Logger calls run inside event listeners, so a logger that throws is isolated like any
 * listener. Returns a function that detaches the logger.
 */
export function attachLogger(cache: Pick<JwksCache, 'on' | 'jwksUri'>, logger: Logger): () => void {
  checkLogger(logger);
  const jwksUri = cache.jwksUri;
  const offs = [
    cache.on('refresh.started', (e) => logger.debug({ jwksUri, ...e }, 'JWKS refresh started')),
    cache.on('refresh.succeeded', (e) => logger.debug({ jwksUri, ...e }, e.modified ? 'JWKS refreshed: new key set' : 'JWKS refreshed: unchanged')),
    cache.on('refresh.failed', (e) => {
      const obj = { jwksUri, ...e };
      if (e.staleForMs === undefined) logger.error(obj, 'JWKS refresh failed and no key set is loaded: tokens are answered 503');
      else logger.warn(obj, 'JWKS refresh failed; the last good key set keeps verifying');
    }),
    cache.on('keys.changed', (e) => logger.info({ jwksUri, ...e }, 'JWKS key set changed')),
    cache.on('key.firstUsed', (e) => logger.info({ jwksUri, ...e }, 'a signing key is used for the first time')),
    cache.on('keys.staleServed', (e) => logger.warn({ jwksUri, ...e }, 'serving JWKS keys past their freshness: refreshes fail')),
    cache.on('key.dropped', (e) => logger.warn({ jwksUri, ...e }, 'a JWKS key was dropped at ingest')),
    cache.on('persistence.restored', (e) => logger.info({ jwksUri, ...e }, 'JWKS key set restored from the snapshot store')),
    cache.on('persistence.refused', (e) => logger.warn({ jwksUri, ...e }, 'persisted JWKS snapshot refused')),
    cache.on('persistence.failed', (e) => logger.warn({ jwksUri, ...e }, 'JWKS snapshot store failed')),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** `createJwksCache`'s wiring of the `logger` option: attaches it when given, returns the cache. @internal */
export function withLogger<C extends Pick<JwksCache, 'on' | 'jwksUri'>>(cache: C, logger: Logger | undefined): C {
  if (logger !== undefined) attachLogger(cache, logger);
  return cache;
}
