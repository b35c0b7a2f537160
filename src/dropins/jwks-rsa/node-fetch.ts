/**
 * A {@link FetchLike} over `node:http`/`node:https`, so HTTP mocks that patch those modules
 * (nock 13, the most used) see the drop-in's requests, and a `requestAgent` (proxy, private
 * CA) applies, as with jwks-rsa. The cache's transport still applies its total deadline, byte
 * cap, redirect policy and content checks around it; this layer only moves bytes.
 */
// Default imports: the modules' live objects, so mocks that patch `http.request` (nock) are seen.
import http from 'node:http';
import https from 'node:https';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { FetchLike } from '../../index.js';

/** Options of {@link nodeHttpFetch}. */
export interface NodeHttpFetchOptions {
  /** An `http.Agent`/`https.Agent` (jwks-rsa's `requestAgent`). Default: Node's global agent. */
  agent?: http.Agent | https.Agent;
  /**
   * Lowercased names of the request headers to send. Default: every header the transport
   * passes. jwks-rsa sends only the user's `requestHeaders`, so the drop-in passes their names.
   */
  onlyHeaders?: ReadonlySet<string>;
}

const NULL_BODY = new Set([101, 204, 205, 304]);

function decoded(res: http.IncomingMessage): Readable {
  const enc = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip') return res.pipe(createGunzip());
  if (enc === 'deflate') return res.pipe(createInflate());
  if (enc === 'br') return res.pipe(createBrotliDecompress());
  return res;
}

/** A byte stream over a Node readable; cancelling it destroys the response (and its socket). */
function webStream(res: http.IncomingMessage, body: Readable): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      body.on('data', (chunk: Buffer) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) body.pause();
      });
      body.once('end', () => controller.close());
      body.once('error', (err) => controller.error(err));
      res.once('aborted', () => controller.error(new Error('response aborted')));
    },
    pull() {
      body.resume();
    },
    cancel() {
      res.destroy();
      if (body !== res) body.destroy();
    },
  });
}

/**
 * Create a `FetchLike` that sends one GET through `node:http(s)`, with the request shape of
 * jwks-rsa (method, host, port, path, only the allowed headers, optional agent).
 */
export function nodeHttpFetch(options: NodeHttpFetchOptions = {}): FetchLike {
  return (input, init) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(init.headers)) {
        if (options.onlyHeaders === undefined || options.onlyHeaders.has(k.toLowerCase())) headers[k] = v;
      }
      const lib = url.protocol === 'https:' ? https : http;
      const signal = init.signal;
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const req = lib.request(
        {
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: 'GET',
          ...(Object.keys(headers).length > 0 && { headers }),
          ...(options.agent && { agent: options.agent }),
        },
        (res) => {
          signal.removeEventListener('abort', onAbort);
          const status = res.statusCode ?? 0;
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
          }
          const body = decoded(res);
          if (body !== res) {
            h.delete('content-encoding');
            h.delete('content-length');
          }
          if (NULL_BODY.has(status) || status < 200 || status > 599) {
            res.resume();
            resolve(new Response(null, { status: status >= 200 && status <= 599 ? status : 502, headers: h }));
            return;
          }
          const onLateAbort = (): void => {
            res.destroy();
          };
          signal.addEventListener('abort', onLateAbort, { once: true });
          res.once('close', () => signal.removeEventListener('abort', onLateAbort));
          resolve(new Response(webStream(res, body), { status, statusText: res.statusMessage ?? '', headers: h }));
        },
      );
      const onAbort = (): void => {
        req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      req.once('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.end();
    });
}
