import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FetchLike } from '../../src/fetch/transport.js';
import type { SigningKey } from './keys.js';

export type IdpMode = 'ok' | '503' | '429' | 'refuse' | 'hang' | 'garbage';

/**
 * The IdP's behaviour, shared by the in-memory fetch (for injected-clock simulations) and the
 * real HTTP server (for socket tests). Counts every request.
 */
export class FakeIdp {
  keys: Record<string, unknown>[] = [];
  mode: IdpMode = 'ok';
  /** Body served instead of the key set (for garbage cases). */
  body: string | undefined;
  contentType = 'application/json';
  cacheControl: string | undefined = 'max-age=600';
  retryAfter: string | undefined;
  requests = 0;
  conditionalRequests = 0;
  notModified = 0;
  /** Request log: monotonic times, if a clock is attached. */
  log: number[] = [];
  now: () => number = () => 0;

  constructor(...keys: SigningKey[]) {
    this.publish(...keys);
  }

  publish(...keys: SigningKey[]): void {
    this.keys = keys.map((k) => k.jwk);
  }

  add(...keys: SigningKey[]): void {
    this.keys = [...this.keys, ...keys.map((k) => k.jwk)];
  }

  bodyText(): string {
    return this.body ?? JSON.stringify({ keys: this.keys });
  }

  etag(): string {
    return `"${createHash('sha256').update(this.bodyText()).digest('base64url').slice(0, 16)}"`;
  }

  /** Decide the answer to one request. */
  answer(ifNoneMatch: string | null): { status: number; headers: Record<string, string>; body: string } | 'refuse' | 'hang' {
    this.requests++;
    this.log.push(this.now());
    if (ifNoneMatch) this.conditionalRequests++;
    switch (this.mode) {
      case 'refuse':
        return 'refuse';
      case 'hang':
        return 'hang';
      case '503':
      case '429': {
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (this.retryAfter) headers['retry-after'] = this.retryAfter;
        return { status: Number(this.mode), headers, body: 'unavailable' };
      }
      case 'garbage':
        return { status: 200, headers: { 'content-type': this.contentType }, body: this.body ?? '<html>oops</html>' };
      case 'ok':
        break;
    }
    const etag = this.etag();
    const headers: Record<string, string> = { 'content-type': this.contentType, etag };
    if (this.cacheControl) headers['cache-control'] = this.cacheControl;
    if (ifNoneMatch === etag) {
      this.notModified++;
      return { status: 304, headers, body: '' };
    }
    return { status: 200, headers, body: this.bodyText() };
  }

  /** An in-memory fetch (no sockets), for simulations with an injected clock. */
  readonly fetch: FetchLike = (_url, init) => {
    const a = this.answer(init.headers['if-none-match'] ?? null);
    if (a === 'refuse') return Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) }));
    if (a === 'hang') {
      return new Promise((_resolve, reject) => {
        init.signal.addEventListener('abort', () => reject(init.signal.reason), { once: true });
      });
    }
    return Promise.resolve(new Response(a.status === 304 ? null : a.body, { status: a.status, headers: a.headers }));
  };
}

/** A real HTTP server on 127.0.0.1 port 0 serving a FakeIdp. */
export class HttpIdp {
  readonly server: Server;
  url = '';
  readonly sockets = new Set<import('node:net').Socket>();

  constructor(readonly idp: FakeIdp, readonly path = '/.well-known/jwks.json') {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== this.path) {
        res.writeHead(404).end();
        return;
      }
      const inm = req.headers['if-none-match'];
      const a = idp.answer(typeof inm === 'string' ? inm : null);
      if (a === 'refuse') {
        req.socket.destroy();
        return;
      }
      if (a === 'hang') return; // never answer
      res.writeHead(a.status, a.headers);
      res.end(a.status === 304 ? undefined : a.body);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}${this.path}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
