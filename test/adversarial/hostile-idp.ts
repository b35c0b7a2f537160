/**
 * A hostile identity provider for the adversarial tests: a real `node:http` server on
 * 127.0.0.1:0 whose every answer is a scripted {@link Step}, plus the fetch-seam faults that a
 * server cannot produce (DNS lookups that hang or fail), compression bombs, the R6 garbage
 * catalogue and the hostile key sets of threats.md section C.
 *
 * What answers a request, first match wins: a per-path route (`idp.route(path, step)`), the
 * one-shot queue (`idp.next(step)`, consumed in order), then the standing `idp.mode`.
 * Every request is recorded (`idp.requests`) with what the server managed to write and
 * whether the client hung up first, so "aborted early" is observable from the server side.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zlib from 'node:zlib';
import type { FetchLike, Scheduler, TimerHandle } from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Behaviours
// ---------------------------------------------------------------------------------------------

export type BombEncoding = 'gzip' | 'br' | 'deflate';

/** One scripted answer. */
export type Step =
  /** The current key set (`idp.keys`) with ETag / Cache-Control; 304 on a matching If-None-Match. */
  | { kind: 'jwks'; headers?: Record<string, string> }
  /** A fixed body. `contentType: null` sends no content type. */
  | { kind: 'body'; body: string | Buffer; status?: number; contentType?: string | null; headers?: Record<string, string> }
  /** Wait `ms` before answering with `then` (slow headers). */
  | { kind: 'delay'; ms: number; then: Step }
  /** Headers at once, then the body one byte per `intervalMs` (slow loris). Default body: the key set. */
  | { kind: 'drip'; intervalMs: number; body?: string }
  /** A chunked 200 that never ends: `chunk` every `intervalMs`, forever. */
  | { kind: 'endless'; intervalMs: number; chunk?: string }
  /** A compression bomb: about 1 MiB (br: about 190 KiB) on the wire, 1 GiB decoded. */
  | { kind: 'bomb'; encoding: BombEncoding }
  /** The key set with `count` one-byte whitespace chunks before it (chunked encoding): chunk-count amplification. */
  | { kind: 'chunks'; count: number }
  /** A `bytes`-long JSON body streamed in 64 KiB chunks, with or without a Content-Length. */
  | { kind: 'big'; bytes: number; declareLength?: boolean }
  /** A redirect. */
  | { kind: 'redirect'; status?: number; location: string }
  /** Declare the full key set's length, send `afterBytes` of it, then reset the connection. */
  | { kind: 'reset'; afterBytes?: number }
  /** A bare status (429, 503 ...), optionally with Retry-After. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Destroy the socket without answering (connection reset / refused-like). */
  | { kind: 'refuse' }
  /** Pick a failure with probability `pFail`, else `ok`, from a seeded PRNG. */
  | { kind: 'flap'; rng: () => number; pFail: number; failures: Step[]; ok?: Step };

/** mulberry32: a tiny seeded PRNG, deterministic across runs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A flapping IdP: `failures` picked uniformly with probability `pFail`, else `ok` (the key set). */
export function flap(seed: number, pFail: number, failures: Step[], ok: Step = { kind: 'jwks' }): Step {
  return { kind: 'flap', rng: seededRandom(seed), pFail, failures, ok };
}

/** What the server saw of one request. */
export interface RequestRecord {
  readonly n: number;
  readonly path: string;
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  /** The step kind that answered (after resolving `delay` and `flap`). */
  kind: string;
  /** The step that answered (after resolving `flap`). */
  step: Step | undefined;
  /** Status sent, when headers went out. */
  status: number | undefined;
  /** Body bytes handed to the socket (before content-coding for `big`, compressed for `bomb`). */
  bytesWritten: number;
  /** The server finished its answer. */
  finished: boolean;
  /** The client closed the connection before the server finished. */
  clientClosed: boolean;
  /**
   * Settles when the server is done with the response: it finished, or the connection closed
   * (then `clientClosed` is true). In-memory (`idp.fetch`) records settle at once.
   */
  readonly closed: Promise<void>;
}

/** A real-timer {@link Scheduler} (not unref'd: the server's own timers). */
const realTimers: Scheduler = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

// ---------------------------------------------------------------------------------------------
// Compression bombs: generated once per process, cached.
// ---------------------------------------------------------------------------------------------

/** Decoded size of every bomb. */
export const BOMB_INFLATED_BYTES = 1024 * 1024 * 1024;
const SEGMENT_BYTES = 16 * 1024 * 1024;

let segmentMemo: { segment: Buffer; final: Buffer; crc: number } | undefined;
/**
 * A raw-deflate segment that inflates to 16 MiB of zeros and ends with a full flush (byte
 * aligned, window reset), so N copies in a row are a valid deflate stream of N × 16 MiB.
 * That builds a 1 GiB bomb in well under a second instead of deflating 1 GiB (≈ 4.5 s).
 */
function deflateSegment(): { segment: Buffer; final: Buffer; crc: number } {
  if (!segmentMemo) {
    const zeros = Buffer.alloc(SEGMENT_BYTES);
    const segment = zlib.deflateRawSync(zeros, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
    const final = zlib.deflateRawSync(Buffer.alloc(0)); // one empty final block
    let crc = 0;
    for (let i = 0; i < BOMB_INFLATED_BYTES / SEGMENT_BYTES; i++) crc = zlib.crc32(zeros, crc);
    segmentMemo = { segment, final, crc: crc >>> 0 };
  }
  return segmentMemo;
}

/** Assemble a gzip or zlib (`deflate`) stream of `inflated` zero bytes (a multiple of 16 MiB). */
export function assembleDeflateBomb(format: 'gzip' | 'deflate', inflated: number, crc?: number): Buffer {
  const { segment, final } = deflateSegment();
  const n = inflated / SEGMENT_BYTES;
  if (!Number.isInteger(n) || n < 1) throw new Error('inflated size must be a positive multiple of 16 MiB');
  const body = [...(Array.from({ length: n }, () => segment) as Buffer[]), final];
  if (format === 'deflate') {
    // zlib header (deflate, 32 KiB window, max compression) + Adler-32 of n zero bytes: a = 1, b = n mod 65521.
    const adler = Buffer.alloc(4);
    adler.writeUInt32BE((((inflated % 65521) << 16) | 1) >>> 0);
    return Buffer.concat([Buffer.from([0x78, 0xda]), ...body, adler]);
  }
  let c = crc;
  if (c === undefined) {
    const zeros = Buffer.alloc(SEGMENT_BYTES);
    c = 0;
    for (let i = 0; i < n; i++) c = zlib.crc32(zeros, c);
  }
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(c >>> 0, 0);
  trailer.writeUInt32LE(inflated % 2 ** 32, 4);
  return Buffer.concat([header, ...body, trailer]);
}

async function brotliBomb(): Promise<Buffer> {
  const z = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
  const out: Buffer[] = [];
  z.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    z.on('end', resolve);
    z.on('error', reject);
  });
  const chunk = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < BOMB_INFLATED_BYTES; written += chunk.length) {
    if (!z.write(chunk)) await new Promise<void>((resolve) => z.once('drain', resolve));
  }
  z.end();
  await done;
  return Buffer.concat(out);
}

const bombs = new Map<BombEncoding, Promise<Buffer>>();
/** The bomb for `encoding`: 1 GiB of zeros decoded; built on first use and cached for the process. */
export function getBomb(encoding: BombEncoding): Promise<Buffer> {
  let p = bombs.get(encoding);
  if (!p) {
    p =
      encoding === 'br'
        ? brotliBomb()
        : Promise.resolve().then(() => assembleDeflateBomb(encoding, BOMB_INFLATED_BYTES, deflateSegment().crc));
    bombs.set(encoding, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

const JSON_TYPE = 'application/json';

export class HostileIdp {
  /** The key set served by `jwks` steps: any JSON values (hostile entries included). */
  keys: unknown[] = [];
  /** The standing behaviour. */
  mode: Step = { kind: 'jwks' };
  readonly queue: Step[] = [];
  readonly routes = new Map<string, Step>();
  cacheControl: string | undefined = 'max-age=600';
  /** Send ETags and answer 304 to a matching If-None-Match. */
  etags = true;
  readonly requests: RequestRecord[] = [];
  /** Time source for request records; tests with a ManualClock replace it. */
  now: () => number = () => performance.now();
  /**
   * Timers of the scripted steps (`delay`, `drip`, `endless`). Tests pass a ManualClock so a
   * "5 s" delay lasts 5 s of test time, not of real time: then the cache's deadline (on the same
   * clock) and the server's schedule are ordered by the clock alone.
   */
  scheduler: Scheduler = realTimers;
  readonly server: Server;
  origin = '';
  url = '';
  readonly #sockets = new Set<Socket>();
  readonly #timers = new Map<TimerHandle, Scheduler>();
  readonly #arrivals: { n: number; resolve: (r: RequestRecord) => void }[] = [];
  #stopped = false;

  constructor(readonly path = '/.well-known/jwks.json') {
    this.server = createServer((req, res) => this.#handle(req, res));
    this.server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    this.url = `${this.origin}${this.path}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.clearTimers();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get hits(): number {
    return this.requests.length;
  }

  /** Cancel the pending timers of scripted steps (a test switching clocks calls this). */
  clearTimers(): void {
    for (const [t, scheduler] of this.#timers) scheduler.clearTimeout(t);
    this.#timers.clear();
  }

  /**
   * Resolves with the `n`-th request (1-based, counting every request since start) once the
   * server has received it and started its scripted answer. `idp.request(idp.hits + 1)` is
   * "the next request": ordering by the server's own event instead of polling.
   */
  request(n: number): Promise<RequestRecord> {
    const r = this.requests[n - 1];
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => this.#arrivals.push({ n, resolve }));
  }

  /** Requests for one path. */
  hitsOn(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  /** Queue one-shot answers for the next requests (routes still win). */
  next(...steps: Step[]): this {
    this.queue.push(...steps);
    return this;
  }

  route(path: string, step: Step): this {
    this.routes.set(path, step);
    return this;
  }

  jwksText(): string {
    return JSON.stringify({ keys: this.keys });
  }

  #decide(path: string): Step {
    let step = this.routes.get(path) ?? this.queue.shift() ?? this.mode;
    while (step.kind === 'flap') {
      const s: Extract<Step, { kind: 'flap' }> = step;
      if (s.rng() < s.pFail) step = s.failures[Math.floor(s.rng() * s.failures.length)] ?? { kind: 'status', status: 503 };
      else step = s.ok ?? { kind: 'jwks' };
    }
    return step;
  }

  #record(req: { path: string; headers: IncomingHttpHeaders }, closed: Promise<void>): RequestRecord {
    const r: RequestRecord = {
      n: this.requests.length + 1,
      path: req.path,
      at: this.now(),
      headers: req.headers,
      kind: 'pending',
      step: undefined,
      status: undefined,
      bytesWritten: 0,
      finished: false,
      clientClosed: false,
      closed,
    };
    this.requests.push(r);
    return r;
  }

  /** Tell `request(n)` waiters (after the step started, so its first bytes are out). */
  #arrived(r: RequestRecord): void {
    for (let i = this.#arrivals.length - 1; i >= 0; i--) {
      const a = this.#arrivals[i]!;
      if (a.n === r.n) {
        this.#arrivals.splice(i, 1);
        a.resolve(r);
      }
    }
  }

  #later(ms: number, fn: () => void): void {
    const scheduler = this.scheduler;
    const t = scheduler.setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#stopped) fn();
    }, ms);
    this.#timers.set(t, scheduler);
  }

  #jwksAnswer(ifNoneMatch: string | undefined, extra: Record<string, string> = {}): { status: number; headers: Record<string, string>; body: string } {
    const body = this.jwksText();
    const headers: Record<string, string> = { 'content-type': JSON_TYPE, ...extra };
    if (this.cacheControl) headers['cache-control'] = this.cacheControl;
    if (this.etags) {
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
      headers['etag'] = etag;
      if (ifNoneMatch === etag) return { status: 304, headers, body: '' };
    }
    return { status: 200, headers, body };
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let onClose!: () => void;
    const closed = new Promise<void>((resolve) => (onClose = resolve));
    const rec = this.#record({ path, headers: req.headers }, closed);
    res.on('close', () => {
      if (!res.writableFinished) rec.clientClosed = true;
      onClose();
    });
    this.#run(this.#decide(path), req, res, rec);
    this.#arrived(rec);
  }

  #run(step: Step, req: IncomingMessage, res: ServerResponse, rec: RequestRecord): void {
    if (step.kind !== 'delay') rec.kind = step.kind;
    rec.step ??= step;
    const head = (status: number, headers: Record<string, string>): void => {
      rec.status = status;
      res.writeHead(status, headers);
    };
    const end = (body?: string | Buffer): void => {
      const done = (): void => {
        rec.finished = true;
      };
      if (body === undefined) {
        res.end(done);
        return;
      }
      rec.bytesWritten += Buffer.byteLength(body);
      res.end(body, done);
    };
    switch (step.kind) {
      case 'jwks': {
        const inm = req.headers['if-none-match'];
        const a = this.#jwksAnswer(typeof inm === 'string' ? inm : undefined, step.headers);
        head(a.status, a.headers);
        end(a.status === 304 ? undefined : a.body);
        return;
      }
      case 'body': {
        const headers: Record<string, string> = { ...step.headers };
        const ct = step.contentType === undefined ? JSON_TYPE : step.contentType;
        if (ct !== null) headers['content-type'] = ct;
        head(step.status ?? 200, headers);
        end(step.body);
        return;
      }
      case 'delay':
        this.#later(step.ms, () => {
          if (!res.destroyed) this.#run(step.then, req, res, rec);
        });
        return;
      case 'drip': {
        const body = Buffer.from(step.body ?? this.jwksText());
        head(200, { 'content-type': JSON_TYPE, 'content-length': String(body.length) });
        let i = 0;
        const tick = (): void => {
          if (res.destroyed) return;
          if (i >= body.length) return end();
          res.write(body.subarray(i, i + 1));
          rec.bytesWritten++;
          i++;
          this.#later(step.intervalMs, tick);
        };
        tick();
        return;
      }
      case 'endless': {
        head(200, { 'content-type': JSON_TYPE });
        res.write('{"keys":[');
        const chunk = step.chunk ?? ' ';
        const tick = (): void => {
          if (res.destroyed) return;
          res.write(chunk);
          rec.bytesWritten += Buffer.byteLength(chunk);
          this.#later(step.intervalMs, tick);
        };
        tick();
        return;
      }
      case 'bomb':
        void getBomb(step.encoding).then((bomb) => {
          if (res.destroyed) return;
          head(200, { 'content-type': JSON_TYPE, 'content-encoding': step.encoding, 'content-length': String(bomb.length) });
          end(bomb);
        });
        return;
      case 'big': {
        const headers: Record<string, string> = { 'content-type': JSON_TYPE };
        if (step.declareLength) headers['content-length'] = String(step.bytes);
        head(200, headers);
        void this.#writeBig(res, step.bytes, rec).then(() => {
          if (!res.destroyed) end();
        });
        return;
      }
      case 'redirect':
        head(step.status ?? 302, { location: step.location });
        end();
        return;
      case 'chunks': {
        head(200, { 'content-type': JSON_TYPE });
        const text = this.jwksText();
        void (async () => {
          res.write('{');
          for (let i = 0; i < step.count && !res.destroyed; i++) {
            rec.bytesWritten++;
            if (!res.write(' ')) {
              await new Promise<void>((resolve) => {
                const done = (): void => {
                  res.off('drain', done);
                  res.off('close', done);
                  resolve();
                };
                res.on('drain', done);
                res.on('close', done);
              });
            }
          }
          if (!res.destroyed) end(text.slice(1));
        })();
        return;
      }
      case 'reset': {
        const body = Buffer.from(this.jwksText());
        const n = Math.min(step.afterBytes ?? Math.floor(body.length / 2), body.length - 1);
        head(200, { 'content-type': JSON_TYPE, 'content-length': String(body.length) });
        res.write(body.subarray(0, n), () => {
          rec.bytesWritten += n;
          const s = req.socket as Socket & { resetAndDestroy?: () => void };
          if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
          else s.destroy();
        });
        return;
      }
      case 'status': {
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (step.retryAfter !== undefined) headers['retry-after'] = step.retryAfter;
        head(step.status, headers);
        end(step.body ?? 'unavailable');
        return;
      }
      case 'hang':
        return;
      case 'refuse':
        req.socket.destroy();
        return;
      case 'flap':
        throw new Error('flap is resolved by #decide');
    }
  }

  async #writeBig(res: ServerResponse, total: number, rec: RequestRecord): Promise<void> {
    const open = Buffer.from('{"keys":[],"pad":"');
    const close = Buffer.from('"}');
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = total;
    const write = async (b: Buffer): Promise<void> => {
      if (res.destroyed) return;
      rec.bytesWritten += b.length;
      if (!res.write(b)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    };
    await write(open);
    left -= open.length + close.length;
    while (left > 0 && !res.destroyed) {
      const b = left >= chunk.length ? chunk : chunk.subarray(0, left);
      await write(b);
      left -= b.length;
    }
    await write(close);
  }

  // -------------------------------------------------------------------------------------------
  // The same behaviours without sockets, for simulations on a ManualClock.
  // -------------------------------------------------------------------------------------------

  /**
   * An in-memory fetch with the same routes/queue/mode. Supports `jwks`, `body`, `status`,
   * `redirect`, `refuse`, `hang` (honours abort) and `flap`; the socket-level steps (delay,
   * drip, endless, bomb, big, reset) need the real server.
   */
  readonly fetch: FetchLike = (input, init) => {
    const path = new URL(input).pathname;
    const headers: IncomingHttpHeaders = {};
    for (const [k, v] of Object.entries(init.headers)) headers[k] = v;
    const rec = this.#record({ path, headers }, Promise.resolve());
    const step = this.#decide(path);
    rec.kind = step.kind;
    rec.step = step;
    queueMicrotask(() => this.#arrived(rec));
    const respond = (status: number, h: Record<string, string>, body: string | Buffer | null): Promise<Response> => {
      rec.status = status;
      rec.finished = true;
      rec.bytesWritten = body === null ? 0 : Buffer.byteLength(body);
      return Promise.resolve(new Response(body === null || status === 304 ? null : body, { status, headers: h }));
    };
    switch (step.kind) {
      case 'jwks': {
        const a = this.#jwksAnswer(init.headers['if-none-match'], step.headers);
        return respond(a.status, a.headers, a.status === 304 ? null : a.body);
      }
      case 'body': {
        const h: Record<string, string> = { ...step.headers };
        const ct = step.contentType === undefined ? JSON_TYPE : step.contentType;
        if (ct !== null) h['content-type'] = ct;
        return respond(step.status ?? 200, h, step.body);
      }
      case 'status': {
        const h: Record<string, string> = { 'content-type': 'text/plain' };
        if (step.retryAfter !== undefined) h['retry-after'] = step.retryAfter;
        return respond(step.status, h, step.body ?? 'unavailable');
      }
      case 'redirect':
        return respond(step.status ?? 302, { location: step.location }, null);
      case 'refuse':
        return Promise.reject(networkError('connect ECONNREFUSED 127.0.0.1:443', 'ECONNREFUSED'));
      case 'hang':
        return new Promise<Response>((_resolve, reject) => {
          init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true });
        });
      default:
        return Promise.reject(new Error(`step ${step.kind} needs the real server`));
    }
  };
}

/** A second loopback server that only counts hits (and serves a valid-looking set if reached). */
export class CountingServer {
  hits = 0;
  readonly server: Server;
  origin = '';
  body = '{"keys":[]}';
  readonly #sockets = new Set<Socket>();

  constructor() {
    this.server = createServer((_req, res) => {
      this.hits++;
      res.writeHead(200, { 'content-type': JSON_TYPE });
      res.end(this.body);
    });
    this.server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------------------------
// The fetch seam: name resolution faults and a loopback "resolver"
// ---------------------------------------------------------------------------------------------

/** An error shaped like undici's for a failed connection or lookup. */
export function networkError(message: string, code: string, extra: Record<string, unknown> = {}): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code, ...extra }) });
}

/**
 * Routes configured hostnames to loopback servers: `https://idp.test/jwks` can be served by
 * `http://127.0.0.1:PORT`, so https-only URLs and cross-host redirects are testable on one
 * machine. Unmapped hosts fail like an unknown name. Redirects are never followed here.
 */
export function loopbackResolver(map: Record<string, string>, inner: FetchLike = (i, init) => fetch(i, init)): FetchLike {
  return (input, init) => {
    const u = new URL(input);
    const target = map[u.host] ?? map[u.hostname];
    if (target === undefined) return Promise.reject(networkError(`getaddrinfo ENOTFOUND ${u.hostname}`, 'ENOTFOUND', { syscall: 'getaddrinfo', hostname: u.hostname }));
    return inner(new URL(`${u.pathname}${u.search}`, target).href, init);
  };
}

export type DnsMode = 'ok' | 'hang' | 'enotfound';

/**
 * Wraps a fetch with a name-resolution stage that can hang forever (ignoring the abort signal,
 * as a blocked `getaddrinfo` does) or fail with ENOTFOUND. Switch `mode` at any time.
 */
export class DnsFaultFetch {
  mode: DnsMode = 'ok';
  lookups = 0;
  readonly #lookupWaiters: { n: number; resolve: () => void }[] = [];

  /** Resolves once the `n`-th lookup (1-based) has started: `dns.lookup(dns.lookups + 1)` is the next one. */
  lookup(n: number): Promise<void> {
    if (this.lookups >= n) return Promise.resolve();
    return new Promise((resolve) => this.#lookupWaiters.push({ n, resolve }));
  }
  /** Lookups hanging now. */
  get hanging(): number {
    return this.#pending.size;
  }
  readonly #pending = new Set<(err: Error) => void>();

  constructor(readonly inner: FetchLike) {}

  readonly fetch: FetchLike = (input, init) => {
    this.lookups++;
    for (let i = this.#lookupWaiters.length - 1; i >= 0; i--) {
      const w = this.#lookupWaiters[i]!;
      if (w.n <= this.lookups) {
        this.#lookupWaiters.splice(i, 1);
        w.resolve();
      }
    }
    const host = new URL(input).hostname;
    if (this.mode === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        this.#pending.add(reject); // deliberately deaf to init.signal
      });
    }
    if (this.mode === 'enotfound') {
      return Promise.reject(networkError(`getaddrinfo ENOTFOUND ${host}`, 'ENOTFOUND', { errno: -3008, syscall: 'getaddrinfo', hostname: host }));
    }
    return this.inner(input, init);
  };

  /** Fail every hanging lookup (test cleanup). */
  release(): void {
    for (const reject of this.#pending) reject(networkError('lookup released', 'EAI_AGAIN'));
    this.#pending.clear();
  }
}

/**
 * Wraps a fetch and counts, per response, the body bytes the client actually pulled (the
 * wrapper reads from the real body only when the client asks: high-water mark 0). "Refused
 * before reading the body" is then `reads.at(-1).bytes === 0`, not a phrase in a message.
 */
export function countingFetch(inner: FetchLike = (i, init) => fetch(i, init)): { fetch: FetchLike; reads: { status: number; bytes: number }[] } {
  const reads: { status: number; bytes: number }[] = [];
  const wrapped: FetchLike = async (input, init) => {
    const res = await inner(input, init);
    const count = { status: res.status, bytes: 0 };
    reads.push(count);
    if (res.body === null) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) return c.close();
          count.bytes += value.byteLength;
          c.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return { fetch: wrapped, reads };
}

/**
 * A fetch that ignores its abort signal and answers only when the test calls `release()`, with
 * a response whose body is `body`: an old response arriving after the client gave up (F5).
 * `called` resolves when the fetch was invoked; `consumed` when the late body was either read
 * to its end or cancelled, i.e. when the client is done with the late answer, whatever it did.
 */
export function heldFetch(body: string): { fetch: FetchLike; called: Promise<void>; release: () => void; consumed: Promise<'read' | 'cancelled'> } {
  let onCall!: () => void;
  const called = new Promise<void>((resolve) => (onCall = resolve));
  let answer!: (r: Response) => void;
  const answered = new Promise<Response>((resolve) => (answer = resolve));
  let onDone!: (how: 'read' | 'cancelled') => void;
  const consumed = new Promise<'read' | 'cancelled'>((resolve) => (onDone = resolve));
  const bytes = new TextEncoder().encode(body);
  let sent = false;
  const release = (): void => {
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (!sent) {
          sent = true;
          c.enqueue(bytes);
        } else {
          c.close();
          onDone('read');
        }
      },
      cancel() {
        onDone('cancelled');
      },
    });
    answer(new Response(stream, { headers: { 'content-type': 'application/json' } }));
  };
  const fetch: FetchLike = () => {
    onCall();
    return answered; // deliberately deaf to init.signal
  };
  return { fetch, called, release, consumed };
}

// ---------------------------------------------------------------------------------------------
// Hostile documents
// ---------------------------------------------------------------------------------------------

type Jwk = Record<string, unknown>;

/** The full private JWK of a key pair (what a leaking IdP would publish). */
export function privateJwk(privateKey: KeyObject, kid: string): Jwk {
  return { ...privateKey.export({ format: 'jwk' }), kid };
}

/** An HMAC key as an IdP might (wrongly) publish it; `withSecret` adds the secret `k`. */
export function octJwk(kid: string, withSecret: boolean): Jwk {
  const jwk: Jwk = { kty: 'oct', kid, alg: 'HS256', use: 'sig' };
  if (withSecret) jwk.k = Buffer.from('a-shared-secret-of-32-bytes-long').toString('base64url');
  return jwk;
}

/** An EC public key moved off its curve (lowest bit of y flipped). */
export function offCurve(jwk: Jwk, kid: string): Jwk {
  const y = Buffer.from(jwk.y as string, 'base64url');
  y[y.length - 1] = (y[y.length - 1] ?? 0) ^ 1;
  return { ...jwk, kid, y: y.toString('base64url') };
}

/** The point (0, 0) on P-256 coordinates. */
export function zeroPoint(kid: string): Jwk {
  const z = Buffer.alloc(32).toString('base64url');
  return { kty: 'EC', crv: 'P-256', kid, x: z, y: z };
}

/** A 1024-bit RSA public key (below the 2048-bit floor) with its private key. */
export function tinyRsa(kid: string): { jwk: Jwk; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return { jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256' }, privateKey };
}

/** `count` entries with distinct kids and the same public material (cheap to build, 100k fine). */
export function manyKeys(base: Jwk, count: number, prefix = 'many-'): Jwk[] {
  const out: Jwk[] = new Array<Jwk>(count);
  for (let i = 0; i < count; i++) out[i] = { ...base, kid: `${prefix}${i}` };
  return out;
}

/** A kid of `length` characters, with a few non-printable ones to exercise log sanitising. */
export function hugeKid(length: number): string {
  return `\u0000\n\u001b[31m${'K'.repeat(Math.max(0, length - 8))}`.slice(0, length);
}

let opensslOk: boolean | undefined;
/** True when the openssl CLI can build certificates here. */
export function haveOpenssl(): boolean {
  if (opensslOk === undefined) {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
      opensslOk = true;
    } catch {
      opensslOk = false;
    }
  }
  return opensslOk;
}

/** A self-signed DER certificate (standard base64, as `x5c` wants) for a private key, via the openssl CLI. */
export function selfSignedCert(privateKey: KeyObject): string {
  const dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-adv-'));
  try {
    writeFileSync(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    execFileSync('openssl', ['req', '-x509', '-new', '-key', 'key.pem', '-subj', '/CN=hostile-idp', '-days', '2', '-outform', 'DER', '-out', 'cert.der'], {
      cwd: dir,
      stdio: 'ignore',
    });
    return readFileSync(join(dir, 'cert.der')).toString('base64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** R6: every garbage answer of the reliability table, with the refresh error code it must produce. */
export interface GarbageCase {
  readonly name: string;
  readonly step: Step;
  readonly code: string;
}

/** The R6 catalogue. `leak` is a private JWK to publish; `good` a valid public JWK. */
export function r6Catalogue(leak: Jwk, good: Jwk): GarbageCase[] {
  const body = (b: string, contentType?: string | null): Step => ({ kind: 'body', body: b, ...(contentType !== undefined ? { contentType } : {}) });
  return [
    { name: '{"keys":[]}', step: body('{"keys":[]}'), code: 'JWKS_NO_USABLE_KEYS' },
    { name: '{}', step: body('{}'), code: 'JWKS_MALFORMED' },
    { name: 'HTML login page (text/html)', step: body('<!doctype html><html><body>Sign in</body></html>', 'text/html; charset=utf-8'), code: 'JWKS_MALFORMED' },
    { name: 'HTML labelled application/json', step: body('<html>maintenance</html>'), code: 'JWKS_MALFORMED' },
    { name: 'truncated JSON', step: body(JSON.stringify({ keys: [good] }).slice(0, 40)), code: 'JWKS_MALFORMED' },
    { name: 'invalid UTF-8', step: { kind: 'body', body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) }, code: 'JWKS_MALFORMED' },
    {
      name: 'all-invalid keys',
      step: body(JSON.stringify({ keys: [{ kty: 'RSA', n: 'AQAB', e: 'AQAB' }, zeroPoint('z'), { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }, { kty: 'XYZ' }, 7, null] })),
      code: 'JWKS_NO_USABLE_KEYS',
    },
    { name: 'only oct', step: body(JSON.stringify({ keys: [octJwk('h1', false), octJwk('h2', false)] })), code: 'JWKS_NO_USABLE_KEYS' },
    { name: 'private keys', step: body(JSON.stringify({ keys: [good, leak] })), code: 'JWKS_PRIVATE_KEY' },
    { name: '10 MB body', step: { kind: 'big', bytes: 10 * 1024 * 1024 }, code: 'JWKS_TOO_LARGE' },
    { name: 'gzip bomb', step: { kind: 'bomb', encoding: 'gzip' }, code: 'JWKS_TOO_LARGE' },
    { name: '301', step: { kind: 'redirect', status: 301, location: '/moved' }, code: 'JWKS_REDIRECT' },
    { name: 'wrong content type (text/plain)', step: body(JSON.stringify({ keys: [good] }), 'text/plain'), code: 'JWKS_MALFORMED' },
    { name: 'reset mid-body', step: { kind: 'reset', afterBytes: 10 }, code: 'JWKS_NETWORK' },
    { name: 'null', step: body('null'), code: 'JWKS_MALFORMED' },
    { name: '500', step: { kind: 'status', status: 500 }, code: 'JWKS_HTTP_STATUS' },
  ];
}
