/**
 * The local identity provider of the benchmark and the demo. It runs in its own process
 * (see idp-process.ts) and listens on two loopback ports:
 *
 * - the public port: `/.well-known/openid-configuration` and `/.well-known/jwks.json`, with
 *   `Cache-Control: max-age` and an `ETag` (304 on `If-None-Match`). Every request is counted
 *   and logged with its time.
 * - the control port: JSON commands to publish keys, rotate (now, or right after the next JWKS
 *   request), change the failure mode (refuse, reset, 503, hang, garbage, slow, ok), mint
 *   tokens and read the counters. Control traffic is never counted as upstream traffic.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SignJWT } from 'jose';
import { AUDIENCE, ISSUER, loadKey, type KeySpec, type LoadedKey } from './keys.js';

export type IdpMode = 'ok' | 'refuse' | 'reset' | '503' | 'hang' | 'garbage' | 'slow';
export const IDP_MODES: readonly IdpMode[] = ['ok', 'refuse', 'reset', '503', 'hang', 'garbage', 'slow'];

/** One logged request: wall time (ms since epoch), what was asked, the status answered (0: none). */
export type LogEntry = [t: number, kind: 'jwks' | 'discovery' | 'other', status: number];

export interface IdpCounters {
  jwks: number;
  discovery: number;
  notModified: number;
  conditional: number;
  failed: number;
}

export interface IdpState {
  counters: IdpCounters;
  mode: IdpMode;
  published: string[];
  /** Wall time of the last JWKS request answered 200/304, or 0. */
  lastJwksAt: number;
}

export interface RotateCommand {
  /** The key set after the rotation (kids). */
  publish: string[];
  /** Wait for the next JWKS request (answered 200/304) before rotating. Default: false. */
  afterFetch?: boolean;
  /** Then wait this long (ms). Default 0. */
  delayMs?: number;
  /** With `afterFetch`: rotate anyway after this long without a JWKS request (ms). Default 60 000. */
  maxWaitMs?: number;
}

export interface RotateResult {
  appliedAt: number;
  fetchAt: number | undefined;
  waitedForFetch: boolean;
}

export interface MintCommand {
  kid: string;
  n: number;
  /** Lifetime (s). Default 3 days, so simulated outages of 24 h keep tokens unexpired. */
  expSec?: number;
  sub?: string;
}

export class IdpServer {
  readonly keys = new Map<string, LoadedKey>();
  published: string[] = [];
  mode: IdpMode = 'ok';
  slowMs = 1000;
  maxAgeSec = 600;
  counters: IdpCounters = { jwks: 0, discovery: 0, notModified: 0, conditional: 0, failed: 0 };
  log: LogEntry[] = [];
  lastJwksAt = 0;
  #body = '';
  #etag = '';
  #fetchWaiters: ((t: number) => void)[] = [];
  readonly #public: Server;
  readonly #control: Server;
  readonly #sockets = new Set<Socket>();
  readonly #hung = new Set<ServerResponse>();
  #publicPort = 0;
  #controlPort = 0;
  #listening = false;

  constructor(keys: KeySpec[], published: string[]) {
    for (const k of keys) this.keys.set(k.kid, loadKey(k));
    this.#public = createServer((req, res) => this.#onPublic(req, res));
    this.#public.keepAliveTimeout = 30_000;
    this.#public.on('connection', (s: Socket) => {
      if (this.mode === 'reset') {
        this.#record('other', 0);
        s.destroy();
        return;
      }
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#control = createServer((req, res) => {
      this.#onControl(req, res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }));
      });
    });
    this.publish(published);
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${this.#publicPort}/.well-known/jwks.json`;
  }
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#publicPort}`;
  }
  get controlUrl(): string {
    return `http://127.0.0.1:${this.#controlPort}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#public.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
    this.#publicPort = (this.#public.address() as AddressInfo).port;
    this.#listening = true;
    await new Promise<void>((resolve) => this.#control.listen(0, '127.0.0.1', resolve));
    this.#controlPort = (this.#control.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const r of this.#hung) r.destroy();
    for (const s of this.#sockets) s.destroy();
    this.#control.closeAllConnections();
    await Promise.all([
      this.#listening ? new Promise<void>((r) => this.#public.close(() => r())) : Promise.resolve(),
      new Promise<void>((r) => this.#control.close(() => r())),
    ]);
  }

  publish(kids: string[]): void {
    for (const kid of kids) if (!this.keys.has(kid)) throw new Error(`unknown kid ${kid}`);
    this.published = [...kids];
    this.#body = JSON.stringify({ keys: kids.map((k) => this.keys.get(k)!.publicJwk) });
    this.#etag = `"${createHash('sha256').update(this.#body).digest('base64url').slice(0, 16)}"`;
  }

  async setMode(mode: IdpMode, slowMs?: number): Promise<void> {
    if (!IDP_MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
    if (slowMs !== undefined) this.slowMs = slowMs;
    const prev = this.mode;
    this.mode = mode;
    if (mode === 'refuse' && this.#listening) {
      // stop listening: new connections are refused (ECONNREFUSED); open ones are cut
      this.#listening = false;
      const closed = new Promise<void>((r) => this.#public.close(() => r()));
      for (const s of this.#sockets) s.destroy();
      await closed;
    } else if (mode !== 'refuse' && !this.#listening) {
      await new Promise<void>((resolve, reject) => {
        this.#public.once('error', reject);
        this.#public.listen({ port: this.#publicPort, host: '127.0.0.1', backlog: 4096 }, () => {
          this.#public.off('error', reject);
          resolve();
        });
      });
      this.#listening = true;
    }
    if (prev === 'hang' && mode !== 'hang') {
      for (const r of this.#hung) r.destroy();
      this.#hung.clear();
    }
    if (mode === 'reset') for (const s of this.#sockets) s.destroy();
  }

  resetCounters(): void {
    this.counters = { jwks: 0, discovery: 0, notModified: 0, conditional: 0, failed: 0 };
    this.log = [];
    this.lastJwksAt = 0;
  }

  state(): IdpState {
    return { counters: { ...this.counters }, mode: this.mode, published: [...this.published], lastJwksAt: this.lastJwksAt };
  }

  /** Rotate now, or right after the next JWKS request (plus a delay). Resolves once applied. */
  async rotate(cmd: RotateCommand): Promise<RotateResult> {
    let fetchAt: number | undefined;
    let waitedForFetch = false;
    if (cmd.afterFetch) {
      waitedForFetch = true;
      fetchAt = await new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.#fetchWaiters = this.#fetchWaiters.filter((w) => w !== waiter);
          resolve(undefined);
        }, cmd.maxWaitMs ?? 60_000);
        const waiter = (t: number): void => {
          clearTimeout(timer);
          resolve(t);
        };
        this.#fetchWaiters.push(waiter);
      });
    }
    if (cmd.delayMs) await new Promise((r) => setTimeout(r, cmd.delayMs));
    this.publish(cmd.publish);
    return { appliedAt: Date.now(), fetchAt, waitedForFetch };
  }

  async mint(cmd: MintCommand): Promise<string[]> {
    const key = this.keys.get(cmd.kid);
    if (!key) throw new Error(`unknown kid ${cmd.kid}`);
    const now = Math.floor(Date.now() / 1000);
    const out: string[] = [];
    for (let i = 0; i < cmd.n; i++) {
      out.push(
        await new SignJWT({ sub: cmd.sub ?? `user-${i % 997}`, scope: 'read' })
          .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setIssuedAt(now)
          .setExpirationTime(now + (cmd.expSec ?? 3 * 86_400))
          .setJti(randomUUID())
          .sign(key.privateKey),
      );
    }
    return out;
  }

  #record(kind: LogEntry[1], status: number): void {
    const t = Date.now();
    if (kind === 'jwks') this.counters.jwks++;
    else if (kind === 'discovery') this.counters.discovery++;
    if (status === 0 || status >= 400) this.counters.failed++;
    this.log.push([t, kind, status]);
  }

  #onPublic(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    const kind: LogEntry[1] = path === '/.well-known/jwks.json' ? 'jwks' : path === '/.well-known/openid-configuration' ? 'discovery' : 'other';
    const mode = this.mode;
    if (mode === 'hang') {
      this.#record(kind, 0);
      this.#hung.add(res);
      res.on('close', () => this.#hung.delete(res));
      return;
    }
    if (mode === 'reset' || mode === 'refuse') {
      this.#record(kind, 0);
      req.socket.destroy();
      return;
    }
    if (mode === '503') {
      this.#record(kind, 503);
      res.writeHead(503, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('service unavailable');
      return;
    }
    if (mode === 'garbage') {
      this.#record(kind, 200);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>maintenance</body></html>');
      return;
    }
    // answer with the state at request time, after a delay in slow mode
    const answer = this.#answer(kind, req);
    if (mode === 'slow') setTimeout(() => answer(res), this.slowMs);
    else answer(res);
  }

  #answer(kind: LogEntry[1], req: IncomingMessage): (res: ServerResponse) => void {
    if (kind === 'discovery') {
      this.#record(kind, 200);
      const body = JSON.stringify({ issuer: ISSUER, jwks_uri: this.jwksUrl, id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'] });
      return (res) => res.writeHead(200, { 'content-type': 'application/json', 'cache-control': `max-age=${this.maxAgeSec}` }).end(body);
    }
    if (kind === 'other') {
      this.#record(kind, 404);
      return (res) => res.writeHead(404).end();
    }
    const inm = req.headers['if-none-match'];
    if (inm !== undefined) this.counters.conditional++;
    const headers = { 'content-type': 'application/json', 'cache-control': `max-age=${this.maxAgeSec}`, etag: this.#etag };
    const notModified = inm === this.#etag;
    const body = this.#body;
    this.#record(kind, notModified ? 304 : 200);
    if (notModified) this.counters.notModified++;
    this.lastJwksAt = Date.now();
    return (res) => {
      if (notModified) res.writeHead(304, headers).end();
      else res.writeHead(200, headers).end(body);
      // a rotation waiting for "the next fetch" happens once this answer is on its way
      if (this.#fetchWaiters.length > 0) {
        const ws = this.#fetchWaiters;
        this.#fetchWaiters = [];
        const t = Date.now();
        for (const w of ws) w(t);
      }
    };
  }

  async #onControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const send = (v: unknown): void => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
    };
    switch (req.url) {
      case '/state':
        return send(this.state());
      case '/log':
        return send({ log: this.log, counters: this.counters });
      case '/reset':
        this.resetCounters();
        return send(this.state());
      case '/publish':
        this.publish(body.kids as string[]);
        return send(this.state());
      case '/mode':
        await this.setMode(body.mode as IdpMode, body.slowMs as number | undefined);
        return send(this.state());
      case '/max-age':
        this.maxAgeSec = Number(body.maxAgeSec);
        return send(this.state());
      case '/rotate':
        return send(await this.rotate(body as unknown as RotateCommand));
      case '/mint':
        return send({ tokens: await this.mint(body as unknown as MintCommand) });
      default:
        res.writeHead(404).end();
    }
  }
}
