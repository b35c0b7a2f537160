/**
 * Sidecar configuration: the JSON config file's shape, its defaults and validation. Every
 * limit has a unit, a default and a reason; docs/operations.md mirrors this file.
 */
import type { JwksCacheOptions } from '../index.js';

/** One issuer the sidecar keeps keys for. */
export interface SidecarIssuer {
  /** Short name used in URLs (`/issuers/<name>/jwks.json`), events and metrics. Letters, digits, `.`, `_`, `-`; at most 64. */
  name: string;
  /** The issuer, exactly as tokens carry it in `iss`. */
  issuer: string;
  /** The JWKS URL. Default: discovered from `<issuer>/.well-known/openid-configuration` at start. */
  jwksUri?: string;
  /** Accepted audience(s) for `POST /verify`. Default: none (the issuer is mirrored, `/verify` refuses its tokens). */
  audience?: string | string[];
  /** Cache options for this issuer (numbers and booleans of {@link JwksCacheOptions}). */
  cache?: Pick<JwksCacheOptions, 'timeoutMs' | 'minRefreshIntervalMs' | 'maxRefreshIntervalMs' | 'defaultRefreshIntervalMs' | 'maxStaleMs' | 'backoffInitialMs' | 'backoffMaxMs' | 'allowInsecureHttp'>;
}

/** A webhook receiving rotation notifications. */
export interface SidecarWebhook {
  /** URL to POST to (`https:`, or `http:` to a loopback host). */
  url: string;
  /** HMAC-SHA256 key for the `x-jwks-keeper-signature` header. At least 16 characters. Give `secret` or `secretEnv`. */
  secret?: string;
  /** Name of an environment variable holding the secret (keeps it out of the file). */
  secretEnv?: string;
  /** Event types to send. Default: all (`keys.changed`, `key.firstUsed`, `refresh.failed`, `keys.staleServed`). */
  events?: string[];
}

/** Limits that keep the sidecar bounded whatever its clients do. */
export interface SidecarLimits {
  /** Largest request body (`POST /verify`), in bytes. Default: 32 768 (a token is 1–4 KiB). Larger → 413. */
  maxBodyBytes?: number;
  /** Largest request head (`server.maxHeaderSize`), in bytes. Default: 16 384 (Node's default). Larger → 431. */
  maxHeaderBytes?: number;
  /** Longest time to receive a request's headers (`server.headersTimeout`), ms. Default: 10 000 (slow clients are cut off). */
  headersTimeoutMs?: number;
  /** Longest time to receive a whole request (`server.requestTimeout`), ms. Default: 15 000. */
  requestTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this long, ms. Default: 5 000. */
  keepAliveTimeoutMs?: number;
  /** Open sockets at most (`server.maxConnections`). Default: 2 048. Beyond, new connections are dropped. */
  maxConnections?: number;
  /** Concurrent `GET /events` clients at most. Default: 256. Beyond → 503 with `Retry-After`. */
  maxSseClients?: number;
  /** Events kept for `Last-Event-ID` resume. Default: 1 000 (events are rare: days of rotations). */
  eventBufferSize?: number;
  /** Interval of SSE keep-alive comments, ms. Default: 15 000 (below common proxy idle timeouts). */
  sseHeartbeatMs?: number;
  /** Webhook deliveries queued per webhook; the oldest is dropped beyond. Default: 1 000. */
  webhookQueueSize?: number;
  /** Attempts per webhook delivery. Default: 6. */
  webhookMaxAttempts?: number;
  /** Delay before the second attempt, doubled per attempt (with 50–100 % jitter), ms. Default: 1 000. */
  webhookBackoffInitialMs?: number;
  /** Ceiling of the webhook backoff, ms. Default: 60 000. */
  webhookBackoffMaxMs?: number;
  /** Deadline of one webhook request, ms. Default: 5 000. */
  webhookTimeoutMs?: number;
  /** Longest graceful shutdown (drain requests, flush webhooks), ms. Default: 10 000. */
  shutdownTimeoutMs?: number;
}

/** The `fleet` entry of the config file: every cache of the sidecar joins this Redis fleet. */
export interface SidecarFleet {
  /** `redis://` or `rediss://` URL of the Redis. Give `url` or `urlEnv`. */
  url?: string;
  /** Name of an environment variable holding the URL (keeps a Redis password out of the file). */
  urlEnv?: string;
  /**
   * Prefix of the Redis keys and channels. Default: `'jwks-keeper:'`. At most 200 characters,
   * no spaces or braces. Use one per environment sharing a Redis; every member of one fleet
   * (sidecars and apps using `redisFleet`) must use the same.
   */
  keyPrefix?: string;
  /**
   * HMAC key authenticating the shared records, at least 32 bytes, the same on every member of
   * the fleet. Give `secret` or (preferred: keeps it out of the file) `secretEnv`.
   */
  secret?: string;
  /** Name of an environment variable holding the secret. */
  secretEnv?: string;
}

/** A checked `fleet` entry: what `redisFleet` is given. */
export interface ResolvedSidecarFleet {
  /** The Redis URL (from `url` or `urlEnv`). */
  url: string;
  /** The key prefix, or `undefined` for `redisFleet`'s default. */
  keyPrefix: string | undefined;
  /** The record HMAC key (from `secret` or `secretEnv`). */
  secret: string;
}

const FLEET_KEYS = new Set(['url', 'urlEnv', 'keyPrefix', 'secret', 'secretEnv']);

/** Check the `fleet` entry; `undefined` when there is none. Throws {@link SidecarConfigError}. */
export function validateFleet(raw: unknown, env: Readonly<Record<string, string | undefined>>): ResolvedSidecarFleet | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SidecarConfigError('fleet must be an object');
  const f = raw as SidecarFleet;
  for (const k of Object.keys(f)) if (!FLEET_KEYS.has(k)) throw new SidecarConfigError(`unknown key "fleet.${k.slice(0, 40)}"`);
  const pick = (name: 'url' | 'secret', value: unknown, envName: unknown): unknown => {
    if (value !== undefined && envName !== undefined) throw new SidecarConfigError(`fleet: give ${name} or ${name}Env, not both`);
    if (envName === undefined) return value;
    if (typeof envName !== 'string' || envName === '') throw new SidecarConfigError(`fleet.${name}Env must be the name of an environment variable`);
    return env[envName];
  };
  const url = pick('url', f.url, f.urlEnv);
  if (typeof url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(url)) throw new SidecarConfigError('fleet needs a redis:// or rediss:// URL (url or urlEnv)');
  const secret = pick('secret', f.secret, f.secretEnv);
  if (typeof secret !== 'string' || Buffer.byteLength(secret, 'utf8') < 32) throw new SidecarConfigError('fleet needs a secret of at least 32 bytes (secret or secretEnv)');
  const prefix = f.keyPrefix;
  if (prefix !== undefined && (typeof prefix !== 'string' || prefix.length > 200 || /[\s{}]/.test(prefix))) {
    throw new SidecarConfigError('fleet.keyPrefix must be a string of at most 200 characters without spaces or braces');
  }
  return { url, keyPrefix: prefix, secret };
}

/** The config file (`jwks-keeper serve --config sidecar.json`). */
export interface SidecarConfig {
  /** Address to bind. Default: `127.0.0.1` (only local apps reach the sidecar; bind `0.0.0.0` deliberately). */
  host?: string;
  /** Port. Default: 8787. `0` picks a free port (logged). */
  port?: number;
  /** The issuers. At least one. */
  issuers: SidecarIssuer[];
  /** Webhooks. Default: none. */
  webhooks?: SidecarWebhook[];
  /** Limits. */
  limits?: SidecarLimits;
  /**
   * Fleet mode on Redis for every issuer. Default: none (each sidecar fetches on its own).
   * Needs the optional `redis` package.
   */
  fleet?: SidecarFleet;
}

/** Every limit after defaults. */
export type ResolvedLimits = Required<SidecarLimits>;

/** A configuration problem: printed, exit 2. */
export class SidecarConfigError extends Error {}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

function int(path: string, v: unknown, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new SidecarConfigError(`${path} must be an integer in [${min}, ${max}]`);
  return v;
}

/** Apply defaults to the limits and check them. */
export function resolveLimits(l: SidecarLimits = {}): ResolvedLimits {
  if (l === null || typeof l !== 'object') throw new SidecarConfigError('limits must be an object');
  return {
    maxBodyBytes: int('limits.maxBodyBytes', l.maxBodyBytes, 32_768, 256, 16 * 1024 * 1024),
    maxHeaderBytes: int('limits.maxHeaderBytes', l.maxHeaderBytes, 16_384, 1024, 1024 * 1024),
    headersTimeoutMs: int('limits.headersTimeoutMs', l.headersTimeoutMs, 10_000, 100, 600_000),
    requestTimeoutMs: int('limits.requestTimeoutMs', l.requestTimeoutMs, 15_000, 100, 600_000),
    keepAliveTimeoutMs: int('limits.keepAliveTimeoutMs', l.keepAliveTimeoutMs, 5_000, 100, 600_000),
    maxConnections: int('limits.maxConnections', l.maxConnections, 2_048, 1, 1_000_000),
    maxSseClients: int('limits.maxSseClients', l.maxSseClients, 256, 0, 100_000),
    eventBufferSize: int('limits.eventBufferSize', l.eventBufferSize, 1_000, 1, 1_000_000),
    sseHeartbeatMs: int('limits.sseHeartbeatMs', l.sseHeartbeatMs, 15_000, 100, 600_000),
    webhookQueueSize: int('limits.webhookQueueSize', l.webhookQueueSize, 1_000, 1, 1_000_000),
    webhookMaxAttempts: int('limits.webhookMaxAttempts', l.webhookMaxAttempts, 6, 1, 100),
    webhookBackoffInitialMs: int('limits.webhookBackoffInitialMs', l.webhookBackoffInitialMs, 1_000, 1, 3_600_000),
    webhookBackoffMaxMs: int('limits.webhookBackoffMaxMs', l.webhookBackoffMaxMs, 60_000, 1, 3_600_000),
    webhookTimeoutMs: int('limits.webhookTimeoutMs', l.webhookTimeoutMs, 5_000, 1, 600_000),
    shutdownTimeoutMs: int('limits.shutdownTimeoutMs', l.shutdownTimeoutMs, 10_000, 0, 600_000),
  };
}

/** Check a parsed config file (or one built from flags). Throws {@link SidecarConfigError}. */
export function validateConfig(
  raw: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Omit<SidecarConfig, 'fleet'> & { limits: ResolvedLimits; webhooks: (SidecarWebhook & { secret: string })[]; fleet: ResolvedSidecarFleet | undefined } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SidecarConfigError('the config must be a JSON object');
  const c = raw as SidecarConfig;
  const known = new Set(['host', 'port', 'issuers', 'webhooks', 'limits', 'fleet']);
  for (const k of Object.keys(c)) if (!known.has(k)) throw new SidecarConfigError(`unknown config key "${k.slice(0, 40)}"`);
  if (c.host !== undefined && (typeof c.host !== 'string' || c.host === '')) throw new SidecarConfigError('host must be a non-empty string');
  const port = int('port', c.port, 8787, 0, 65_535);
  if (!Array.isArray(c.issuers) || c.issuers.length === 0) throw new SidecarConfigError('issuers must be a non-empty array');
  const names = new Set<string>();
  const issuers = c.issuers.map((i, n) => {
    const at = `issuers[${n}]`;
    if (i === null || typeof i !== 'object') throw new SidecarConfigError(`${at} must be an object`);
    if (typeof i.name !== 'string' || !NAME.test(i.name)) throw new SidecarConfigError(`${at}.name must match ${NAME.source}`);
    if (names.has(i.name)) throw new SidecarConfigError(`${at}.name "${i.name}" is used twice`);
    names.add(i.name);
    if (typeof i.issuer !== 'string' || i.issuer === '') throw new SidecarConfigError(`${at}.issuer is required`);
    if (i.jwksUri !== undefined && typeof i.jwksUri !== 'string') throw new SidecarConfigError(`${at}.jwksUri must be a string`);
    const aud = i.audience;
    if (aud !== undefined && !(typeof aud === 'string' && aud !== '') && !(Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string' && a !== ''))) {
      throw new SidecarConfigError(`${at}.audience must be a string or a non-empty array of strings`);
    }
    if (i.cache !== undefined && (i.cache === null || typeof i.cache !== 'object')) throw new SidecarConfigError(`${at}.cache must be an object`);
    return { ...i };
  });
  const webhooks = (c.webhooks ?? []).map((w, n) => {
    const at = `webhooks[${n}]`;
    if (w === null || typeof w !== 'object' || typeof w.url !== 'string') throw new SidecarConfigError(`${at}.url is required`);
    let u: URL;
    try {
      u = new URL(w.url);
    } catch {
      throw new SidecarConfigError(`${at}.url is not a URL`);
    }
    const loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname);
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && loopback)) throw new SidecarConfigError(`${at}.url must be https (http for loopback only)`);
    const secret = w.secret ?? (w.secretEnv ? env[w.secretEnv] : undefined);
    if (typeof secret !== 'string' || secret.length < 16) throw new SidecarConfigError(`${at} needs a secret of at least 16 characters (secret or secretEnv)`);
    if (w.events !== undefined && (!Array.isArray(w.events) || w.events.some((e) => typeof e !== 'string'))) throw new SidecarConfigError(`${at}.events must be an array of event names`);
    return { url: u.href, secret, ...(w.events ? { events: [...w.events] } : {}) };
  });
  return { host: c.host ?? '127.0.0.1', port, issuers, webhooks, limits: resolveLimits(c.limits), fleet: validateFleet(c.fleet, env) };
}
