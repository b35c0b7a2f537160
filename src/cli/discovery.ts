/**
 * OpenID Connect discovery for the CLI and the sidecar: one bounded GET of
 * `<issuer>/.well-known/openid-configuration` (total deadline, byte cap, no redirects, JSON
 * only) and an exact comparison of the document's `issuer` with the configured one
 * (OpenID Connect Discovery 1.0 §4.3: a mismatch means the document must not be used).
 */

/** Why discovery failed. Stable codes. */
export type DiscoveryErrorCode = 'DISCOVERY_NETWORK' | 'DISCOVERY_TIMEOUT' | 'DISCOVERY_HTTP_STATUS' | 'DISCOVERY_MALFORMED' | 'DISCOVERY_TOO_LARGE' | 'DISCOVERY_ISSUER_MISMATCH';

/** A failed discovery. `mismatch` is a definitive answer (wrong issuer); the others are "unavailable". */
export class DiscoveryError extends Error {
  constructor(
    readonly code: DiscoveryErrorCode,
    message: string,
    readonly detail: { status?: number; issuer?: string } = {},
  ) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

/** Limits of one discovery request. */
export interface DiscoveryLimits {
  /** Total deadline: connect, headers, body. Unit: ms. Default: 5 000 (as the JWKS fetch). */
  timeoutMs?: number;
  /** Cap on body bytes. Default: 262 144 (real documents are 1–10 KiB). */
  maxBytes?: number;
}

/** What discovery found. */
export interface Discovery {
  /** The URL fetched. */
  url: string;
  /** The document's `issuer` (equal to the configured issuer). */
  issuer: string;
  /** The document's `jwks_uri`. */
  jwksUri: string;
}

/** The discovery URL of an issuer (trailing slash removed, then the well-known path appended). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/** GET a small JSON document with a total deadline, a byte cap and no redirects. */
export async function fetchJsonBounded(url: string, limits: DiscoveryLimits = {}): Promise<{ status: number; json: unknown }> {
  const timeoutMs = limits.timeoutMs ?? 5_000;
  const maxBytes = limits.maxBytes ?? 262_144;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetch(url, { method: 'GET', redirect: 'manual', signal: ac.signal, headers: { accept: 'application/json' } });
    } catch (err) {
      if (ac.signal.aborted) throw new DiscoveryError('DISCOVERY_TIMEOUT', `no answer from ${url} within ${timeoutMs} ms`);
      throw new DiscoveryError('DISCOVERY_NETWORK', `cannot reach ${url}: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`);
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new DiscoveryError('DISCOVERY_HTTP_STATUS', `${url} answered HTTP ${res.status}`, { status: res.status });
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = res.body?.getReader();
    try {
      for (;;) {
        const r = reader ? await reader.read() : { done: true as const, value: undefined };
        if (r.done) break;
        total += r.value.byteLength;
        if (total > maxBytes) {
          await reader?.cancel().catch(() => {});
          throw new DiscoveryError('DISCOVERY_TOO_LARGE', `${url} is larger than ${maxBytes} bytes`);
        }
        chunks.push(r.value);
      }
    } catch (err) {
      if (err instanceof DiscoveryError) throw err;
      if (ac.signal.aborted) throw new DiscoveryError('DISCOVERY_TIMEOUT', `no complete answer from ${url} within ${timeoutMs} ms`);
      throw new DiscoveryError('DISCOVERY_NETWORK', `reading ${url} failed`);
    }
    try {
      return { status: res.status, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
    } catch {
      throw new DiscoveryError('DISCOVERY_MALFORMED', `${url} is not JSON`);
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Discover an issuer's `jwks_uri`. Rejects with a {@link DiscoveryError}; with
 * `DISCOVERY_ISSUER_MISMATCH` when the document names another issuer (even one differing
 * only by a trailing slash: tokens carry the document's exact string).
 */
export async function discover(issuer: string, limits?: DiscoveryLimits): Promise<Discovery> {
  const url = discoveryUrl(issuer);
  const { json } = await fetchJsonBounded(url, limits);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new DiscoveryError('DISCOVERY_MALFORMED', `${url} is not a JSON object`);
  const doc = json as Record<string, unknown>;
  if (typeof doc.issuer !== 'string') throw new DiscoveryError('DISCOVERY_MALFORMED', `${url} has no "issuer"`);
  if (doc.issuer !== issuer) {
    throw new DiscoveryError('DISCOVERY_ISSUER_MISMATCH', `${url} names issuer ${JSON.stringify(doc.issuer.slice(0, 300))}, not ${JSON.stringify(issuer)}`, { issuer: doc.issuer.slice(0, 300) });
  }
  if (typeof doc.jwks_uri !== 'string') throw new DiscoveryError('DISCOVERY_MALFORMED', `${url} has no "jwks_uri"`);
  return { url, issuer: doc.issuer, jwksUri: doc.jwks_uri };
}
