/**
 * The JWKS HTTP transport: one GET with hard limits.
 *
 * Everything an identity provider (or an attacker sitting where it should be) can do to a
 * client is bounded here: one total deadline covering connect, headers and the whole body
 * (not an idle timeout, so a body dripping one byte a second still ends), a cap on decoded
 * body bytes enforced while streaming (so a gzip bomb is cut off after `maxResponseBytes`),
 * redirects refused by default, https only (plain http only to loopback), and a content-type
 * check. Every failure is a {@link KeysUnavailableError} with a stable code.
 */

import { ConfigError, KeysUnavailableError } from '../errors.js';
import type { Clock, Scheduler, TimerHandle } from '../runtime/clock.js';
import { freshnessFromHeaders, parseRetryAfter } from './cache-headers.js';

/**
 * The subset of WHATWG `fetch` this transport calls. `globalThis.fetch` fits; a user may pass
 * their own (undici with a custom dispatcher, a proxy agent, a test double).
 *
 * The transport does not trust it to honour `signal` or `redirect`: the deadline is raced
 * against the returned promise and every body read, and `response.redirected` is checked.
 */
export type FetchLike = (
  input: string,
  init: { method: 'GET'; headers: Record<string, string>; redirect: 'manual'; signal: AbortSignal },
) => Promise<Response>;

/** Hard limits for one JWKS request. Callers (the cache options layer) supply the defaults. */
export interface TransportLimits {
  /**
   * ONE total deadline, in milliseconds, for connect + response headers + the whole body
   * (and every redirect hop). Exceeding it rejects with `JWKS_TIMEOUT`.
   */
  timeoutMs: number;
  /**
   * Cap on DECODED body bytes (after gzip/br/deflate), enforced while streaming; exceeding it
   * rejects with `JWKS_TOO_LARGE` and cancels the body so the socket is released.
   */
  maxResponseBytes: number;
  /**
   * Default `false`: any 3xx other than 304 rejects with `JWKS_REDIRECT` (a JWKS URL that
   * redirects is a misconfiguration or a takeover). If `true`, up to 3 redirects are followed
   * manually, each hop re-checked with {@link checkJwksUrl}, all within the same deadline.
   */
  allowRedirects: boolean;
  /** Default `false`: `http:` is allowed only for loopback hosts (see {@link isLoopbackHost}). */
  allowInsecureHttp: boolean;
  /**
   * Default `false`: the response `content-type` must be absent, `application/json`,
   * `application/jwk-set+json` or any `type/subtype+json` (parameters such as `charset` are
   * fine); anything else (e.g. an HTML login page) rejects with `JWKS_MALFORMED`.
   */
  acceptAnyContentType: boolean;
  /**
   * Extra request headers (e.g. `user-agent`). Names are lowercased; `accept` and the
   * conditional headers (`if-none-match`, `if-modified-since`) are always set by the transport.
   */
  headers?: Record<string, string>;
}

/** HTTP validators for conditional requests (RFC 9110 §8.8), as opaque header values. */
export interface Validators {
  /** The `ETag` response header, sent back verbatim as `If-None-Match`. */
  etag?: string;
  /** The `Last-Modified` response header, sent back verbatim as `If-Modified-Since`. */
  lastModified?: string;
}

/**
 * Outcome of one successful JWKS request.
 *
 * - `modified`: a 200 with a JSON body (`body` is the parsed JSON, not yet validated as a JWKS;
 *   `bytes` is its decoded size).
 * - `not-modified`: a 304 answering our conditional request; keep the cached set.
 *
 * `freshnessMs` is the remaining freshness from the caching headers (see
 * `freshnessFromHeaders`), `undefined` if they say nothing. `durationMs` is the monotonic time
 * the whole request took, redirects included.
 */
export type TransportResult =
  | {
      kind: 'modified';
      body: unknown;
      bytes: number;
      validators: Validators;
      freshnessMs: number | undefined;
      durationMs: number;
    }
  | { kind: 'not-modified'; validators: Validators; freshnessMs: number | undefined; durationMs: number };

/** Maximum number of redirects followed when `allowRedirects` is true. */
const MAX_REDIRECTS = 3;
/** Redirect statuses that carry a `Location` we may follow. */
const FOLLOWABLE_REDIRECTS = new Set([301, 302, 303, 307, 308]);
const ACCEPT = 'application/jwk-set+json, application/json';

const noop = (): void => {};

/**
 * True if `hostname` is a loopback host: `localhost`, an IPv4 address in `127.0.0.0/8`, `::1`,
 * or an IPv4-mapped `::ffff:127.x.y.z`. Accepts `URL.hostname` forms (IPv6 in brackets) and
 * bare addresses; case-insensitive; a trailing dot is tolerated.
 *
 * Why: plain http is acceptable only when the traffic never leaves the machine (local IdP in
 * development, sidecars).
 */
export function isLoopbackHost(hostname: string): boolean {
  let h = hostname.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && !h.includes(':')) h = h.slice(0, -1);
  if (h === 'localhost') return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    return octets.every((o) => o <= 255) && octets[0] === 127;
  }
  if (h.includes(':')) {
    let canonical: string;
    try {
      canonical = new URL(`http://[${h}]/`).hostname;
    } catch {
      return false;
    }
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
  }
  return false;
}

/**
 * Validate a JWKS URL and return a parsed copy.
 *
 * @param url - the configured URL
 * @param allowInsecureHttp - when `false` (the default everywhere), `http:` is accepted only for
 *   loopback hosts; `https:` is always accepted
 * @throws {@link ConfigError} for an unparseable URL, a scheme other than http/https, embedded
 *   credentials (`https://user:pass@...`, which `fetch` refuses anyway), or plain http to a
 *   non-loopback host when not allowed
 */
export function checkJwksUrl(url: string | URL, allowInsecureHttp: boolean): URL {
  let u: URL;
  try {
    u = new URL(url instanceof URL ? url.href : url);
  } catch (cause) {
    throw new ConfigError('jwksUri is not a valid absolute URL', { cause });
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') {
    throw new ConfigError(`jwksUri must use https: (got ${u.protocol})`);
  }
  if (u.username !== '' || u.password !== '') {
    throw new ConfigError('jwksUri must not contain credentials');
  }
  if (u.protocol === 'http:' && !allowInsecureHttp && !isLoopbackHost(u.hostname)) {
    throw new ConfigError(
      `jwksUri must use https: (plain http is allowed only for loopback hosts, got ${u.host}; set allowInsecureHttp to override)`,
    );
  }
  return u;
}

/** True for an absent content type, application/json, application/jwk-set+json, or any x/y+json. */
function isJsonContentType(value: string | null): boolean {
  if (value === null) return true;
  const mediaType = (value.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === '') return true;
  if (mediaType === 'application/json' || mediaType === 'application/jwk-set+json') return true;
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(mediaType);
}

/** Cancel a response body we will not read, ignoring every error (locked, already errored...). */
function discardBody(response: Response | undefined): void {
  try {
    const body = response?.body;
    if (body && !body.locked) body.cancel().catch(noop);
  } catch {
    // A user-supplied Response may be anything; never let cleanup throw.
  }
}

/**
 * Fetch and JSON-parse one JWKS document, within hard limits.
 *
 * Sends `accept: application/jwk-set+json, application/json` plus `if-none-match` /
 * `if-modified-since` from `validators`, with `redirect: 'manual'`.
 *
 * - 200 → body read under `maxResponseBytes`, UTF-8 decoded (fatally), `JSON.parse`d.
 * - 304 → `not-modified` (only if validators were sent; otherwise `JWKS_HTTP_STATUS`).
 * - other 3xx, or `response.redirected` → `JWKS_REDIRECT` (unless `allowRedirects`).
 * - anything else → `JWKS_HTTP_STATUS` with `status`, and `retryAfterMs` for 429/503.
 *
 * The deadline timer comes from `deps.scheduler`; when it fires, an internal AbortController is
 * aborted AND the pending fetch/read promise is abandoned, so even a fetch that ignores its
 * signal cannot hang the caller. Aborting `deps.signal` (the cache was closed) rejects with
 * `CLOSED`. The timer and the signal listener are removed on every path and unread bodies are
 * cancelled so sockets are released. At most `maxResponseBytes` plus one chunk is buffered.
 *
 * @param url - an already-checked URL (see {@link checkJwksUrl})
 * @param validators - validators of the cached copy; `{}` for an unconditional request
 * @param limits - hard limits, see {@link TransportLimits}
 * @param deps - the fetch implementation, clocks (wall for HTTP dates, monotonic for
 *   `durationMs`), the timer scheduler, and an optional close signal
 * @returns the parsed document or a not-modified marker
 * @throws rejects ONLY with {@link KeysUnavailableError}: `JWKS_TIMEOUT`, `JWKS_TOO_LARGE`,
 *   `JWKS_REDIRECT`, `JWKS_HTTP_STATUS`, `JWKS_NETWORK` (with `cause`), `JWKS_MALFORMED`, `CLOSED`
 */
export async function fetchJwksDocument(
  url: URL,
  validators: Validators,
  limits: TransportLimits,
  deps: { fetch: FetchLike; clock: Clock; scheduler: Scheduler; signal?: AbortSignal },
): Promise<TransportResult> {
  const started = deps.clock.monotonicNow();
  const external = deps.signal;
  if (external?.aborted) throw new KeysUnavailableError('CLOSED', 'the key cache was closed');

  const controller = new AbortController();
  let failure: KeysUnavailableError | undefined;
  let rejectDeadline: (err: KeysUnavailableError) => void = noop;
  const deadline = new Promise<never>((_, reject) => {
    rejectDeadline = reject;
  });
  deadline.catch(noop); // it may reject while nothing is racing it
  const fail = (err: KeysUnavailableError): void => {
    if (failure) return;
    failure = err;
    rejectDeadline(err);
    controller.abort(err);
  };
  /** Settle with `p` or with the deadline/close failure, whichever comes first. */
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, deadline]);

  const onExternalAbort = (): void => fail(new KeysUnavailableError('CLOSED', 'the key cache was closed'));
  external?.addEventListener('abort', onExternalAbort, { once: true });
  let timer: TimerHandle | undefined;
  try {
    timer = deps.scheduler.setTimeout(
      () => fail(new KeysUnavailableError('JWKS_TIMEOUT', `JWKS request exceeded its ${limits.timeoutMs} ms deadline`)),
      limits.timeoutMs,
    );
    return await request(url, validators, limits, deps, controller.signal, race, started);
  } catch (err) {
    // A deadline/close that fired first wins over whatever error the abort caused downstream.
    if (failure) throw failure;
    if (err instanceof KeysUnavailableError) throw err;
    throw new KeysUnavailableError('JWKS_NETWORK', `JWKS request failed: ${describe(err)}`, { cause: err });
  } finally {
    if (timer !== undefined) deps.scheduler.clearTimeout(timer);
    external?.removeEventListener('abort', onExternalAbort);
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = cause && typeof cause === 'object' && 'code' in cause ? ` (${String(cause.code)})` : '';
    return `${err.message}${code}`;
  }
  return String(err);
}

async function request(
  url: URL,
  validators: Validators,
  limits: TransportLimits,
  deps: { fetch: FetchLike; clock: Clock },
  signal: AbortSignal,
  race: <T>(p: Promise<T>) => Promise<T>,
  started: number,
): Promise<TransportResult> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(limits.headers ?? {})) headers[name.toLowerCase()] = value;
  delete headers['if-none-match'];
  delete headers['if-modified-since'];
  headers['accept'] = ACCEPT;
  if (validators.etag) headers['if-none-match'] = validators.etag;
  if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
  const conditional = Boolean(validators.etag || validators.lastModified);

  let current = url;
  for (let hop = 0; ; hop++) {
    let responsePromise: Promise<Response>;
    try {
      responsePromise = Promise.resolve(
        deps.fetch(current.href, { method: 'GET', headers: { ...headers }, redirect: 'manual', signal }),
      );
    } catch (err) {
      responsePromise = Promise.reject(err);
    }
    let response: Response;
    try {
      response = await race(responsePromise);
    } catch (err) {
      // If a signal-ignoring fetch resolves after we gave up, release its body.
      responsePromise.then(discardBody, noop);
      throw err;
    }

    const status = response.status;
    const where = current.host;
    if (response.redirected === true || response.type === 'opaqueredirect') {
      discardBody(response);
      throw new KeysUnavailableError('JWKS_REDIRECT', `JWKS endpoint ${where} redirected (the fetch followed it)`, {
        upstreamStatus: status,
      });
    }
    if (status === 200) return await readDocument(response, limits, deps, race, started);

    discardBody(response); // never read a non-200 body
    if (status === 304) {
      if (!conditional) {
        throw new KeysUnavailableError('JWKS_HTTP_STATUS', `JWKS endpoint ${where} answered 304 to an unconditional request`, {
          upstreamStatus: status,
        });
      }
      const etag = response.headers.get('etag') ?? validators.etag;
      const lastModified = response.headers.get('last-modified') ?? validators.lastModified;
      return {
        kind: 'not-modified',
        validators: {
          ...(etag ? { etag } : {}),
          ...(lastModified ? { lastModified } : {}),
        },
        freshnessMs: freshness(response, deps.clock),
        durationMs: Math.max(0, deps.clock.monotonicNow() - started),
      };
    }
    if (status >= 300 && status < 400) {
      if (!limits.allowRedirects) {
        throw new KeysUnavailableError('JWKS_REDIRECT', `JWKS endpoint ${where} answered a ${status} redirect (redirects are refused)`, {
          upstreamStatus: status,
        });
      }
      const location = response.headers.get('location');
      if (!FOLLOWABLE_REDIRECTS.has(status) || location === null) {
        throw new KeysUnavailableError('JWKS_REDIRECT', `JWKS endpoint ${where} answered ${status} without a usable Location`, {
          upstreamStatus: status,
        });
      }
      if (hop >= MAX_REDIRECTS) {
        throw new KeysUnavailableError('JWKS_REDIRECT', `JWKS endpoint exceeded ${MAX_REDIRECTS} redirects`, { upstreamStatus: status });
      }
      try {
        current = checkJwksUrl(new URL(location, current), limits.allowInsecureHttp);
      } catch (cause) {
        throw new KeysUnavailableError('JWKS_REDIRECT', `JWKS endpoint ${where} redirected to a refused URL`, {
          upstreamStatus: status,
          cause,
        });
      }
      continue;
    }
    const retryAfterMs =
      status === 429 || status === 503
        ? parseRetryAfter(response.headers.get('retry-after'), deps.clock.wallNow())
        : undefined;
    throw new KeysUnavailableError('JWKS_HTTP_STATUS', `JWKS endpoint ${where} answered HTTP ${status}`, {
      upstreamStatus: status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
}

function freshness(response: Response, clock: Clock): number | undefined {
  return freshnessFromHeaders(
    {
      cacheControl: response.headers.get('cache-control'),
      expires: response.headers.get('expires'),
      date: response.headers.get('date'),
      age: response.headers.get('age'),
    },
    clock.wallNow(),
  );
}

async function readDocument(
  response: Response,
  limits: TransportLimits,
  deps: { clock: Clock },
  race: <T>(p: Promise<T>) => Promise<T>,
  started: number,
): Promise<TransportResult> {
  const max = limits.maxResponseBytes;
  if (!limits.acceptAnyContentType && !isJsonContentType(response.headers.get('content-type'))) {
    discardBody(response);
    throw new KeysUnavailableError('JWKS_MALFORMED', 'JWKS response has a non-JSON content type');
  }
  // content-length is the ENCODED size: a bound on the decoded size only without content-coding.
  const encoding = (response.headers.get('content-encoding') ?? '').trim().toLowerCase();
  const contentLength = response.headers.get('content-length');
  if ((encoding === '' || encoding === 'identity') && contentLength !== null && /^\s*\d+\s*$/.test(contentLength)) {
    if (Number(contentLength) > max) {
      discardBody(response);
      throw new KeysUnavailableError('JWKS_TOO_LARGE', `JWKS response declares ${contentLength.trim()} bytes (limit ${max})`);
    }
  }

  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = response.body;
  if (stream) {
    const reader = stream.getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = (await race(reader.read())) as { done: boolean; value: unknown };
        if (done) {
          finished = true;
          break;
        }
        if (!ArrayBuffer.isView(value)) {
          throw new KeysUnavailableError('JWKS_MALFORMED', 'JWKS response body produced a non-byte chunk');
        }
        total += value.byteLength;
        if (total > max) {
          throw new KeysUnavailableError('JWKS_TOO_LARGE', `JWKS response exceeded ${max} bytes`);
        }
        chunks.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      }
    } finally {
      // Early exit (limit, deadline, close, error): cancel so the connection is torn down.
      if (!finished) reader.cancel().catch(noop);
    }
  }

  const all = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    all.set(c, offset);
    offset += c.byteLength;
  }
  chunks.length = 0;

  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch (cause) {
    throw new KeysUnavailableError('JWKS_MALFORMED', 'JWKS response is not valid UTF-8', { cause });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw new KeysUnavailableError('JWKS_MALFORMED', 'JWKS response is not valid JSON', { cause });
  }
  const etag = response.headers.get('etag');
  const lastModified = response.headers.get('last-modified');
  return {
    kind: 'modified',
    body,
    bytes: total,
    validators: {
      ...(etag ? { etag } : {}),
      ...(lastModified ? { lastModified } : {}),
    },
    freshnessMs: freshness(response, deps.clock),
    durationMs: Math.max(0, deps.clock.monotonicNow() - started),
  };
}
