/**
 * The verifier: pre-checks, key lookup through the cache, then jose's `jwtVerify` with the
 * algorithm pinned to the key, and claim checks.
 */
import { jwtVerify, errors as joseErrors } from 'jose';
import type { JWTPayload, JWTHeaderParameters } from 'jose';
import type { JwksCache, LookupContext, ResolvedKeys } from '../cache.js';
import type { JwksCacheOptions } from '../options.js';
import type { Logger } from '../logging.js';
import { createJwksCache } from '../cache.js';
import { portOf } from '../core/port.js';
import { VERIFIER_NUMBERS } from '../options/defaults.js';
import { num } from '../options/resolve.js';
import { ConfigError, JwksKeeperError, TokenInvalidError, sanitizeForLog } from '../errors.js';
import type { SupportedAlg, ValidatedKey } from '../jwks/validate.js';
import { SUPPORTED_ALGS } from '../jwks/validate.js';
import type { Clock } from '../runtime/clock.js';
import { precheckToken, pregateClaims } from './precheck.js';
import type { PrecheckLimits, PrecheckedToken } from './precheck.js';
import { fastVerify } from './fast-path.js';
import { compileIssuer, keyIssuerAllows, TENANT_PLACEHOLDER } from './issuer.js';
import type { ClaimRules } from './fast-path.js';

/** Options of {@link createVerifier}. */
export interface VerifierOptions {
  /**
   * The exact `iss` expected. Required. Compared with `===`.
   *
   * May be an Entra-style template containing `{tenantid}` once, e.g.
   * `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's `tid` claim (letters,
   * digits, dashes) fills the template and the result must equal `iss` exactly. Requires
   * {@link VerifierOptions.tenants}.
   */
  issuer: string;
  /**
   * Tenants accepted by a templated `issuer`: a list of tenant ids (compared
   * case-insensitively), or `'any'` to accept every tenant of the IdP (multi-tenant apps that
   * check the tenant themselves). Default: none; required with a templated issuer and refused
   * without one, so a template never silently accepts every tenant.
   */
  tenants?: readonly string[] | 'any';
  /** Accepted audience(s); the token's `aud` must contain at least one. Required. */
  audience: string | readonly string[];
  /** The JWKS URL; a cache is created and owned by the verifier (closed by `close()`). Give this or `keys`. */
  jwksUri?: string | URL;
  /** An existing cache to share between verifiers of the same issuer. Not closed by `close()`. */
  keys?: JwksCache;
  /** Options for the cache created from `jwksUri`. Refused together with `keys` (configure that cache where you create it). */
  cacheOptions?: Omit<JwksCacheOptions, 'jwksUri'>;
  /**
   * Accepted `alg` values. Default: every asymmetric algorithm supported (RS*, PS*, ES*,
   * EdDSA/Ed25519). Each key is further pinned to its JWK `alg`, or to what its `kty`/`crv`
   * allows. `none` and HS* are never accepted with remote keys.
   */
  algorithms?: readonly SupportedAlg[];
  /** Clock skew allowed for `exp`, `nbf`, `iat`. Unit: seconds. Default: 30. Maximum: 300 (more hides broken clocks and extends stolen tokens). */
  clockToleranceSec?: number;
  /** Require `exp`. Default: true (a token without expiry is valid forever if stolen). */
  requireExp?: boolean;
  /** Reject tokens whose `iat` is older than this. Unit: seconds, > 0. Default: none. */
  maxTokenAgeSec?: number;
  /** Expected `typ` header, e.g. `at+jwt` (RFC 9068). Default: not checked. */
  typ?: string;
  /** Further claims that must be present. Default: none beyond `exp`, `iss`, `aud`. */
  requiredClaims?: readonly string[];
  /** Longest token accepted, in characters. Default: 16 384 (real tokens are 1–4 KiB). Range: [16, 1 048 576]. */
  maxTokenBytes?: number;
  /** Longest decoded protected header, in bytes. Default: 4 096. Range: [16, 65 536]. */
  maxHeaderBytes?: number;
  /** Longest `kid`, in characters. Default: 256 (as the cache). Range: [1, 4096]. */
  maxKidLength?: number;
  /**
   * Wall clock for claim checks. Default: the cache's clock: the one in `cacheOptions.clock`
   * for a cache created from `jwksUri`, or the clock the cache given as `keys` was created
   * with (the process clock when none was given).
   */
  clock?: Clock;
  /**
   * Verify plain tokens synchronously with `node:crypto` and jose's claim rules, instead of
   * jose's WebCrypto path. Default: true (2–7.5× the verifies/s of jose with a static key, measured
   * by `npm run bench`; identical
   * accept/reject results, checked by a differential test). Tokens with `crit`/`b64`
   * headers always go through jose.
   */
  fastPath?: boolean;
  /** A pino-compatible logger for the events of the cache created from `jwksUri` (see `JwksCacheOptions.logger`). Default: none. With `keys`, give it to that cache instead. */
  logger?: Logger;
}

/** What a successful verification returns; `TPayload` types the claims your tokens carry (not checked beyond the verifier's rules). */
export interface VerifyResult<TPayload extends JWTPayload = JWTPayload> {
  payload: TPayload;
  protectedHeader: JWTHeaderParameters;
  /** The key that verified the token. */
  key: { kid: string | undefined; thumbprint: string; generation: number };
}

/** A verifier bound to one issuer. Create once, share across requests. */
export interface Verifier {
  /**
   * Verify a compact JWS JWT. Rejects with {@link TokenInvalidError} (answer 401) or
   * {@link KeysUnavailableError} (answer 503); never with anything else.
   * @param ctx - optional per-request context; `clientId` shares unknown-kid waiting capacity fairly.
   */
  verify<TPayload extends JWTPayload = JWTPayload>(token: string, ctx?: LookupContext): Promise<VerifyResult<TPayload>>;
  /** The key cache in use. */
  readonly keys: JwksCache;
  /** Close the cache if this verifier created it. */
  close(): Promise<void>;
}

const MAX_NUMERIC_DATE = 253_402_300_799;

/** jose's messages may quote token content (a `crit` name, a claim value): sanitise before they become ours. */
const joseMessage = (err: Error): string => sanitizeForLog(err.message, 200);

function mapJoseError(err: unknown): JwksKeeperError {
  if (err instanceof JwksKeeperError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenInvalidError('TOKEN_EXPIRED', joseMessage(err), { cause: err, claim: 'exp' });
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new TokenInvalidError('CLAIM_INVALID', joseMessage(err), { cause: err, claim: err.claim });
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenInvalidError('SIGNATURE_INVALID', 'signature verification failed', { cause: err });
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new TokenInvalidError('ALG_NOT_ALLOWED', joseMessage(err), { cause: err });
  if (err instanceof joseErrors.JOSEError) return new TokenInvalidError('TOKEN_MALFORMED', joseMessage(err), { cause: err });
  return new TokenInvalidError('TOKEN_MALFORMED', err instanceof Error ? joseMessage(err) : 'token rejected', { cause: err });
}

/** NumericDates finite, non-negative, ≤ year 9999 (D6); `iat` not in the future beyond the tolerance (E1). */
function checkNumericDates(payload: JWTPayload, nowSec: number, toleranceSec: number): void {
  for (const claim of ['exp', 'nbf', 'iat'] as const) {
    const v = payload[claim];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_NUMERIC_DATE) {
      throw new TokenInvalidError('CLAIM_INVALID', `"${claim}" is not a valid NumericDate`, { claim });
    }
  }
  if (typeof payload.iat === 'number' && payload.iat > nowSec + toleranceSec) {
    throw new TokenInvalidError('CLAIM_INVALID', '"iat" is in the future', { claim: 'iat' });
  }
}

/** What the synchronous path learned before handing a token to the general path. */
class Handoff {
  constructor(
    /** The cached candidates, when the kid was cached. */
    readonly found: ResolvedKeys | undefined,
    /** Thumbprint of a key already tried (its signature failed). */
    readonly tried: string | undefined,
  ) {}
}

/** Create a verifier for one issuer. */
export function createVerifier(options: VerifierOptions): Verifier {
  if (!options || typeof options !== 'object') throw new ConfigError('options object required');
  const { issuer } = options;
  if (typeof issuer !== 'string' || issuer.length === 0) throw new ConfigError('issuer is required');
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (!Array.isArray(audience) || audience.length === 0 || audience.some((a) => typeof a !== 'string' || a.length === 0)) {
    throw new ConfigError('audience is required (a string or a non-empty array of strings)');
  }
  if ((options.jwksUri === undefined) === (options.keys === undefined)) throw new ConfigError('give exactly one of jwksUri or keys');
  const algorithms = options.algorithms ?? SUPPORTED_ALGS;
  if (algorithms.length === 0 || algorithms.some((a) => !(SUPPORTED_ALGS as readonly string[]).includes(a))) {
    throw new ConfigError(`algorithms must be a non-empty subset of ${SUPPORTED_ALGS.join(', ')}`);
  }
  const V = VERIFIER_NUMBERS;
  const tolerance = num('clockToleranceSec', V.clockToleranceSec, options.clockToleranceSec);
  const maxTokenAge = options.maxTokenAgeSec === undefined ? undefined : num('maxTokenAgeSec', V.maxTokenAgeSec, options.maxTokenAgeSec);
  const limits: PrecheckLimits = {
    maxTokenBytes: num('maxTokenBytes', V.maxTokenBytes, options.maxTokenBytes),
    maxHeaderBytes: num('maxHeaderBytes', V.maxHeaderBytes, options.maxHeaderBytes),
    maxKidLength: num('maxKidLength', V.maxKidLength, options.maxKidLength),
    algorithms: new Set(algorithms),
  };
  if (options.keys !== undefined && options.cacheOptions !== undefined) throw new ConfigError('cacheOptions apply only to a cache created from jwksUri; configure the cache given as keys when creating it');
  const owned = options.keys === undefined;
  if (options.logger !== undefined && options.keys !== undefined) throw new ConfigError('logger applies to the cache created from jwksUri: pass it to createJwksCache for a shared cache');
  const keys = options.keys ?? createJwksCache({ logger: options.logger, ...options.cacheOptions, jwksUri: options.jwksUri! });
  const port = portOf(keys);
  // claims are checked on the cache's clock unless the verifier is given its own
  const clock = options.clock ?? port.clock;
  const required = new Set<string>(['iss', 'aud', ...(options.requiredClaims ?? [])]);
  if (options.requireExp ?? true) required.add('exp');
  const requiredClaims = [...required];
  const issuerRule = compileIssuer(issuer, options.tenants);
  const acceptIssuer = (payload: Readonly<Record<string, unknown>>): boolean => payload.iss === issuerRule.expectedFor(payload);
  const useFastPath = options.fastPath ?? true;
  const rules: ClaimRules = {
    issuer: issuerRule.exact,
    audience: audience as string[],
    toleranceSec: tolerance,
    maxTokenAgeSec: maxTokenAge,
    typ: options.typ,
    requiredClaims,
  };

  async function verifyWith(token: string, pre: PrecheckedToken, key: ValidatedKey, alg: SupportedAlg) {
    const nowMs = clock.wallNow();
    if (useFastPath) {
      const nowSec = Math.floor(nowMs / 1000);
      const r = fastVerify(pre, key.keyObject, alg, rules, nowSec);
      if (r) {
        checkPayload(r.payload, nowSec);
        return r;
      }
    }
    const r = await jwtVerify(token, key.keyObject, {
      algorithms: [alg],
      issuer: issuerRule.exact,
      audience: audience as string[],
      clockTolerance: tolerance,
      maxTokenAge,
      typ: options.typ,
      requiredClaims,
      currentDate: new Date(nowMs),
    });
    checkPayload(r.payload, Math.floor(nowMs / 1000));
    return r;
  }

  /** Checks beyond jose's: NumericDate ranges, `iat` not in the future, a templated issuer. */
  function checkPayload(payload: JWTPayload, nowSec: number): void {
    checkNumericDates(payload, nowSec, tolerance);
    if (issuerRule.exact === undefined && payload.iss !== issuerRule.expectedFor(payload)) {
      throw new TokenInvalidError('ISSUER_NOT_ALLOWED', 'issuer or tenant not allowed', { claim: 'iss' });
    }
  }

  async function tryKeys(token: string, pre: PrecheckedToken, keyList: readonly ValidatedKey[], alg: SupportedAlg, generation: number, tried: Set<string>): Promise<VerifyResult | undefined> {
    for (const key of keyList) {
      if (tried.has(key.thumbprint)) continue;
      tried.add(key.thumbprint);
      if (!keyMayVerify(key)) continue;
      try {
        const { payload, protectedHeader } = await verifyWith(token, pre, key, alg);
        if (!keyIssuerAllows(key.issuer, payload)) continue;
        port.markUsed(key, true);
        return { payload, protectedHeader, key: { kid: key.kid, thumbprint: key.thumbprint, generation } };
      } catch (err) {
        if (!(err instanceof joseErrors.JWSSignatureVerificationFailed)) throw mapJoseError(err);
      }
    }
    return undefined;
  }

  /**
   * A key bound to another issuer is not a candidate: cheap to tell before the signature when
   * both issuers are exact, else decided on the verified payload (`keyIssuerAllows`).
   */
  function keyMayVerify(key: ValidatedKey): boolean {
    return key.issuer === undefined || issuerRule.exact === undefined || key.issuer.includes(TENANT_PLACEHOLDER) || key.issuer === issuerRule.exact;
  }

  /**
   * The common case without a single await: a cached kid with one key, a plain token, the
   * Node fast path. Otherwise hands over to the general path (unknown kid, several candidates,
   * a token for jose, a bad signature that may need a recheck) what it already learned, so
   * nothing is looked up or verified twice.
   */
  function verifyCached(pre: PrecheckedToken): VerifyResult | Handoff {
    const found = port.peek(pre.kid, pre.alg);
    if (found === undefined || found.keys.length !== 1) return new Handoff(found, undefined);
    const key = found.keys[0]!;
    if (!keyMayVerify(key)) return new Handoff(found, undefined);
    const nowSec = Math.floor(clock.wallNow() / 1000);
    let r;
    try {
      r = fastVerify(pre, key.keyObject, pre.alg, rules, nowSec);
    } catch (err) {
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new Handoff(found, key.thumbprint);
      throw err;
    }
    if (r === undefined) return new Handoff(found, undefined);
    checkPayload(r.payload, nowSec);
    if (!keyIssuerAllows(key.issuer, r.payload)) return new Handoff(found, key.thumbprint);
    port.markUsed(key, true);
    return { payload: r.payload, protectedHeader: r.protectedHeader, key: { kid: key.kid, thumbprint: key.thumbprint, generation: found.generation } };
  }

  function verify(token: string, ctx?: LookupContext): Promise<VerifyResult> {
    let pre;
    try {
      pre = precheckToken(token, limits);
    } catch (err) {
      port.notePregateReject(undefined, ctx?.clientId);
      return Promise.reject(err);
    }
    if (!useFastPath) return verifyGeneral(token, pre, ctx, port.peek(pre.kid, pre.alg), undefined);
    let r;
    try {
      r = verifyCached(pre);
    } catch (err) {
      return Promise.reject(mapJoseError(err));
    }
    if (r instanceof Handoff) return verifyGeneral(token, pre, ctx, r.found, r.tried);
    return Promise.resolve(r);
  }

  async function verifyGeneral(token: string, pre: PrecheckedToken, ctx: LookupContext | undefined, peeked: ResolvedKeys | undefined, triedKey: string | undefined): Promise<VerifyResult> {
    const { kid, alg } = pre;
    let found = peeked;
    if (!found) {
      try {
        pregateClaims(pre.payloadSegment, acceptIssuer, Math.floor(clock.wallNow() / 1000), tolerance);
      } catch (err) {
        port.notePregateReject(kid, ctx?.clientId);
        throw err;
      }
      found = await port.resolve(kid, alg, ctx);
    }
    const tried = new Set<string>();
    if (triedKey !== undefined) tried.add(triedKey);
    try {
      const ok = await tryKeys(token, pre, found.keys, alg, found.generation, tried);
      if (ok) return ok;
      if (kid !== undefined) {
        const again = await port.recheckAfterSignatureFailure(kid, alg, found.generation, ctx);
        if (again) {
          const ok2 = await tryKeys(token, pre, again.keys, alg, again.generation, tried);
          if (ok2) return ok2;
        }
      }
    } catch (err) {
      throw mapJoseError(err);
    }
    throw new TokenInvalidError('SIGNATURE_INVALID', 'signature verification failed');
  }

  return {
    verify: verify as Verifier['verify'],
    keys,
    async close() {
      if (owned) await keys.close();
    },
  };
}
