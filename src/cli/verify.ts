/**
 * `jwks-keeper verify <token> --issuer --audience [--jwks-url]`: verifies with the library's
 * verifier (the verdict and exit code come from it alone) and explains each check: header,
 * kid lookup, signature (jose's compactVerify with the looked-up key), each claim. Prints
 * header fields and registered claim values only: never the signature, never other claims'
 * values.
 */
import { readFileSync } from 'node:fs';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { createJwksCache, createVerifier, isKeysUnavailable, isTokenInvalid } from '../index.js';
import type { SigningKey, SupportedAlg } from '../index.js';
import { discover, DiscoveryError } from './discovery.js';
import type { Io } from './output.js';
import { COMMON_OPTIONS, EXIT, UsageError, duration, intOption, painter, parse, printJson, printable, urlArgument } from './output.js';

/** `jwks-keeper verify --help`. */
export const VERIFY_HELP = `Usage: jwks-keeper verify <token | -> --issuer <iss> --audience <aud> [options]

Verify a JWT with jwks-keeper and explain every check: the header, the kid lookup, the
signature, and each claim (iss, aud, exp, nbf, iat). Give '-' to read the token from stdin
(keeps it out of shell history and the process list). The signature and the values of
non-registered claims are never printed.

Options:
  --issuer <iss>           Expected "iss", exactly (required)
  --audience <aud>         Accepted "aud" (required; repeat for several)
  --jwks-url <url>         JWKS URL (default: discovered from the issuer)
  --clock-tolerance-sec <s>  Allowed clock skew (default 30)
  --timeout-ms <ms>        Deadline of each request (default 5000)
  --allow-insecure-http    Allow http:// to non-loopback hosts
  --json                   One JSON document on stdout
  --no-color               No colours
  -h, --help               This help

Exit codes: 0 valid, 1 invalid (the verifier's 401 codes), 2 bad arguments,
3 keys unavailable (discovery or JWKS failed: the verifier's 503 codes).
`;

/** One explained check. */
export interface Check {
  check: string;
  status: 'pass' | 'fail' | 'skip';
  detail: string;
  code?: string;
}

const iso = (sec: unknown): string => (typeof sec === 'number' && Number.isFinite(sec) && Math.abs(sec) < 1e11 ? new Date(sec * 1000).toISOString() : String(sec));
const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 200) ?? String(v);

/** Run `verify` with its arguments; resolves with the exit code. */
export async function verifyCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON_OPTIONS,
    issuer: { type: 'string' },
    audience: { type: 'string', multiple: true },
    'jwks-url': { type: 'string' },
    'clock-tolerance-sec': { type: 'string' },
    'timeout-ms': { type: 'string' },
    'allow-insecure-http': { type: 'boolean' },
  });
  if (values.help) {
    io.out(VERIFY_HELP);
    return EXIT.OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'a token (or - for stdin) is required' : 'exactly one token expected');
  if (!values.issuer) throw new UsageError('--issuer is required');
  const audience = values.audience ?? [];
  if (audience.length === 0 || audience.some((a) => a === '')) throw new UsageError('--audience is required');
  const insecure = values['allow-insecure-http'] === true;
  const timeoutMs = intOption('timeout-ms', values['timeout-ms'], 5_000, 1, 600_000);
  const toleranceSec = intOption('clock-tolerance-sec', values['clock-tolerance-sec'], 30, 0, 300);
  const explicitJwks = values['jwks-url'] !== undefined ? urlArgument('--jwks-url', values['jwks-url'], insecure) : undefined;
  const token = (positionals[0] === '-' ? readFileSync(0, 'utf8') : positionals[0]!).trim();
  const issuer = values.issuer;
  const p = painter(io.color && !values['no-color']);
  const checks: Check[] = [];
  const finish = (code: number, verdict: Record<string, unknown>): number => {
    if (values.json) printJson(io, { checks, verdict });
    else {
      const mark = { pass: p.green('✓'), fail: p.red('✗'), skip: p.dim('-') };
      const lines = checks.map((c) => `${mark[c.status]} ${c.check.padEnd(10)} ${c.detail}${c.code ? ` (${c.code})` : ''}`);
      const why = `${String(verdict.code)}${verdict.cause ? ` (${String(verdict.cause)})` : ''}`;
      lines.push(verdict.valid ? p.bold(p.green('VALID')) : p.bold(p.red(verdict.httpStatus === 503 ? `UNAVAILABLE ${why}` : `INVALID ${why}`)) + (verdict.httpStatus ? ` → HTTP ${String(verdict.httpStatus)}` : ''));
      io.out(`${lines.join('\n')}\n`);
    }
    return code;
  };

  // 1. header (decoded by jose; printed fields only)
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    const others = Object.keys(header).filter((k) => !['alg', 'kid', 'typ'].includes(k));
    checks.push({ check: 'header', status: 'pass', detail: `alg ${show(header.alg)}, kid ${show(header.kid)}, typ ${show(header.typ)}${others.length ? `, also ${printable(others.slice(0, 10).join(', '))}` : ''}` });
  } catch {
    checks.push({ check: 'header', status: 'fail', detail: 'not a compact JWS with a JSON protected header', code: 'TOKEN_MALFORMED' });
    return finish(EXIT.FAILED, { valid: false, code: 'TOKEN_MALFORMED', httpStatus: 401 });
  }

  // 2. where the keys are
  let jwksUri: string;
  if (explicitJwks) jwksUri = explicitJwks.href;
  else {
    try {
      urlArgument('--issuer (for discovery)', issuer, insecure);
      const d = await discover(issuer, { timeoutMs });
      jwksUri = urlArgument('the discovered jwks_uri', d.jwksUri, insecure).href;
      checks.push({ check: 'discovery', status: 'pass', detail: `${d.url} names this issuer; jwks_uri ${d.jwksUri}` });
    } catch (err) {
      if (!(err instanceof DiscoveryError)) throw err;
      checks.push({ check: 'discovery', status: 'fail', detail: printable(err.message, 600), code: err.code });
      const mismatch = err.code === 'DISCOVERY_ISSUER_MISMATCH';
      return finish(mismatch ? EXIT.FAILED : EXIT.UNAVAILABLE, { valid: false, code: err.code, httpStatus: mismatch ? 401 : 503 });
    }
  }

  const cache = createJwksCache({ jwksUri, timeoutMs, allowInsecureHttp: insecure });
  try {
    // 3. kid lookup
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    let key: SigningKey | undefined;
    try {
      key = await cache.getSigningKey(kid);
      const shape = key.jwk.kty === 'RSA' ? `RSA ${key.keyObject.asymmetricKeyDetails?.modulusLength ?? '?'} bits` : `${key.jwk.kty} ${key.jwk.crv ?? ''}`.trim();
      checks.push({ check: 'kid', status: 'pass', detail: `${kid === undefined ? 'no kid: the set\'s only key' : `kid ${show(kid)} found`} (${shape}, algorithms ${key.algorithms.join('/')}, thumbprint ${key.thumbprint}, generation ${key.generation})` });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'UNKNOWN';
      checks.push({ check: 'kid', status: 'fail', detail: isKeysUnavailable(err) ? `keys unavailable from ${jwksUri}` : `no usable key for kid ${show(kid)} in ${jwksUri}`, code });
    }

    // 4. signature, with jose and the key's permitted algorithms
    if (key) {
      const alg = header.alg;
      if (typeof alg !== 'string' || !(key.algorithms as readonly string[]).includes(alg)) {
        checks.push({ check: 'signature', status: 'fail', detail: `alg ${show(alg)} is not one this key may verify (${key.algorithms.join('/')})`, code: 'KEY_ALG_MISMATCH' });
      } else {
        try {
          await compactVerify(token, key.keyObject, { algorithms: [alg as SupportedAlg] });
          checks.push({ check: 'signature', status: 'pass', detail: `${alg} signature verifies with key ${key.thumbprint}` });
        } catch {
          checks.push({ check: 'signature', status: 'fail', detail: `${alg} signature does not verify with key ${key.thumbprint}`, code: 'SIGNATURE_INVALID' });
        }
      }
    } else checks.push({ check: 'signature', status: 'skip', detail: 'no key to check it with' });

    // 5. claims, explained from the (unverified) payload; the verdict below is the verifier's
    let payload: Record<string, unknown> = {};
    try {
      payload = decodeJwt(token) as Record<string, unknown>;
    } catch {
      checks.push({ check: 'claims', status: 'fail', detail: 'payload is not a JSON object', code: 'TOKEN_MALFORMED' });
    }
    const now = Math.floor(Date.now() / 1000);
    const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    checks.push(payload.iss === issuer ? { check: 'iss', status: 'pass', detail: `${show(payload.iss)} equals the expected issuer` } : { check: 'iss', status: 'fail', detail: `${show(payload.iss)} is not ${show(issuer)}`, code: 'CLAIM_INVALID' });
    const aud = typeof payload.aud === 'string' ? [payload.aud] : Array.isArray(payload.aud) ? payload.aud : [];
    checks.push(aud.some((a) => audience.includes(a as string)) ? { check: 'aud', status: 'pass', detail: `${show(payload.aud)} contains an accepted audience` } : { check: 'aud', status: 'fail', detail: `${show(payload.aud)} contains none of ${show(audience)}`, code: 'CLAIM_INVALID' });
    if (!num(payload.exp)) checks.push({ check: 'exp', status: 'fail', detail: payload.exp === undefined ? 'missing (required)' : `${show(payload.exp)} is not a NumericDate`, code: 'CLAIM_INVALID' });
    else if (payload.exp <= now - toleranceSec) checks.push({ check: 'exp', status: 'fail', detail: `expired at ${iso(payload.exp)}, ${duration((now - payload.exp) * 1000)} ago`, code: 'TOKEN_EXPIRED' });
    else checks.push({ check: 'exp', status: 'pass', detail: `expires at ${iso(payload.exp)}, in ${duration((payload.exp - now) * 1000)}` });
    if (payload.nbf === undefined) checks.push({ check: 'nbf', status: 'skip', detail: 'absent' });
    else if (!num(payload.nbf) || payload.nbf > now + toleranceSec) checks.push({ check: 'nbf', status: 'fail', detail: `not valid before ${iso(payload.nbf)}`, code: 'CLAIM_INVALID' });
    else checks.push({ check: 'nbf', status: 'pass', detail: `valid since ${iso(payload.nbf)}` });
    if (payload.iat === undefined) checks.push({ check: 'iat', status: 'skip', detail: 'absent' });
    else if (!num(payload.iat) || payload.iat > now + toleranceSec) checks.push({ check: 'iat', status: 'fail', detail: `issued in the future: ${iso(payload.iat)}`, code: 'CLAIM_INVALID' });
    else checks.push({ check: 'iat', status: 'pass', detail: `issued at ${iso(payload.iat)}, ${duration((now - payload.iat) * 1000)} ago` });
    const others = Object.keys(payload).filter((k) => !['iss', 'aud', 'exp', 'nbf', 'iat'].includes(k));
    if (others.length) checks.push({ check: 'claims', status: 'skip', detail: `other claims (values not shown): ${printable(others.slice(0, 20).join(', '), 400)}` });

    // 6. the verdict: the library's verifier, nothing else
    const verifier = createVerifier({ issuer, audience, keys: cache, clockToleranceSec: toleranceSec });
    try {
      const r = await verifier.verify(token);
      return finish(EXIT.OK, { valid: true, kid: r.key.kid, thumbprint: r.key.thumbprint, generation: r.key.generation });
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'UNKNOWN';
      if (isTokenInvalid(err)) return finish(EXIT.FAILED, { valid: false, code, httpStatus: 401, ...(err.claim ? { claim: err.claim } : {}) });
      if (isKeysUnavailable(err)) {
        const cause = (err.cause as { code?: unknown } | undefined)?.code;
        return finish(EXIT.UNAVAILABLE, { valid: false, code, httpStatus: 503, ...(typeof cause === 'string' ? { cause } : {}) });
      }
      return finish(EXIT.INTERNAL, { valid: false, code });
    }
  } finally {
    await cache.close();
  }
}
