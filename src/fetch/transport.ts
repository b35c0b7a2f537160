/**
 * The HTTP transport: one GET of a bounded JSON document (a JWKS, an OpenID discovery
 * document) with hard limits.
 *
 * Everything an identity provider (or an attacker sitting where it should be) can do to a
 * client is bounded here: one total deadline covering connect, headers and the whole body
 * (not an idle timeout, so a body dripping one byte a second still ends), a cap on decoded
 * body bytes enforced while streaming (so a gzip bomb is cut off after `maxResponseBytes`),
 * redirects refused by default, https only (plain http only to loopback), and a content-type
 * check. Every failure is a {@link KeysUnavailableError} with a stable code.
 *
 * The transport itself is resource-neutral: it reports failures by KIND ({@link
 * DocumentFailure}: `timeout`, `too-large`, `redirect`, `http-status`, `network`,
 * `malformed`) and a {@link DocumentResource} maps each kind to the public code family of the
 * document being fetched. {@link JWKS_RESOURCE} maps them to the `JWKS_*` codes (public API,
 * unchanged); a discovery leaf passes its own resource (label, `accept`, codes).
 */

import { KeysUnavailableError } from '../errors.js';
import type { DocumentResource } from './resource.js';
import { JWKS_RESOURCE } from './resource.js';
import { checkDocumentUrl } from './url.js';

export { checkDocumentUrl, checkJwksUrl, isLoopbackHost } from './url.js';
export { JWKS_RESOURCE } from './resource.js';
export type { DocumentFailure, DocumentResource } from './resource.js';
import type { Clock, Scheduler, TimerHandle } from '../runtime/clock.js';
import { parseRetryAfter } from './cache-headers.js';
import { discardBody, freshness, readDocument } from './body.js';

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

const noop = (): void => {};

/**
 * Fetch and JSON-parse one bounded JSON document, within hard limits.
 *
 * Sends `accept` (from `res`) plus `if-none-match` /
 * `if-modified-since` from `validators`, with `redirect: 'manual'`.
 *
 * - 200 → body read under `maxResponseBytes`, UTF-8 decoded (fatally), `JSON.parse`d.
 * - 304 → `not-modified` (only if validators were sent; otherwise `http-status`).
 * - other 3xx, or `response.redirected` → `redirect` (unless `allowRedirects`).
 * - anything else → `http-status` with `status`, and `retryAfterMs` for 429/503.
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
 * @param res - what is fetched: labels, `accept`, and the code of each failure kind
 * @returns the parsed document or a not-modified marker
 * @throws rejects ONLY with {@link KeysUnavailableError}: a code of `res` per failure kind
 *   (`timeout`, `too-large`, `redirect`, `http-status`, `network` with `cause`, `malformed`), or `CLOSED`
 */
export async function fetchJsonDocument(
  url: URL,
  validators: Validators,
  limits: TransportLimits,
  deps: { fetch: FetchLike; clock: Clock; scheduler: Scheduler; signal?: AbortSignal },
  res: DocumentResource,
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
      () => fail(res.fail('timeout', `${res.label} request exceeded its ${limits.timeoutMs} ms deadline`)),
      limits.timeoutMs,
    );
    return await request(url, validators, limits, deps, controller.signal, race, started, res);
  } catch (err) {
    // A deadline/close that fired first wins over whatever error the abort caused downstream.
    if (failure) throw failure;
    if (err instanceof KeysUnavailableError) throw err;
    throw res.fail('network', `${res.label} request failed: ${describe(err)}`, { cause: err });
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
  res: DocumentResource,
): Promise<TransportResult> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(limits.headers ?? {})) headers[name.toLowerCase()] = value;
  delete headers['if-none-match'];
  delete headers['if-modified-since'];
  headers['accept'] = res.accept;
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
      throw res.fail('redirect', `${res.label} endpoint ${where} redirected (the fetch followed it)`, {
        upstreamStatus: status,
      });
    }
    if (status === 200) return await readDocument(response, limits, deps, race, started, res);

    discardBody(response); // never read a non-200 body
    if (status === 304) {
      if (!conditional) {
        throw res.fail('http-status', `${res.label} endpoint ${where} answered 304 to an unconditional request`, {
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
        throw res.fail('redirect', `${res.label} endpoint ${where} answered a ${status} redirect (redirects are refused)`, {
          upstreamStatus: status,
        });
      }
      const location = response.headers.get('location');
      if (!FOLLOWABLE_REDIRECTS.has(status) || location === null) {
        throw res.fail('redirect', `${res.label} endpoint ${where} answered ${status} without a usable Location`, {
          upstreamStatus: status,
        });
      }
      if (hop >= MAX_REDIRECTS) {
        throw res.fail('redirect', `${res.label} endpoint exceeded ${MAX_REDIRECTS} redirects`, { upstreamStatus: status });
      }
      try {
        current = checkDocumentUrl(new URL(location, current), limits.allowInsecureHttp, res.urlName);
      } catch (cause) {
        throw res.fail('redirect', `${res.label} endpoint ${where} redirected to a refused URL`, {
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
    throw res.fail('http-status', `${res.label} endpoint ${where} answered HTTP ${status}`, {
      upstreamStatus: status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
}


/**
 * Fetch one JWKS document: {@link fetchJsonDocument} with {@link JWKS_RESOURCE}.
 *
 * @throws rejects ONLY with {@link KeysUnavailableError}: `JWKS_TIMEOUT`, `JWKS_TOO_LARGE`,
 *   `JWKS_REDIRECT`, `JWKS_HTTP_STATUS`, `JWKS_NETWORK` (with `cause`), `JWKS_MALFORMED`, `CLOSED`
 */
export function fetchJwksDocument(
  url: URL,
  validators: Validators,
  limits: TransportLimits,
  deps: { fetch: FetchLike; clock: Clock; scheduler: Scheduler; signal?: AbortSignal },
): Promise<TransportResult> {
  return fetchJsonDocument(url, validators, limits, deps, JWKS_RESOURCE);
}
