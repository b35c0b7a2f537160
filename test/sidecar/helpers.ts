/** SSE client and webhook receiver for the sidecar tests (real sockets on 127.0.0.1). */
import { createServer, get, request } from 'node:http';
import type { ClientRequest, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: Record<string, unknown>;
}

/** A Server-Sent-Events client that parses frames and lets tests wait for one. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  readonly req: ClientRequest;
  readonly connected: Promise<IncomingMessage>;
  readonly closed: Promise<void>;
  #waiters: { test: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    let onRes!: (r: IncomingMessage) => void;
    let onClose!: () => void;
    this.connected = new Promise((resolve) => (onRes = resolve));
    this.closed = new Promise((resolve) => (onClose = resolve));
    this.req = get(url, { headers, agent: false }, (res) => {
      this.status = res.statusCode ?? 0;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          this.#frame(buf.slice(0, i));
          buf = buf.slice(i + 2);
        }
      });
      res.on('close', onClose);
      onRes(res);
    });
    this.req.on('error', () => onClose());
  }

  #frame(text: string): void {
    let id: string | undefined;
    let event = 'message';
    let data = '';
    for (const line of text.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) return;
    const e: SseEvent = { id, event, data: JSON.parse(data) as Record<string, unknown> };
    this.events.push(e);
    this.#waiters = this.#waiters.filter((w) => (w.test(e) ? (w.resolve(e), false) : true));
  }

  waitFor(test: (e: SseEvent) => boolean): Promise<SseEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }

  close(): void {
    this.req.destroy();
  }
}

export interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A webhook receiver: records every POST; answers with the next scripted status (default 200). */
export class Receiver {
  readonly server: Server;
  readonly received: Received[] = [];
  url = '';
  statuses: number[] = [];
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body });
        res.writeHead(this.statuses.shift() ?? 200).end();
        this.#waiters = this.#waiters.filter((w) => (this.received.length >= w.n ? (w.resolve(), false) : true));
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Resolve once `n` requests have been received. */
  waitForCount(n: number): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One HTTP request with a raw body; resolves with status, headers and text. */
export function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: IncomingMessage['headers']; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
