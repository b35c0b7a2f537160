/**
 * `jwks-keeper inspect <issuer-or-jwks-url>`: discovery, every key with the cache's verdict,
 * cache headers and the freshness the cache derives, conditional-request support, warnings.
 * Uses the library's own cache (so accepted/dropped is exactly what an application would get)
 * with a recording fetch that keeps the response headers and a bounded copy of the body.
 */
import { createJwksCache, isKeysUnavailable } from '../index.js';
import type { FetchLike, SigningKey } from '../index.js';
import { discover, DiscoveryError } from './discovery.js';
import type { Io } from './output.js';
import { COMMON_OPTIONS, EXIT, UsageError, duration, intOption, painter, parse, printJson, printable, urlArgument } from './output.js';

/** `jwks-keeper inspect --help`. */
export const INSPECT_HELP = `Usage: jwks-keeper inspect <issuer-or-jwks-url> [options]

Fetch an issuer's discovery document (when given an issuer) and its JWKS, and report every
key (kid, kty, curve or RSA bits, alg, use, RFC 7638 thumbprint, accepted or dropped with the
reason), the cache headers and the freshness jwks-keeper derives from them, whether the IdP
answers conditional requests with 304, and warnings.

A URL whose path ends in .json or contains "jwks" or "certs" is taken as a JWKS URL, anything
else as an issuer; --jwks and --issuer force the choice.

Options:
  --issuer                 Treat the argument as an issuer (discovery first)
  --jwks                   Treat the argument as a JWKS URL
  --timeout-ms <ms>        Deadline of each request (default 5000)
  --allow-insecure-http    Allow http:// to non-loopback hosts
  --json                   One JSON document on stdout
  --no-color               No colours (also: NO_COLOR set, or stdout not a terminal)
  -h, --help               This help

Exit codes: 0 usable keys found (warnings do not fail), 1 issuer mismatch or no usable key,
2 bad arguments, 3 IdP unreachable or answering errors.
`;

/** One HTTP exchange seen by the recording fetch. */
interface Exchange {
  status: number;
  conditional: boolean;
  headers: Record<string, string>;
  body: Promise<string | undefined>;
}

const REPORTED_HEADERS = ['content-type', 'content-length', 'cache-control', 'expires', 'age', 'etag', 'last-modified', 'date'];

async function readBounded(res: Response, maxBytes: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      total += r.value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(r.value);
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A key row of the report. */
export interface InspectedKey {
  index: number;
  kid: string | undefined;
  kty: string | undefined;
  crv: string | undefined;
  bits: number | undefined;
  alg: string | undefined;
  use: string | undefined;
  thumbprint: string | undefined;
  status: 'accepted' | 'dropped';
  reason: string | undefined;
  detail: string | undefined;
}

/** A warning: stable code + text. */
export interface Warning {
  code: 'no-alg' | 'rsa-small' | 'no-cache' | 'no-cache-headers' | 'single-key' | 'no-validator' | 'validator-ignored' | 'dropped-keys';
  message: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? printable(v) : undefined);

function rsaBits(n: unknown): number | undefined {
  if (typeof n !== 'string') return undefined;
  const b = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (32 - Math.clz32(b[i]!));
}

function looksLikeJwks(u: URL): boolean {
  return /\.json$|jwks|certs/i.test(u.pathname);
}

/** Run `inspect` with its arguments; resolves with the exit code. */
export async function inspectCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    issuer: { type: 'boolean' },
    jwks: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
    'allow-insecure-http': { type: 'boolean' },
  });
  if (values.help) {
    io.out(INSPECT_HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'an issuer or JWKS URL is required' : 'exactly one issuer or JWKS URL expected');
  if (values.issuer && values.jwks) throw new UsageError('--issuer and --jwks are exclusive');
  const insecure = values['allow-insecure-http'] === true;
  const target = urlArgument('the issuer or JWKS URL', positionals[0], insecure);
  const timeoutMs = intOption('timeout-ms', values['timeout-ms'], 5_000, 1, 600_000);
  const asIssuer = values.issuer === true || (!values.jwks && !looksLikeJwks(target));
  const p = painter(io.color && !values['no-color']);
  const json = values.json === true;
  const report: Record<string, unknown> = { input: positionals[0], kind: asIssuer ? 'issuer' : 'jwks' };

  let jwksUri = target.href;
  if (asIssuer) {
    try {
      const d = await discover(positionals[0]!, { timeoutMs });
      report.discovery = { url: d.url, issuer: d.issuer, issuerMatches: true, jwksUri: d.jwksUri };
      jwksUri = urlArgument('the discovered jwks_uri', d.jwksUri, insecure).href;
    } catch (err) {
      if (!(err instanceof DiscoveryError)) throw err;
      const mismatch = err.code === 'DISCOVERY_ISSUER_MISMATCH';
      report.discovery = { error: err.code, message: printable(err.message, 600), ...(mismatch ? { issuer: printable(err.detail.issuer ?? ''), issuerMatches: false } : {}) };
      report.ok = false;
      if (json) printJson(io, report);
      else io.err(`${p.red('✗')} discovery: ${printable(err.message, 600)} (${err.code})\n`);
      return mismatch ? EXIT.FAILED : EXIT.UNAVAILABLE;
    }
  }
  report.jwksUri = jwksUri;

  const exchanges: Exchange[] = [];
  const maxBytes = 256 * 1024;
  const recording: FetchLike = async (input, init) => {
    const res = await fetch(input, init);
    const headers: Record<string, string> = {};
    for (const h of REPORTED_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) headers[h] = printable(v, 500);
    }
    const conditional = 'if-none-match' in init.headers || 'if-modified-since' in init.headers;
    exchanges.push({ status: res.status, conditional, headers, body: res.status === 200 ? readBounded(res.clone(), maxBytes) : Promise.resolve(undefined) });
    return res;
  };
  const dropped = new Map<number, { reason: string; detail: string | undefined }>();
  const cache = createJwksCache({ jwksUri, fetch: recording, timeoutMs, maxResponseBytes: maxBytes, allowInsecureHttp: insecure });
  cache.on('key.dropped', (e) => dropped.set(e.index, { reason: e.reason, detail: e.detail }));
  let freshnessMs: number | undefined;
  cache.on('refresh.succeeded', (e) => (freshnessMs ??= e.freshForMs));
  let loadError: { code: string; message: string } | undefined;
  let signing: SigningKey[] = [];
  try {
    await cache.ready();
    signing = await cache.getSigningKeys();
  } catch (err) {
    // ready() rejects with KEYS_NOT_LOADED; its cause says why (JWKS_HTTP_STATUS, JWKS_NETWORK ...)
    const cause = isKeysUnavailable(err) ? (err.cause as { code?: unknown } | undefined)?.code : undefined;
    loadError = { code: typeof cause === 'string' ? cause : ((err as { code?: string }).code ?? 'UNKNOWN'), message: err instanceof Error ? err.message : String(err) };
  }
  const first = exchanges[0];
  let conditional: Record<string, unknown> = { supported: false, validator: undefined };
  if (!loadError && first && (first.headers.etag || first.headers['last-modified'])) {
    await cache.refresh();
    const second = exchanges[1];
    conditional = {
      validator: first.headers.etag ? 'etag' : 'last-modified',
      sent: second?.conditional ?? false,
      status: second?.status,
      supported: second?.status === 304,
    };
  }
  await cache.close();

  // the keys: raw entries from the body, verdicts from the cache's events and keys
  const body = first ? await first.body : undefined;
  let raw: unknown[] = [];
  try {
    const doc = body ? (JSON.parse(body) as { keys?: unknown }) : undefined;
    if (doc && Array.isArray(doc.keys)) raw = doc.keys.slice(0, 100);
  } catch {
    raw = [];
  }
  const accepted = [...signing];
  const keys: InspectedKey[] = raw.map((entry, index) => {
    const e = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
    const d = dropped.get(index) ?? (loadError ? { reason: loadError.code, detail: undefined } : undefined);
    const sk = d ? undefined : accepted.shift();
    const bits = sk?.keyObject.asymmetricKeyDetails?.modulusLength ?? (e.kty === 'RSA' ? rsaBits(e.n) : undefined);
    return {
      index,
      kid: str(e.kid),
      kty: str(e.kty),
      crv: str(e.crv),
      bits,
      alg: str(e.alg),
      use: str(e.use),
      thumbprint: sk?.thumbprint,
      status: d ? 'dropped' : 'accepted',
      reason: d?.reason,
      detail: d?.detail,
    };
  });

  const warnings: Warning[] = [];
  const cc = first?.headers['cache-control']?.toLowerCase();
  for (const k of keys) {
    if (k.status === 'accepted' && k.alg === undefined) warnings.push({ code: 'no-alg', message: `key ${k.kid ?? `#${k.index}`} has no "alg": it may verify every algorithm of its type` });
    if (k.kty === 'RSA' && k.bits !== undefined && k.bits < 2048) warnings.push({ code: 'rsa-small', message: `key ${k.kid ?? `#${k.index}`} is RSA ${k.bits} bits (< 2048)` });
  }
  if (cc && /no-cache|no-store|max-age=0\b/.test(cc)) warnings.push({ code: 'no-cache', message: `the IdP sends "cache-control: ${cc}": jwks-keeper refreshes at its floor (minRefreshIntervalMs, 1 min)` });
  else if (first && !cc && !first.headers.expires) warnings.push({ code: 'no-cache-headers', message: 'no cache-control or expires: jwks-keeper uses its default (10 min)' });
  const acceptedCount = keys.filter((k) => k.status === 'accepted').length;
  if (acceptedCount === 1) warnings.push({ code: 'single-key', message: 'one key and no announced successor: a rotation will reach verifiers only when they refresh' });
  if (first && !loadError && !first.headers.etag && !first.headers['last-modified']) warnings.push({ code: 'no-validator', message: 'no ETag or Last-Modified: every refresh downloads the whole set' });
  if (conditional.sent === true && conditional.supported === false) warnings.push({ code: 'validator-ignored', message: `the IdP answered the conditional request with HTTP ${String(conditional.status)}, not 304` });
  if (dropped.size > 0) warnings.push({ code: 'dropped-keys', message: `${dropped.size} key(s) dropped (see the reasons)` });

  Object.assign(report, {
    http: first ? { status: first.status, headers: first.headers } : undefined,
    freshnessMs,
    conditional,
    keys,
    warnings,
    error: loadError,
    ok: !loadError,
  });
  const code = !loadError ? EXIT.OK : loadError.code === 'JWKS_NO_USABLE_KEYS' || loadError.code === 'JWKS_PRIVATE_KEY' ? EXIT.FAILED : EXIT.UNAVAILABLE;
  if (json) {
    printJson(io, report);
    return code;
  }
  const lines: string[] = [];
  const d = report.discovery as { url: string; issuer: string; jwksUri: string } | undefined;
  if (d) lines.push(p.bold('Discovery'), `  url            ${d.url}`, `  issuer         ${d.issuer} ${p.green('✓ matches')}`, `  jwks_uri       ${d.jwksUri}`);
  lines.push(p.bold('JWKS'), `  url            ${jwksUri}`);
  if (first) {
    lines.push(`  status         HTTP ${first.status}`);
    for (const [h, v] of Object.entries(first.headers)) lines.push(`  ${h.padEnd(14)} ${v}`);
  }
  if (freshnessMs !== undefined) lines.push(`  freshness      ${duration(freshnessMs)} (derived by jwks-keeper from the headers, clamped to [1 min, 1 h])`);
  if (conditional.validator) {
    lines.push(`  conditional    ${conditional.validator === 'etag' ? 'If-None-Match' : 'If-Modified-Since'} → HTTP ${String(conditional.status)} ${conditional.supported ? p.green('✓ 304 supported') : p.yellow('✗ no 304')}`);
  }
  if (loadError) lines.push(`  ${p.red('✗')} ${loadError.code}: ${loadError.message}`);
  lines.push(p.bold(`Keys (${acceptedCount} accepted, ${keys.length - acceptedCount} dropped)`));
  for (const k of keys) {
    const shape = [k.kty ?? '?', k.crv ?? (k.bits !== undefined ? `${k.bits} bits` : '')].filter(Boolean).join(' ');
    const cols = [k.kid ?? p.dim('(no kid)'), shape, k.alg ?? p.yellow('no alg'), k.use ?? p.dim('no use')].join('  ');
    if (k.status === 'accepted') lines.push(`  ${p.green('✓')} ${cols}  ${p.dim(`thumbprint ${k.thumbprint ?? '?'}`)}`);
    else lines.push(`  ${p.red('✗')} ${cols}  dropped: ${k.reason ?? '?'}${k.detail ? ` (${k.detail})` : ''}`);
  }
  if (warnings.length > 0) {
    lines.push(p.bold('Warnings'));
    for (const w of warnings) lines.push(`  ${p.yellow('!')} ${w.code}: ${w.message}`);
  }
  io.out(`${lines.join('\n')}\n`);
  return code;
}
