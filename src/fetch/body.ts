/**
 * Reading a response: content-type check, a decoded-byte cap enforced while streaming,
 * fatal UTF-8, JSON; cancelling bodies that are not read so sockets are released.
 */
import type { Clock } from '../runtime/clock.js';
import { freshnessFromHeaders } from './cache-headers.js';
import type { DocumentResource } from './resource.js';
import type { TransportLimits, TransportResult } from './transport.js';

const noop = (): void => {};

/** True for an absent content type, application/json, application/jwk-set+json, or any x/y+json. */
function isJsonContentType(value: string | null): boolean {
  if (value === null) return true;
  const mediaType = (value.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === '') return true;
  if (mediaType === 'application/json' || mediaType === 'application/jwk-set+json') return true;
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(mediaType);
}

/** Cancel a response body we will not read, ignoring every error (locked, already errored...). */
export function discardBody(response: Response | undefined): void {
  try {
    const body = response?.body;
    if (body && !body.locked) body.cancel().catch(noop);
  } catch {
    // A user-supplied Response may be anything; never let cleanup throw.
  }
}

/** Remaining freshness from the caching headers, ms, or `undefined`. */
export function freshness(response: Response, clock: Clock): number | undefined {
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

/** Read a 200 answer into a parsed document (within `maxResponseBytes` and the deadline). */
export async function readDocument(
  response: Response,
  limits: TransportLimits,
  deps: { clock: Clock },
  race: <T>(p: Promise<T>) => Promise<T>,
  started: number,
  res: DocumentResource,
): Promise<TransportResult> {
  const max = limits.maxResponseBytes;
  if (!limits.acceptAnyContentType && !isJsonContentType(response.headers.get('content-type'))) {
    discardBody(response);
    throw res.fail('malformed', `${res.label} response has a non-JSON content type`);
  }
  // content-length is the ENCODED size: a bound on the decoded size only without content-coding.
  const encoding = (response.headers.get('content-encoding') ?? '').trim().toLowerCase();
  const contentLength = response.headers.get('content-length');
  if ((encoding === '' || encoding === 'identity') && contentLength !== null && /^\s*\d+\s*$/.test(contentLength)) {
    if (Number(contentLength) > max) {
      discardBody(response);
      throw res.fail('too-large', `${res.label} response declares ${contentLength.trim()} bytes (limit ${max})`);
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
          throw res.fail('malformed', `${res.label} response body produced a non-byte chunk`);
        }
        total += value.byteLength;
        if (total > max) {
          throw res.fail('too-large', `${res.label} response exceeded ${max} bytes`);
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
    throw res.fail('malformed', `${res.label} response is not valid UTF-8`, { cause });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (cause) {
    throw res.fail('malformed', `${res.label} response is not valid JSON`, { cause });
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
