/**
 * The sidecar: one jwks-keeper cache per configured issuer, served over HTTP.
 *
 * - `GET /issuers/<name>/jwks.json`: the current validated key set (public members only),
 *   with `ETag`, `Cache-Control: max-age` (the remaining freshness, at most 300 s) and 304.
 * - `POST /verify`: token in `Authorization: Bearer` or a JSON body `{"token", "issuer"?}` →
 *   200 with the claims, 401 or 503 with the error code (and `Retry-After` for 503).
 * - `GET /events`: Server-Sent Events (`Last-Event-ID` resume); webhooks for the same events.
 * - `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /issuers`.
 *
 * Bounded: body, header size, header/request time, connections, SSE clients, event buffer,
 * webhook queues. Events observe: nothing a client or receiver does can stall a refresh.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { createJwksCache, createVerifier, isKeysUnavailable } from '../index.js';
import type { JwksCache, JwksCacheOptions, Verifier } from '../index.js';
import { instrumentVerifier } from '../metrics/names.js';
import { PROMETHEUS_CONTENT_TYPE, VerifyTally, renderPrometheusText } from '../metrics/text.js';
import { discover } from '../cli/discovery.js';
import type { ResolvedLimits, SidecarConfig } from './config.js';
import { validateConfig } from './config.js';
import { EventHub, SIDECAR_EVENTS } from './hub.js';
import type { SidecarEventType } from './hub.js';
import { WebhookDispatcher } from './webhooks.js';
import { openSidecarFleet } from './fleet.js';
import type { RedisFleet } from '../redis/index.js';
import type { WebhookStats } from './webhooks.js';

/** A structured log line's fields. */
export type LogFields = Record<string, unknown>;
/** Where log lines go: one JSON object per call. */
export type LogSink = (line: { time: string; level: 'info' | 'warn' | 'error'; msg: string } & LogFields) => void;

/** Injected dependencies (tests pass clocks and fetches; production passes nothing). */
export interface SidecarDeps {
  /** Extra options for every cache (e.g. `clock`, `scheduler`, `fetch`). */
  cacheOptions?: Omit<JwksCacheOptions, 'jwksUri'>;
  /** Log sink. Default: JSON lines on stdout. */
  log?: LogSink;
  /** Where `secretEnv` and `urlEnv` names are looked up. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A running (or startable) sidecar. */
export interface Sidecar {
  /** Resolve discovery, create the caches, start loading keys, listen. Resolves with the base URL. */
  start(): Promise<string>;
  /** Base URL, e.g. `http://127.0.0.1:8787` (after `start`). */
  readonly url: string;
  /** Refresh one issuer's keys now (or every issuer's), as SIGUSR1 does. */
  refresh(name?: string): Promise<void>;
  /** The caches by issuer name (after `start`). */
  readonly caches: ReadonlyMap<string, JwksCache>;
  /** The event hub (SSE clients, buffer). */
  readonly events: EventHub;
  /** Webhook counters. */
  webhookStats(): WebhookStats[];
  /** Stop accepting, end SSE streams, finish requests, flush webhooks (bounded), close caches. Idempotent. */
  close(): Promise<void>;
}

interface Issuer {
  name: string;
  issuer: string;
  jwksUri: string;
  cache: JwksCache;
  verifier: Verifier | undefined;
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
};

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total > max) {
        req.removeAllListeners('data');
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Create a sidecar from a config (validated here). Nothing runs until `start()`. */
export function createSidecar(config: SidecarConfig, deps: SidecarDeps = {}): Sidecar {
  const cfg = validateConfig(config, deps.env ?? process.env);
  const limits: ResolvedLimits = cfg.limits;
  const sink: LogSink = deps.log ?? ((line) => void process.stdout.write(`${JSON.stringify(line)}\n`));
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void => {
    try {
      sink({ time: new Date().toISOString(), level, msg, ...fields });
    } catch {
      // logging never breaks serving
    }
  };
  const hub = new EventHub(limits.eventBufferSize, limits.maxSseClients, limits.sseHeartbeatMs);
  const webhooks = new WebhookDispatcher(
    cfg.webhooks,
    { queueSize: limits.webhookQueueSize, maxAttempts: limits.webhookMaxAttempts, backoffInitialMs: limits.webhookBackoffInitialMs, backoffMaxMs: limits.webhookBackoffMaxMs, timeoutMs: limits.webhookTimeoutMs },
    (level, msg, fields) => log(level, msg, fields),
  );
  hub.subscribe((e) => webhooks.enqueue(e));
  const tally = new VerifyTally();
  const injectedClock = deps.cacheOptions?.clock;
  const wallNow = injectedClock ? () => injectedClock.wallNow() : Date.now;
  const issuers = new Map<string, Issuer>();
  const caches = new Map<string, JwksCache>();
  let server: Server | undefined;
  let url = '';
  let closing: Promise<void> | undefined;
  let fleet: RedisFleet | undefined;

  /** The sidecar's own series, after the shared ones. */
  function sidecarMetrics(): string {
    const lines = [
      '# HELP jwks_keeper_sidecar_sse_clients Server-Sent-Events clients connected now',
      '# TYPE jwks_keeper_sidecar_sse_clients gauge',
      `jwks_keeper_sidecar_sse_clients ${hub.clients}`,
      '# HELP jwks_keeper_sidecar_events_total Events published (keys.changed, key.firstUsed, refresh.failed, keys.staleServed)',
      '# TYPE jwks_keeper_sidecar_events_total counter',
      `jwks_keeper_sidecar_events_total ${hub.lastId}`,
      '# HELP jwks_keeper_sidecar_webhook_deliveries_total Webhook deliveries by result (delivered, failed after every attempt, dropped from a full queue)',
      '# TYPE jwks_keeper_sidecar_webhook_deliveries_total counter',
    ];
    webhooks.stats().forEach((w, i) => {
      for (const result of ['delivered', 'failed', 'dropped'] as const) lines.push(`jwks_keeper_sidecar_webhook_deliveries_total{webhook="${i}",result="${result}"} ${w[result]}`);
    });
    if (fleet) lines.push('# HELP jwks_keeper_sidecar_fleet_connected 1 while fleet mode reaches Redis, 0 while it runs local-only', '# TYPE jwks_keeper_sidecar_fleet_connected gauge', `jwks_keeper_sidecar_fleet_connected ${fleet.status().state === 'connected' ? 1 : 0}`);
    return `${lines.join('\n')}\n`;
  }

  async function setUp(): Promise<void> {
    if (cfg.fleet) fleet = await openSidecarFleet(cfg.fleet, log);
    for (const i of cfg.issuers) {
      let jwksUri = i.jwksUri;
      if (jwksUri === undefined) {
        const d = await discover(i.issuer, { timeoutMs: i.cache?.timeoutMs ?? 5_000 });
        jwksUri = d.jwksUri;
        log('info', 'discovered jwks_uri', { issuer: i.name, jwksUri });
      }
      const cache = createJwksCache({ ...deps.cacheOptions, ...i.cache, jwksUri, ...(fleet ? { fleet } : {}) });
      for (const type of SIDECAR_EVENTS) {
        cache.on(type, (e: object) => {
          const ev = hub.publish(type as SidecarEventType, { issuer: i.name, ...e });
          log(type === 'refresh.failed' || type === 'keys.staleServed' ? 'warn' : 'info', type, { eventId: ev.id, ...ev.data });
        });
      }
      const audience = i.audience === undefined ? undefined : typeof i.audience === 'string' ? [i.audience] : i.audience;
      const verifier = audience
        ? instrumentVerifier(createVerifier({ issuer: i.issuer, audience, keys: cache, ...(injectedClock ? { clock: injectedClock } : {}) }), (o) => tally.record(i.name, o))
        : undefined;
      issuers.set(i.name, { name: i.name, issuer: i.issuer, jwksUri, cache, verifier });
      caches.set(i.name, cache);
      cache.ready().then(
        () => log('info', 'keys loaded', { issuer: i.name, generation: cache.stats().generation, keys: cache.stats().keyCount }),
        (err: unknown) => log('error', 'first key load failed; retrying', { issuer: i.name, code: (err as { code?: string }).code }),
      );
    }
  }

  async function mirror(res: ServerResponse, req: IncomingMessage, i: Issuer): Promise<void> {
    if (!i.cache.snapshot()) {
      try {
        await i.cache.ready();
      } catch (err) {
        return json(res, 503, { error: 'keys_unavailable', code: (err as { code?: string }).code }, { 'retry-after': '5' });
      }
    }
    let keys;
    try {
      keys = await i.cache.getSigningKeys();
    } catch (err) {
      return json(res, 503, { error: 'keys_unavailable', code: (err as { code?: string }).code }, { 'retry-after': '5' });
    }
    const body = JSON.stringify({ keys: keys.map((k) => k.jwk) });
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const snap = i.cache.snapshot();
    const maxAge = snap && snap.status === 'fresh' ? Math.max(0, Math.min(300, Math.floor((snap.freshUntil - wallNow()) / 1000))) : 0;
    const headers = { etag, 'cache-control': `public, max-age=${maxAge}`, 'content-type': 'application/jwk-set+json', 'x-jwks-keeper-generation': String(keys[0]?.generation ?? 0) };
    const inm = req.headers['if-none-match'];
    if (typeof inm === 'string' && inm.split(/\s*,\s*/).some((t) => t === etag || t === `W/${etag}` || t === '*')) {
      res.writeHead(304, headers);
      return void res.end();
    }
    res.writeHead(200, headers);
    res.end(body);
  }

  async function verify(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    let body: string;
    try {
      body = await readBody(req, limits.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) return json(res, 413, { error: 'body_too_large', maxBytes: limits.maxBodyBytes }, { connection: 'close' });
      throw err;
    }
    let token: string | undefined;
    let issuerName = query.get('issuer') ?? undefined;
    // the app's own caller (client IP, API key id) shares the unknown-kid waiting room fairly;
    // every request to a local sidecar comes from 127.0.0.1, so the socket address says nothing
    const hdr = req.headers['x-client-id'];
    let clientId = typeof hdr === 'string' && hdr !== '' ? hdr.slice(0, 128) : req.socket.remoteAddress;
    const auth = req.headers.authorization;
    if (typeof auth === 'string' && /^bearer /i.test(auth)) token = auth.slice(7).trim();
    if (body.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return json(res, 400, { error: 'bad_request', message: 'body must be JSON: {"token": "..."}' });
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return json(res, 400, { error: 'bad_request', message: 'body must be a JSON object' });
      const p = parsed as { token?: unknown; issuer?: unknown; clientId?: unknown };
      if (typeof p.clientId === 'string' && p.clientId !== '') clientId = p.clientId.slice(0, 128);
      if (p.token !== undefined) {
        if (typeof p.token !== 'string') return json(res, 400, { error: 'bad_request', message: '"token" must be a string' });
        token ??= p.token;
      }
      if (typeof p.issuer === 'string') issuerName = p.issuer;
    }
    if (!token) return json(res, 400, { error: 'bad_request', message: 'no token: send Authorization: Bearer <token> or {"token": "..."}' });
    const verifiable = [...issuers.values()].filter((x) => x.verifier);
    let target: Issuer | undefined;
    if (issuerName !== undefined) target = issuers.get(issuerName);
    else if (verifiable.length === 1) target = verifiable[0];
    else {
      // routing only: the chosen verifier checks `iss` exactly (and the signature) itself
      let iss: unknown;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        iss = undefined;
      }
      target = verifiable.find((x) => x.issuer === iss);
    }
    if (!target?.verifier) return json(res, 401, { valid: false, code: 'ISSUER_NOT_ALLOWED' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    try {
      const r = await target.verifier.verify(token, { clientId });
      json(res, 200, { valid: true, issuer: target.name, claims: r.payload, header: { alg: r.protectedHeader.alg, kid: r.protectedHeader.kid, typ: r.protectedHeader.typ }, key: r.key });
    } catch (err) {
      const e = err as { code?: string; httpStatus?: number; retryAfterMs?: number };
      if (isKeysUnavailable(err)) {
        const retry = String(Math.max(1, Math.ceil((e.retryAfterMs ?? 5_000) / 1000)));
        return json(res, 503, { valid: false, issuer: target.name, code: e.code }, { 'retry-after': retry });
      }
      if (e.httpStatus === 401) return json(res, 401, { valid: false, issuer: target.name, code: e.code }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      throw err;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://sidecar.invalid');
    const path = u.pathname;
    const method = req.method ?? 'GET';
    const only = (m: string): boolean => {
      if (method === m || (m === 'GET' && method === 'HEAD')) return true;
      json(res, 405, { error: 'method_not_allowed' }, { allow: m === 'GET' ? 'GET, HEAD' : m });
      return false;
    };
    if (closing && path !== '/healthz') return json(res, 503, { error: 'shutting_down' }, { connection: 'close' });
    if (path === '/healthz') return only('GET') ? json(res, 200, { status: 'ok' }) : undefined;
    if (path === '/readyz') {
      if (!only('GET')) return;
      const states = Object.fromEntries([...issuers.values()].map((i) => [i.name, i.cache.health()]));
      const ready = issuers.size > 0 && Object.values(states).every((h) => h.state !== 'failing');
      return json(res, ready ? 200 : 503, { ready, issuers: states });
    }
    if (path === '/metrics') {
      if (!only('GET')) return;
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
      return void res.end(renderPrometheusText(caches, tally, wallNow()) + sidecarMetrics());
    }
    if (path === '/events') {
      if (method !== 'GET') return json(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
      const raw = req.headers['last-event-id'] ?? u.searchParams.get('lastEventId') ?? undefined;
      const last = typeof raw === 'string' && /^\d{1,15}$/.test(raw.trim()) ? Number(raw.trim()) : undefined;
      hub.attach(res, last);
      return;
    }
    if (path === '/verify') return only('POST') ? verify(req, res, u.searchParams) : undefined;
    if (path === '/issuers') {
      if (!only('GET')) return;
      return json(res, 200, { issuers: [...issuers.values()].map((i) => ({ name: i.name, issuer: i.issuer, jwksUri: i.jwksUri, mirror: `/issuers/${i.name}/jwks.json`, verify: i.verifier !== undefined, health: i.cache.health() })) });
    }
    const m = /^\/issuers\/([A-Za-z0-9._-]{1,64})\/jwks\.json$/.exec(path);
    if (m) {
      const i = issuers.get(m[1]!);
      if (!i) return json(res, 404, { error: 'unknown_issuer' });
      return only('GET') ? mirror(res, req, i) : undefined;
    }
    json(res, 404, { error: 'not_found' });
  }

  return {
    get url() {
      return url;
    },
    caches,
    events: hub,
    webhookStats: () => webhooks.stats(),
    async start() {
      if (server) return url;
      await setUp();
      server = createServer(
        {
          maxHeaderSize: limits.maxHeaderBytes,
          requestTimeout: limits.requestTimeoutMs,
          headersTimeout: limits.headersTimeoutMs,
          keepAliveTimeout: limits.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 2))),
        },
        (req, res) => {
          handle(req, res).catch((err: unknown) => {
            log('error', 'request failed', { path: req.url?.slice(0, 200), error: err instanceof Error ? err.message : String(err) });
            if (!res.headersSent) json(res, 500, { error: 'internal' });
            else res.destroy();
          });
        },
      );
      server.maxConnections = limits.maxConnections;
      server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        // as Node's default handler: 431 for an oversized head, 408 for a slow one, else 400
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
        if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        else socket.destroy();
      });
      const s = server;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(cfg.port ?? 8787, cfg.host ?? '127.0.0.1', () => {
          s.off('error', reject);
          resolve();
        });
      });
      const a = s.address() as AddressInfo;
      url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
      log('info', 'listening', { url, issuers: [...issuers.keys()] });
      return url;
    },
    async refresh(name) {
      const list = name === undefined ? [...issuers.values()] : [issuers.get(name)].filter((x): x is Issuer => x !== undefined);
      await Promise.all(list.map((i) => i.cache.refresh()));
    },
    close() {
      closing ??= (async () => {
        log('info', 'shutting down', { sseClients: hub.clients });
        hub.close();
        if (server) {
          const s = server;
          const closed = new Promise<void>((resolve) => s.close(() => resolve()));
          s.closeIdleConnections();
          const timer = setTimeout(() => s.closeAllConnections(), limits.shutdownTimeoutMs);
          await closed;
          clearTimeout(timer);
        }
        await webhooks.drain(limits.shutdownTimeoutMs);
        await Promise.all([...caches.values()].map((c) => c.close()));
        await fleet?.close();
        log('info', 'stopped', {});
      })();
      return closing;
    },
  };
}
