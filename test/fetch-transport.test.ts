import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { ConfigError, KeysUnavailableError, type KeysUnavailableCode } from '../src/errors.js';
import {
  checkJwksUrl,
  fetchJwksDocument,
  isLoopbackHost,
  type FetchLike,
  type TransportLimits,
  type TransportResult,
} from '../src/fetch/transport.js';
import { systemClock, type Scheduler, type TimerHandle } from '../src/runtime/clock.js';
import { ManualClock } from '../src/testing/manual-clock.js';

// ---------------------------------------------------------------------------------------------
// Test servers
// ---------------------------------------------------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const routes = new Map<string, Handler>();
let server: http.Server;
let base: string;
/** A second server: the target of redirects, counting every hit. */
let target: http.Server;
let targetBase: string;
let targetHits = 0;

const JWKS = { keys: [{ kty: 'EC', crv: 'P-256', kid: 'k1', x: 'x', y: 'y' }] };
const JWKS_TEXT = JSON.stringify(JWKS);

function listen(s: http.Server): Promise<string> {
  return new Promise((resolve) => {
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`));
  });
}

function closeServer(s: http.Server): Promise<void> {
  s.closeAllConnections();
  return new Promise((resolve) => s.close(() => resolve()));
}

let routeSeq = 0;
/** Register a handler under a fresh path and return its URL. */
function route(handler: Handler): URL {
  const path = `/r${++routeSeq}`;
  routes.set(path, handler);
  return new URL(path, base);
}

function json(res: ServerResponse, body: string = JWKS_TEXT, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

before(async () => {
  server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const h = routes.get(path);
    if (h) h(req, res);
    else {
      res.statusCode = 404;
      res.end();
    }
  });
  base = await listen(server);
  target = http.createServer((_req, res) => {
    targetHits++;
    json(res);
  });
  targetBase = await listen(target);
});

after(async () => {
  await Promise.all([closeServer(server), closeServer(target)]);
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

function limits(over: Partial<TransportLimits> = {}): TransportLimits {
  return {
    timeoutMs: 3000,
    maxResponseBytes: 256 * 1024,
    allowRedirects: false,
    allowInsecureHttp: false,
    acceptAnyContentType: false,
    ...over,
  };
}

type Deps = Parameters<typeof fetchJwksDocument>[3];
/**
 * Default dependencies: the real fetch and wall clock, and a deadline scheduler nobody advances
 * (a ManualClock), so no test outside the deadline section can time out because the machine is
 * slow. The deadline tests pass their own ManualClock and advance it.
 */
function deps(over: Partial<Deps> = {}): Deps {
  return { fetch: globalThis.fetch, clock: systemClock, scheduler: new ManualClock(), ...over };
}

/** Hang guard for awaiting a server-side event (not a timing assertion). */
const HANG_MS = 30_000;

async function expectCode(p: Promise<unknown>, code: KeysUnavailableCode): Promise<KeysUnavailableError> {
  try {
    const v = await p;
    assert.fail(`expected rejection with ${code}, resolved with ${JSON.stringify(v)}`);
  } catch (err) {
    if (!(err instanceof KeysUnavailableError)) {
      assert.fail(`expected KeysUnavailableError(${code}), got ${String(err)}`);
    }
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
}

function modified(r: TransportResult): Extract<TransportResult, { kind: 'modified' }> {
  assert.equal(r.kind, 'modified');
  return r as Extract<TransportResult, { kind: 'modified' }>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Hang guard for deadline tests: if the transport hangs, fail the test instead of hanging the
 * run. Not a timing assertion: the deadlines themselves run on a ManualClock; this bound is far
 * above anything a loaded machine needs for a loopback request.
 */
const guard = <T>(p: Promise<T>): Promise<T> => withTimeout(p, HANG_MS, 'the transport to give up (it hung)');

/** A promise whose settlement is observable synchronously (ordering assertions). */
function track<T>(p: Promise<T>): { promise: Promise<T>; settled: boolean } {
  const t = { promise: p, settled: false };
  p.then(
    () => (t.settled = true),
    () => (t.settled = true),
  );
  return t;
}

/** A route whose requests are announced: `arrived` resolves with (req, res) once the server has one. */
function announcedRoute(handler: Handler = () => {}): { url: URL; arrived: Promise<{ req: IncomingMessage; res: ServerResponse; closed: Promise<void> }> } {
  let announce!: (x: { req: IncomingMessage; res: ServerResponse; closed: Promise<void> }) => void;
  const arrived = new Promise<{ req: IncomingMessage; res: ServerResponse; closed: Promise<void> }>((resolve) => (announce = resolve));
  const url = route((req, res) => {
    const closed = socketClosed(req);
    handler(req, res);
    announce({ req, res, closed });
  });
  return { url, arrived };
}

/**
 * Wraps a fetch and counts the body bytes the transport actually pulled (the wrapper reads
 * from the real body only on demand: high-water mark 0); `until(n)` resolves once `n` bytes
 * have been pulled.
 */
function pullCountingFetch(inner: FetchLike = (i, init) => globalThis.fetch(i, init)): { fetch: FetchLike; readonly bytes: number; until: (n: number) => Promise<void> } {
  let bytes = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const fetch: FetchLike = async (input, init) => {
    const res = await inner(input, init);
    if (res.body === null) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(c) {
          const { done, value } = await reader.read();
          if (done) return c.close();
          bytes += value.byteLength;
          for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.n <= bytes) waiters.splice(i, 1)[0]!.resolve();
          c.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
  return {
    fetch,
    get bytes() {
      return bytes;
    },
    until: (n) => (bytes >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

/** Resolves when the request's socket closes. */
function socketClosed(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.socket.destroyed) resolve();
    else req.socket.once('close', () => resolve());
  });
}

/** Write `total` bytes of `fill` in 16 KiB chunks, honouring backpressure, stopping on close. */
async function writeBig(res: ServerResponse, total: number, fill = 0x20): Promise<number> {
  const chunk = Buffer.alloc(16 * 1024, fill);
  let written = 0;
  while (written < total && !res.destroyed) {
    const ok = res.write(chunk);
    written += chunk.length;
    if (!ok) {
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
  }
  if (!res.destroyed) res.end();
  return written;
}

/** A scheduler wrapper recording outstanding timers (on a ManualClock nobody advances: they never fire). */
function countingScheduler(): Scheduler & { outstanding: Set<TimerHandle>; created: number } {
  const outstanding = new Set<TimerHandle>();
  const inner = new ManualClock();
  const s = {
    outstanding,
    created: 0,
    setTimeout(fn: () => void, ms: number): TimerHandle {
      s.created++;
      const h = inner.setTimeout(() => {
        outstanding.delete(h);
        fn();
      }, ms);
      outstanding.add(h);
      return h;
    },
    clearTimeout(h: TimerHandle): void {
      outstanding.delete(h);
      inner.clearTimeout(h);
    },
  };
  return s;
}

const never = <T>(): Promise<T> => new Promise<T>(() => {});

// ---------------------------------------------------------------------------------------------
// Happy path and request shape
// ---------------------------------------------------------------------------------------------

describe('fetchJwksDocument: basics', () => {
  it('fetches and parses a JWKS, reporting bytes, validators and duration', async () => {
    const url = route((_req, res) => json(res, JWKS_TEXT, { etag: '"abc"', 'last-modified': 'Wed, 01 Jan 2025 00:00:00 GMT' }));
    // the duration is measured on the injected clock: the request "takes" exactly 37 ms of it
    const clock = new ManualClock();
    const slowFetch: FetchLike = async (input, init) => {
      await clock.advance(37);
      return globalThis.fetch(input, init);
    };
    const r = modified(await fetchJwksDocument(url, {}, limits(), deps({ fetch: slowFetch, clock, scheduler: clock })));
    assert.deepEqual(r.body, JWKS);
    assert.equal(r.bytes, Buffer.byteLength(JWKS_TEXT));
    assert.deepEqual(r.validators, { etag: '"abc"', lastModified: 'Wed, 01 Jan 2025 00:00:00 GMT' });
    assert.equal(r.freshnessMs, undefined);
    assert.equal(r.durationMs, 37);
  });

  it('returns any JSON value as unknown (structure validation happens elsewhere)', async () => {
    const url = route((_req, res) => json(res, '[1,2,3]'));
    assert.deepEqual(modified(await fetchJwksDocument(url, {}, limits(), deps())).body, [1, 2, 3]);
  });

  it('sends accept, extra headers, and no conditional headers without validators', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const url = route((req, res) => {
      seen = req.headers;
      json(res);
    });
    await fetchJwksDocument(
      url,
      {},
      limits({ headers: { 'User-Agent': 'jwks-keeper-test/1', 'If-None-Match': '"forged"', Accept: 'text/html' } }),
      deps(),
    );
    assert.equal(seen['accept'], 'application/jwk-set+json, application/json');
    assert.equal(seen['user-agent'], 'jwks-keeper-test/1');
    assert.equal(seen['if-none-match'], undefined);
    assert.equal(seen['if-modified-since'], undefined);
  });

  it("calls fetch with method GET, redirect 'manual' and an AbortSignal", async () => {
    let init: Parameters<FetchLike>[1] | undefined;
    let input = '';
    const fetch: FetchLike = async (i, options) => {
      input = i;
      init = options;
      return new Response(JWKS_TEXT, { headers: { 'content-type': 'application/json' } });
    };
    await fetchJwksDocument(new URL('https://idp.example/jwks'), { etag: '"e"' }, limits(), deps({ fetch }));
    assert.equal(input, 'https://idp.example/jwks');
    assert.equal(init?.method, 'GET');
    assert.equal(init?.redirect, 'manual');
    assert.ok(init?.signal instanceof AbortSignal);
    assert.equal(init?.signal.aborted, false);
    assert.equal(init?.headers['if-none-match'], '"e"');
  });

  it('clears its timer on success, on HTTP errors and on network errors', async () => {
    const ok = route((_req, res) => json(res));
    const bad = route((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    for (const [url, fetch] of [
      [ok, globalThis.fetch],
      [bad, globalThis.fetch],
      [ok, (() => Promise.reject(new TypeError('fetch failed'))) as FetchLike],
      [
        ok,
        (() => {
          throw new Error('sync throw');
        }) as FetchLike,
      ],
    ] as const) {
      const scheduler = countingScheduler();
      await fetchJwksDocument(url, {}, limits(), deps({ fetch, scheduler })).catch(() => undefined);
      assert.equal(scheduler.created, 1);
      assert.equal(scheduler.outstanding.size, 0, 'timer cleared');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Deadline
// ---------------------------------------------------------------------------------------------

describe('fetchJwksDocument: total deadline', () => {
  const DEADLINE = 250;

  /** Settles `p` by taking `clock` to the deadline: still pending 1 ms before it, settled at it. */
  async function atDeadline<T>(clock: ManualClock, p: Promise<T>, deadline: number): Promise<T> {
    const t = track(p);
    await clock.advance(deadline - 1);
    assert.equal(t.settled, false, 'settled before the deadline');
    await clock.advance(1);
    return guard(t.promise);
  }

  it('slow headers → JWKS_TIMEOUT at the deadline', async () => {
    const { url, arrived } = announcedRoute(); // never answers
    const clock = new ManualClock();
    const p = track(fetchJwksDocument(url, {}, limits({ timeoutMs: DEADLINE }), deps({ clock, scheduler: clock })));
    const { closed } = await guard(arrived);
    await expectCode(atDeadline(clock, p.promise, DEADLINE), 'JWKS_TIMEOUT');
    await guard(closed);
  });

  it('a body making progress (one byte per 50 ms) forever → JWKS_TIMEOUT at the total deadline', async () => {
    const { url, arrived } = announcedRoute((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
    });
    const clock = new ManualClock();
    const counting = pullCountingFetch();
    const p = track(fetchJwksDocument(url, {}, limits({ timeoutMs: 300 }), deps({ fetch: counting.fetch, clock, scheduler: clock })));
    const { res, closed } = await guard(arrived);
    await guard(counting.until(1));
    // 5 × (one more byte, pulled by the transport, then 50 ms): progress the whole time
    for (let i = 1; i <= 5; i++) {
      res.write(' ');
      await guard(counting.until(1 + i));
      await clock.advance(50);
    }
    assert.equal(p.settled, false, 'progress did not end the request');
    await expectCode(atDeadline(clock, p.promise, 300 - 250), 'JWKS_TIMEOUT'); // 250 ms are past: the deadline is 50 ms away
    assert.ok(counting.bytes >= 6, `the body was making progress (${counting.bytes} bytes read), so an idle timeout would not fire`);
    await guard(closed);
  });

  it('a chunked body that never ends → JWKS_TIMEOUT', async () => {
    const { url, arrived } = announcedRoute((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
    });
    const clock = new ManualClock();
    const p = fetchJwksDocument(url, {}, limits({ timeoutMs: DEADLINE }), deps({ clock, scheduler: clock }));
    const { closed } = await guard(arrived);
    await expectCode(atDeadline(clock, p, DEADLINE), 'JWKS_TIMEOUT');
    await guard(closed);
  });

  it('a user fetch that ignores the signal and never resolves (hanging DNS) → JWKS_TIMEOUT', async () => {
    let signal: AbortSignal | undefined;
    const fetch: FetchLike = (_input, init) => {
      signal = init.signal;
      return never();
    };
    const clock = new ManualClock();
    const p = fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits({ timeoutMs: DEADLINE }), deps({ fetch, clock, scheduler: clock }));
    await expectCode(atDeadline(clock, p, DEADLINE), 'JWKS_TIMEOUT');
    assert.equal(signal?.aborted, true, 'the internal controller was aborted too');
  });

  it('a user fetch whose body stream never ends and ignores the signal → JWKS_TIMEOUT and the stream is cancelled', async () => {
    let cancelled = false;
    const fetch: FetchLike = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: () => never(),
          cancel: () => {
            cancelled = true;
          },
        }),
        { headers: { 'content-type': 'application/json' } },
      );
    const clock = new ManualClock();
    const p = fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits({ timeoutMs: DEADLINE }), deps({ fetch, clock, scheduler: clock }));
    await expectCode(atDeadline(clock, p, DEADLINE), 'JWKS_TIMEOUT');
    assert.equal(cancelled, true);
  });

  it('is driven by the injected scheduler (deterministic with ManualClock)', async () => {
    const clock = new ManualClock();
    let settled: string | undefined;
    const p = fetchJwksDocument(
      new URL('https://idp.example/jwks'),
      {},
      limits({ timeoutMs: 1000 }),
      { fetch: () => never(), clock, scheduler: clock },
    ).then(
      () => (settled = 'resolved'),
      (e: unknown) => (settled = e instanceof KeysUnavailableError ? e.code : 'other'),
    );
    assert.equal(clock.pendingTimers, 1);
    await clock.advance(999);
    assert.equal(settled, undefined);
    await clock.advance(1);
    await guard(p);
    assert.equal(settled, 'JWKS_TIMEOUT');
    assert.equal(clock.pendingTimers, 0);
  });

  it('cancels the body of a response that arrives after the deadline', async () => {
    const clock = new ManualClock();
    let resolveLate!: (r: Response) => void;
    let onCancel!: () => void;
    const cancelled = new Promise<void>((resolve) => (onCancel = resolve));
    const p = fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits({ timeoutMs: 100 }), {
      fetch: () => new Promise<Response>((resolve) => (resolveLate = resolve)),
      clock,
      scheduler: clock,
    });
    const assertion = expectCode(p, 'JWKS_TIMEOUT');
    await clock.advance(100);
    await guard(assertion);
    resolveLate(
      new Response(
        new ReadableStream<Uint8Array>({
          cancel: () => onCancel(),
        }),
      ),
    );
    await guard(cancelled); // the late body is cancelled, not read
  });

  it('an external signal abort (cache closed) → CLOSED at once, without waiting for the deadline', async () => {
    const { url, arrived } = announcedRoute(); // never answers
    const ac = new AbortController();
    // the deadline's clock never moves: only the abort can end the request
    const clock = new ManualClock();
    const p = fetchJwksDocument(url, {}, limits({ timeoutMs: 5000 }), deps({ signal: ac.signal, clock, scheduler: clock }));
    const { closed } = await guard(arrived);
    ac.abort();
    await expectCode(guard(p), 'CLOSED');
    assert.equal(clock.pendingTimers, 0, 'the deadline timer was cleared');
    await guard(closed);
  });

  it('removes its abort listener from the external signal when done', async () => {
    const url = route((_req, res) => json(res));
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const remove = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    ac.signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof remove;
    await fetchJwksDocument(url, {}, limits(), deps({ signal: ac.signal }));
    await fetchJwksDocument(route((_req, res) => res.writeHead(500).end()), {}, limits(), deps({ signal: ac.signal })).catch(
      () => undefined,
    );
    assert.equal(added, 2);
    assert.equal(removed, 2);
    ac.abort(); // aborting after completion must not throw or reject anything
  });

  it('an already-aborted signal → CLOSED without any request', async () => {
    let hits = 0;
    const url = route((_req, res) => {
      hits++;
      json(res);
    });
    const ac = new AbortController();
    ac.abort();
    await expectCode(guard(fetchJwksDocument(url, {}, limits(), deps({ signal: ac.signal }))), 'CLOSED');
    assert.equal(hits, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// Size limits
// ---------------------------------------------------------------------------------------------

describe('fetchJwksDocument: size limits', () => {
  const CAP = 256 * 1024;

  it('a 1 MiB chunked body with a 256 KiB cap → JWKS_TOO_LARGE and the server sees the connection closed', async () => {
    let closed!: Promise<void>;
    let written!: Promise<number>;
    const url = route((req, res) => {
      closed = socketClosed(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      written = writeBig(res, 1024 * 1024);
    });
    await expectCode(fetchJwksDocument(url, {}, limits({ maxResponseBytes: CAP }), deps()), 'JWKS_TOO_LARGE');
    await withTimeout(closed, HANG_MS, 'the server to see the connection closed');
    await withTimeout(written, HANG_MS, 'the server writer to stop');
  });

  it('a content-length above the cap → JWKS_TOO_LARGE before reading', async () => {
    let closed!: Promise<void>;
    const url = route((req, res) => {
      closed = socketClosed(req);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024) });
      void writeBig(res, 1024 * 1024);
    });
    const counting = pullCountingFetch();
    await expectCode(fetchJwksDocument(url, {}, limits({ maxResponseBytes: CAP }), deps({ fetch: counting.fetch })), 'JWKS_TOO_LARGE');
    assert.equal(counting.bytes, 0, 'refused on the declared length: not one body byte read');
    await withTimeout(closed, HANG_MS, 'the server to see the connection closed');
  });

  it('a body of exactly the cap is accepted', async () => {
    const body = JSON.stringify({ keys: [], pad: 'x'.repeat(1000) });
    const url = route((_req, res) => json(res, body));
    const r = modified(await fetchJwksDocument(url, {}, limits({ maxResponseBytes: body.length }), deps()));
    assert.equal(r.bytes, body.length);
    await expectCode(fetchJwksDocument(url, {}, limits({ maxResponseBytes: body.length - 1 }), deps()), 'JWKS_TOO_LARGE');
  });

  describe('decompression bombs', () => {
    const INFLATED = 64 * 1024 * 1024;
    const bombs: Record<string, Buffer> = {};
    const small: Record<string, Buffer> = {};
    const encoders = {
      gzip: zlib.gzipSync,
      // Quality 1: a 12 KiB bomb in milliseconds (the default quality makes 106 bytes but takes ~1 s).
      br: (b: Buffer) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }),
      deflate: zlib.deflateSync,
    } as const;

    before(async () => {
      const zeros = Buffer.alloc(INFLATED, 0x20);
      for (const [name, enc] of Object.entries(encoders)) {
        bombs[name] = enc(zeros);
        small[name] = enc(Buffer.from(JWKS_TEXT));
      }
      // Warm up fetch and each decoder so lazily loaded code does not count as growth.
      for (const name of Object.keys(encoders)) {
        const url = route((_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': name });
          res.end(small[name]);
        });
        const r = modified(await fetchJwksDocument(url, {}, limits(), deps()));
        assert.deepEqual(r.body, JWKS, `${name} decoding works`);
      }
    });

    for (const name of Object.keys(encoders)) {
      it(`${name}: ~64 MiB inflated from a few KiB → JWKS_TOO_LARGE with bounded memory`, async () => {
        const bomb = bombs[name];
        assert.ok(bomb !== undefined && bomb.length < 128 * 1024, `${name} bomb is small on the wire (${bomb?.length})`);
        const url = route((_req, res) => {
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-encoding': name,
            'content-length': String(bomb.length),
          });
          res.end(bomb);
        });
        // RSS catches native (zlib) buffers; arrayBuffers catches JS-side buffering even when
        // RSS is already high from an earlier test and the allocator reuses that memory.
        const m0 = process.memoryUsage();
        let peakRss = m0.rss;
        let peakAb = m0.arrayBuffers;
        const sample = (): void => {
          const m = process.memoryUsage();
          peakRss = Math.max(peakRss, m.rss);
          peakAb = Math.max(peakAb, m.arrayBuffers);
        };
        const sampler = setInterval(sample, 2);
        try {
          await expectCode(fetchJwksDocument(url, {}, limits({ maxResponseBytes: CAP }), deps()), 'JWKS_TOO_LARGE');
        } finally {
          clearInterval(sampler);
        }
        sample();
        const MiB = 1024 * 1024;
        const rssGrowth = peakRss - m0.rss;
        const abGrowth = peakAb - m0.arrayBuffers;
        assert.ok(rssGrowth < 64 * MiB, `rss grew by ${(rssGrowth / MiB).toFixed(1)} MiB`);
        assert.ok(abGrowth < 16 * MiB, `arrayBuffers grew by ${(abGrowth / MiB).toFixed(1)} MiB`);
        if (process.env['JWKS_DEBUG_MEMORY']) {
          console.log(`${name}: rss +${(rssGrowth / MiB).toFixed(1)} MiB, arrayBuffers +${(abGrowth / MiB).toFixed(1)} MiB`);
        }
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------

describe('fetchJwksDocument: redirects', () => {
  function redirect(status: number, location: string): URL {
    return route((_req, res) => {
      res.writeHead(status, { location });
      res.end();
    });
  }

  for (const status of [301, 302, 303, 307, 308]) {
    it(`${status} is refused by default and the target gets no hit`, async () => {
      const before = targetHits;
      const err = await expectCode(
        fetchJwksDocument(redirect(status, `${targetBase}/jwks`), {}, limits(), deps()),
        'JWKS_REDIRECT',
      );
      assert.equal(err.upstreamStatus, status);
      assert.equal(targetHits, before);
    });
  }

  it('allowRedirects: follows to a loopback target', async () => {
    const before = targetHits;
    const r = modified(
      await fetchJwksDocument(redirect(302, `${targetBase}/jwks`), {}, limits({ allowRedirects: true }), deps()),
    );
    assert.deepEqual(r.body, JWKS);
    assert.equal(targetHits, before + 1);
  });

  it('allowRedirects: follows a relative Location', async () => {
    const final = route((_req, res) => json(res));
    const r = modified(await fetchJwksDocument(redirect(307, final.pathname), {}, limits({ allowRedirects: true }), deps()));
    assert.deepEqual(r.body, JWKS);
  });

  it('allowRedirects: a redirect to plain http on a non-loopback host is refused', async () => {
    const err = await expectCode(
      fetchJwksDocument(redirect(301, 'http://example.com/jwks'), {}, limits({ allowRedirects: true }), deps()),
      'JWKS_REDIRECT',
    );
    assert.ok(err.cause instanceof ConfigError);
  });

  it('allowRedirects: a redirect to another scheme is refused', async () => {
    await expectCode(
      fetchJwksDocument(redirect(301, 'file:///etc/passwd'), {}, limits({ allowRedirects: true }), deps()),
      'JWKS_REDIRECT',
    );
  });

  it('allowRedirects: stops after 3 redirects', async () => {
    let hits = 0;
    const url = route((req, res) => {
      hits++;
      res.writeHead(302, { location: req.url ?? '/' });
      res.end();
    });
    await expectCode(fetchJwksDocument(url, {}, limits({ allowRedirects: true }), deps()), 'JWKS_REDIRECT');
    assert.equal(hits, 4, 'initial request + 3 followed redirects');
  });

  it('allowRedirects: a 3xx without Location is refused', async () => {
    const url = route((_req, res) => {
      res.writeHead(300);
      res.end();
    });
    await expectCode(fetchJwksDocument(url, {}, limits({ allowRedirects: true }), deps()), 'JWKS_REDIRECT');
  });

  it('a user fetch that followed a redirect anyway (response.redirected) → JWKS_REDIRECT', async () => {
    const fetch: FetchLike = async () => {
      const r = new Response(JWKS_TEXT, { headers: { 'content-type': 'application/json' } });
      Object.defineProperty(r, 'redirected', { value: true });
      return r;
    };
    await expectCode(
      fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits({ allowRedirects: true }), deps({ fetch })),
      'JWKS_REDIRECT',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Conditional requests and caching headers
// ---------------------------------------------------------------------------------------------

describe('fetchJwksDocument: validators and freshness', () => {
  it('304 path: ETag + Last-Modified are sent back and a 304 yields not-modified', async () => {
    const ETAG = '"v1"';
    const LM = 'Wed, 01 Jan 2025 00:00:00 GMT';
    const seen: http.IncomingHttpHeaders[] = [];
    const url = route((req, res) => {
      seen.push(req.headers);
      if (req.headers['if-none-match'] === ETAG) {
        res.writeHead(304, { etag: ETAG, 'cache-control': 'max-age=60' });
        res.end();
      } else json(res, JWKS_TEXT, { etag: ETAG, 'last-modified': LM });
    });
    const first = modified(await fetchJwksDocument(url, {}, limits(), deps()));
    assert.deepEqual(first.validators, { etag: ETAG, lastModified: LM });
    const second = await fetchJwksDocument(url, first.validators, limits(), deps());
    assert.equal(second.kind, 'not-modified');
    assert.deepEqual(second.validators, { etag: ETAG, lastModified: LM }, 'request validators kept when the 304 omits one');
    assert.equal(second.freshnessMs, 60_000);
    assert.equal(seen[1]?.['if-none-match'], ETAG);
    assert.equal(seen[1]?.['if-modified-since'], LM);
  });

  it('a 304 with new validators reports them', async () => {
    const url = route((_req, res) => {
      res.writeHead(304, { etag: '"v2"' });
      res.end();
    });
    const r = await fetchJwksDocument(url, { etag: '"v1"' }, limits(), deps());
    assert.equal(r.kind, 'not-modified');
    assert.deepEqual(r.validators, { etag: '"v2"' });
  });

  it('a 304 to an unconditional request → JWKS_HTTP_STATUS', async () => {
    const url = route((_req, res) => {
      res.writeHead(304);
      res.end();
    });
    const err = await expectCode(fetchJwksDocument(url, {}, limits(), deps()), 'JWKS_HTTP_STATUS');
    assert.equal(err.upstreamStatus, 304);
  });

  const freshnessCases: Array<[string, (now: number) => Record<string, string>, number | undefined]> = [
    ['Cache-Control max-age', () => ({ 'cache-control': 'public, max-age=300' }), 300_000],
    ['Cache-Control no-cache', () => ({ 'cache-control': 'no-cache' }), 0],
    ['max-age minus Age', () => ({ 'cache-control': 'max-age=600', age: '100' }), 500_000],
    [
      'Expires minus Date',
      (now) => ({ date: new Date(now).toUTCString(), expires: new Date(now + 120_000).toUTCString() }),
      120_000,
    ],
    ['no caching headers', () => ({}), undefined],
  ];
  for (const [name, headers, expected] of freshnessCases) {
    it(`freshnessMs reflects ${name}`, async () => {
      const now = Math.floor(Date.now() / 1000) * 1000;
      const url = route((_req, res) => json(res, JWKS_TEXT, headers(now)));
      const r = modified(await fetchJwksDocument(url, {}, limits(), deps()));
      assert.equal(r.freshnessMs, expected);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// HTTP status, content and network failures
// ---------------------------------------------------------------------------------------------

describe('fetchJwksDocument: failures', () => {
  function status(code: number, headers: Record<string, string> = {}, body = 'nope'): URL {
    return route((_req, res) => {
      res.writeHead(code, { 'content-type': 'text/plain', ...headers });
      res.end(body);
    });
  }

  for (const code of [429, 503]) {
    it(`${code} with Retry-After: 7 → JWKS_HTTP_STATUS, retryAfterMs 7000`, async () => {
      const err = await expectCode(fetchJwksDocument(status(code, { 'retry-after': '7' }), {}, limits(), deps()), 'JWKS_HTTP_STATUS');
      assert.equal(err.upstreamStatus, code);
      assert.equal(err.retryAfterMs, 7000);
      assert.equal(err.httpStatus, 503);
    });

    it(`${code} with an HTTP-date Retry-After`, async () => {
      // the wall clock is the injected one (on a whole second, as HTTP-dates are): exactly 30 s ahead
      const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
      const when = new Date(clock.wallNow() + 30_000).toUTCString();
      const err = await expectCode(fetchJwksDocument(status(code, { 'retry-after': when }), {}, limits(), deps({ clock, scheduler: clock })), 'JWKS_HTTP_STATUS');
      assert.equal(err.upstreamStatus, code);
      assert.equal(err.retryAfterMs, 30_000);
    });

    it(`${code} without Retry-After has no retryAfterMs`, async () => {
      const err = await expectCode(fetchJwksDocument(status(code), {}, limits(), deps()), 'JWKS_HTTP_STATUS');
      assert.equal(err.retryAfterMs, undefined);
    });
  }

  it('Retry-After is ignored for other statuses', async () => {
    const err = await expectCode(fetchJwksDocument(status(500, { 'retry-after': '7' }), {}, limits(), deps()), 'JWKS_HTTP_STATUS');
    assert.equal(err.retryAfterMs, undefined);
  });

  for (const code of [404, 500, 204, 206, 401]) {
    it(`${code} → JWKS_HTTP_STATUS`, async () => {
      const err = await expectCode(
        fetchJwksDocument(status(code, { 'content-type': 'application/json' }, code === 204 ? '' : JWKS_TEXT), {}, limits(), deps()),
        'JWKS_HTTP_STATUS',
      );
      assert.equal(err.upstreamStatus, code);
    });
  }

  it('a large non-200 body is not read', async () => {
    let closed!: Promise<void>;
    const url = route((req, res) => {
      closed = socketClosed(req);
      res.writeHead(500, { 'content-type': 'text/html' });
      void writeBig(res, 8 * 1024 * 1024);
    });
    await expectCode(fetchJwksDocument(url, {}, limits(), deps()), 'JWKS_HTTP_STATUS');
    await withTimeout(closed, HANG_MS, 'the server to see the connection closed');
  });

  it('non-JSON body → JWKS_MALFORMED', async () => {
    await expectCode(fetchJwksDocument(route((_q, res) => json(res, '{"keys": [')), {}, limits(), deps()), 'JWKS_MALFORMED');
  });

  it('empty 200 body → JWKS_MALFORMED', async () => {
    await expectCode(fetchJwksDocument(route((_q, res) => json(res, '')), {}, limits(), deps()), 'JWKS_MALFORMED');
  });

  it('invalid UTF-8 → JWKS_MALFORMED', async () => {
    const url = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.concat([Buffer.from('{"keys":[],"x":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]));
    });
    const err = await expectCode(fetchJwksDocument(url, {}, limits(), deps()), 'JWKS_MALFORMED');
    // the decoder's own error code, not a phrase of our message: it failed at decoding, not at JSON
    assert.equal((err.cause as { code?: unknown } | undefined)?.code, 'ERR_ENCODING_INVALID_ENCODED_DATA');
  });

  const contentTypes: Array<[string | undefined, boolean]> = [
    [undefined, true],
    ['application/json', true],
    ['application/json; charset=utf-8', true],
    ['Application/JSON ; charset=UTF-8', true],
    ['application/jwk-set+json', true],
    ['application/vnd.example+json', true],
    ['text/html', false],
    ['text/html; charset=utf-8', false],
    ['text/plain', false],
    ['application/jsonp', false],
    ['application/json-seq', false],
    ['application/xml', false],
  ];
  for (const [ct, ok] of contentTypes) {
    it(`content-type ${ct ?? '(absent)'} → ${ok ? 'accepted' : 'JWKS_MALFORMED'}`, async () => {
      const url = route((_req, res) => {
        if (ct !== undefined) res.setHeader('content-type', ct);
        res.statusCode = 200;
        res.end(JWKS_TEXT);
      });
      const p = fetchJwksDocument(url, {}, limits(), deps());
      if (ok) assert.deepEqual(modified(await p).body, JWKS);
      else await expectCode(p, 'JWKS_MALFORMED');
    });
  }

  it('acceptAnyContentType lets text/html through if the body is JSON', async () => {
    const url = route((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(JWKS_TEXT);
    });
    assert.deepEqual(modified(await fetchJwksDocument(url, {}, limits({ acceptAnyContentType: true }), deps())).body, JWKS);
  });

  it('connection refused (a closed port) → JWKS_NETWORK with cause', async () => {
    const s = http.createServer();
    const closedBase = await listen(s);
    await closeServer(s);
    const err = await expectCode(fetchJwksDocument(new URL('/jwks', closedBase), {}, limits(), deps()), 'JWKS_NETWORK');
    assert.ok(err.cause !== undefined);
  });

  it('connection reset mid-body → JWKS_NETWORK, never a crash', async () => {
    const url = route((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '10000' });
      // headers and the first bytes are on the wire before the reset: the body, not the request, fails
      res.write('{"keys":[', () => req.socket.destroy());
    });
    const err = await fetchJwksDocument(url, {}, limits(), deps()).then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KeysUnavailableError, String(err));
    assert.equal(err.code, 'JWKS_NETWORK');
  });

  it('a user fetch rejecting with a non-Error → JWKS_NETWORK', async () => {
    const fetch: FetchLike = () => Promise.reject('boom');
    const err = await expectCode(fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits(), deps({ fetch })), 'JWKS_NETWORK');
    assert.equal(err.cause, 'boom');
  });

  it('a user fetch throwing synchronously → JWKS_NETWORK', async () => {
    const fetch: FetchLike = () => {
      throw new TypeError('bad');
    };
    await expectCode(fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits(), deps({ fetch })), 'JWKS_NETWORK');
  });

  it('a user fetch returning a body of non-bytes → JWKS_MALFORMED', async () => {
    const fetch: FetchLike = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue('not bytes' as unknown as Uint8Array);
            c.close();
          },
        }),
      );
    const err = await fetchJwksDocument(new URL('https://idp.example/jwks'), {}, limits(), deps({ fetch })).then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof KeysUnavailableError);
    assert.equal(err.code, 'JWKS_MALFORMED'); // the transport's own non-byte-chunk check
  });
});

// ---------------------------------------------------------------------------------------------
// URL rules
// ---------------------------------------------------------------------------------------------

describe('checkJwksUrl / isLoopbackHost', () => {
  it('accepts https', () => {
    const u = checkJwksUrl('https://idp.example/.well-known/jwks.json', false);
    assert.equal(u.href, 'https://idp.example/.well-known/jwks.json');
    assert.ok(checkJwksUrl(new URL('https://idp.example/jwks'), false) instanceof URL);
  });

  for (const url of ['http://127.0.0.1/jwks', 'http://127.1.2.3:8080/jwks', 'http://[::1]/jwks', 'http://localhost:3000/jwks', 'http://LOCALHOST/jwks']) {
    it(`accepts loopback ${url}`, () => {
      assert.equal(checkJwksUrl(url, false).protocol, 'http:');
    });
  }

  it('refuses http to a non-loopback host unless allowInsecureHttp', () => {
    assert.throws(() => checkJwksUrl('http://example.com/jwks', false), ConfigError);
    assert.throws(() => checkJwksUrl('http://128.0.0.1/jwks', false), ConfigError);
    assert.throws(() => checkJwksUrl('http://localhost.example.com/jwks', false), ConfigError);
    assert.throws(() => checkJwksUrl('http://[::2]/jwks', false), ConfigError);
    assert.equal(checkJwksUrl('http://example.com/jwks', true).host, 'example.com');
  });

  for (const url of ['ftp://example.com/jwks', 'file:///etc/passwd', 'data:application/json,{}', 'javascript:alert(1)', 'not a url', '/relative/jwks', '']) {
    it(`refuses ${JSON.stringify(url)} with ConfigError even with allowInsecureHttp`, () => {
      assert.throws(() => checkJwksUrl(url, true), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID');
    });
  }

  it('refuses embedded credentials', () => {
    assert.throws(() => checkJwksUrl('https://user:pass@idp.example/jwks', false), ConfigError);
  });

  it('returns a copy, not the caller URL', () => {
    const original = new URL('https://idp.example/jwks');
    const checked = checkJwksUrl(original, false);
    assert.notEqual(checked, original);
    original.pathname = '/other';
    assert.equal(checked.pathname, '/jwks');
  });

  const hosts: Array<[string, boolean]> = [
    ['localhost', true],
    ['LocalHost', true],
    ['localhost.', true],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['[::1]', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['[::ffff:127.0.0.1]', true],
    ['[::ffff:7f00:1]', true],
    ['128.0.0.1', false],
    ['127.0.0.256', false],
    ['10.0.0.1', false],
    ['0.0.0.0', false],
    ['[::]', false],
    ['[::2]', false],
    ['[::ffff:10.0.0.1]', false],
    ['example.com', false],
    ['localhost.example.com', false],
    ['evil-localhost', false],
    ['', false],
  ];
  for (const [host, expected] of hosts) {
    it(`isLoopbackHost(${JSON.stringify(host)}) === ${expected}`, () => {
      assert.equal(isLoopbackHost(host), expected);
    });
  }
});
