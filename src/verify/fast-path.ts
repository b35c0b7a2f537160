/**
 * The Node fast path: the signature checked synchronously with `node:crypto` (the platform's
 * own crypto, the same OpenSSL that WebCrypto calls, without the thread-pool hop), then the
 * claims checked with the same rules as jose's `jwtVerify`.
 *
 * It only takes plain tokens. Anything unusual (a `crit` or `b64` header, a segment whose
 * length is not valid base64url, a payload that is not a JSON object) returns `undefined`
 * and the verifier hands the token to jose, so jose decides every edge case. A differential
 * test (test/fast-path-differential.test.ts) runs every token of the suites and a
 * property-based corpus through both paths and requires identical accept/reject results.
 */
import { constants, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { errors as joseErrors } from 'jose';
import type { JWTHeaderParameters, JWTPayload } from 'jose';
import { TokenInvalidError } from '../errors.js';
import type { SupportedAlg } from '../jwks/validate.js';
import { decodeJsonSegment } from './precheck.js';
import type { PrecheckedToken } from './precheck.js';

/** Claim rules, as given to jose's `jwtVerify`. */
export interface ClaimRules {
  /** The exact `iss`, or `undefined` for a templated issuer (the verifier checks it after the signature). */
  issuer: string | undefined;
  audience: readonly string[];
  toleranceSec: number;
  maxTokenAgeSec: number | undefined;
  typ: string | undefined;
  requiredClaims: readonly string[];
}

const presenceCache = new WeakMap<ClaimRules, readonly string[]>();

/** The claims that must be present, in the order jose checks them (computed once per rules object). */
function presenceOrder(rules: ClaimRules): readonly string[] {
  let order = presenceCache.get(rules);
  if (order === undefined) {
    const presence = [...rules.requiredClaims];
    if (rules.maxTokenAgeSec !== undefined) presence.push('iat');
    presence.push('aud', 'iss');
    order = [...new Set(presence.reverse())];
    presenceCache.set(rules, order);
  }
  return order;
}

const HASH: Record<SupportedAlg, string | null> = {
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  EdDSA: null,
  Ed25519: null,
};

const EC_SIG_BYTES: Partial<Record<SupportedAlg, number>> = { ES256: 64, ES384: 96, ES512: 132 };

/** Verify a JWS signature with node:crypto. Never throws: malformed input is `false`. */
export function verifySignature(alg: SupportedAlg, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  try {
    const data = Buffer.from(signingInput, 'latin1');
    if (alg.startsWith('ES')) {
      if (signature.length !== EC_SIG_BYTES[alg]) return false;
      return nodeVerify(HASH[alg], data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    if (alg.startsWith('PS')) {
      return nodeVerify(HASH[alg], data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
    }
    return nodeVerify(HASH[alg], data, key, signature);
  } catch {
    return false;
  }
}

const normalizeTyp = (value: string): string => {
  const normalized = value.toLowerCase();
  return value.includes('/') ? normalized : `application/${normalized}`;
};

function failed(claim: string, message: string): TokenInvalidError {
  return new TokenInvalidError('CLAIM_INVALID', message, { claim });
}

function numericDate(payload: Record<string, unknown>, claim: string, required: boolean): number | undefined {
  const v = payload[claim];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number') throw failed(claim, `"${claim}" claim must be a number`);
  return v;
}

/** jose's claim-set rules (src/lib/jwt_claims_set.ts), in the same order. */
export function validateClaims(header: Readonly<Record<string, unknown>>, payload: Record<string, unknown>, rules: ClaimRules, nowSec: number): void {
  if (rules.typ !== undefined && (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(rules.typ))) {
    throw failed('typ', 'unexpected "typ" JWT header value');
  }
  for (const claim of presenceOrder(rules)) {
    if (!Object.hasOwn(payload, claim)) throw failed(claim, `missing required "${claim}" claim`);
  }
  if (rules.issuer !== undefined && payload.iss !== rules.issuer) throw failed('iss', 'unexpected "iss" claim value');
  const aud = payload.aud;
  const audOk = typeof aud === 'string' ? rules.audience.includes(aud) : Array.isArray(aud) ? rules.audience.some((a) => aud.includes(a)) : false;
  if (!audOk) throw failed('aud', 'unexpected "aud" claim value');
  const tol = rules.toleranceSec;
  const iat = numericDate(payload, 'iat', rules.maxTokenAgeSec !== undefined);
  const nbf = numericDate(payload, 'nbf', false);
  if (nbf !== undefined && nbf > nowSec + tol) throw failed('nbf', '"nbf" claim timestamp check failed');
  const exp = numericDate(payload, 'exp', false);
  if (exp !== undefined && exp <= nowSec - tol) {
    throw new TokenInvalidError('TOKEN_EXPIRED', '"exp" claim timestamp check failed', { claim: 'exp' });
  }
  if (rules.maxTokenAgeSec !== undefined) {
    const age = nowSec - iat!;
    if (age - tol > rules.maxTokenAgeSec) {
      throw new TokenInvalidError('TOKEN_EXPIRED', '"iat" claim timestamp check failed (too far in the past)', { claim: 'iat' });
    }
    if (age < -tol) throw failed('iat', '"iat" claim timestamp check failed (it should be in the past)');
  }
}

/**
 * Verify a pre-checked token with one key. Returns `undefined` when the token is not plain
 * (let jose handle it); throws jose's `JWSSignatureVerificationFailed` for a bad signature
 * (so the caller treats both paths alike) and {@link TokenInvalidError} for claims.
 */
export function fastVerify(
  pre: PrecheckedToken,
  key: KeyObject,
  alg: SupportedAlg,
  rules: ClaimRules,
  nowSec: number,
): { payload: JWTPayload; protectedHeader: JWTHeaderParameters } | undefined {
  const h = pre.header;
  if (h.crit !== undefined || h.b64 !== undefined) return undefined;
  if (pre.payloadSegment.length % 4 === 1 || pre.signatureSegment.length % 4 === 1) return undefined;
  if (!verifySignature(alg, key, pre.signingInput, Buffer.from(pre.signatureSegment, 'base64url'))) {
    throw new joseErrors.JWSSignatureVerificationFailed();
  }
  const payload = decodeJsonSegment(pre.payloadSegment);
  if (!payload) return undefined;
  validateClaims(h, payload, rules, nowSec);
  return { payload: payload as JWTPayload, protectedHeader: { ...h } as unknown as JWTHeaderParameters };
}
