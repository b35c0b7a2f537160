/**
 * Cheap checks on an untrusted token before any key lookup, so a malformed or disallowed
 * token never costs a fetch, a wait, or a signature verification. jose then parses and
 * verifies the token for real; these checks only refuse early.
 */
import { TokenInvalidError } from '../errors.js';
import { checkAlg, checkKid } from '../core/select.js';
import type { SupportedAlg } from '../jwks/validate.js';

/** Limits of the pre-checks. */
export interface PrecheckLimits {
  /** Longest token accepted, in characters (tokens are ASCII). */
  maxTokenBytes: number;
  /** Longest decoded protected header accepted, in bytes. */
  maxHeaderBytes: number;
  /** Longest `kid` accepted, in characters. */
  maxKidLength: number;
  /** Algorithms the verifier accepts. */
  algorithms: ReadonlySet<string>;
}

/** What the pre-checks learned. */
export interface PrecheckedToken {
  readonly header: Readonly<Record<string, unknown>>;
  readonly alg: SupportedAlg;
  readonly kid: string | undefined;
  readonly payloadSegment: string;
  readonly signatureSegment: string;
  /** `header.payload`: the bytes the signature covers. */
  readonly signingInput: string;
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decode one base64url segment to a JSON object, or undefined when it is not one. */
export function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  if (segment.length % 4 === 1) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/** Most recently decoded headers, by their exact base64url text: an IdP signs every token of a key with the same header. */
const headerMemo = new Map<string, Readonly<Record<string, unknown>>>();
/** Entries kept before the memo starts over (a flood of distinct headers only clears it; bounded at about 1 MB). */
const HEADER_MEMO_MAX = 256;

/**
 * Decode a protected header, reusing the result for a header text seen before. Only headers
 * whose members are all primitives are memoised, frozen, so a shared object cannot be
 * mutated; anything else is decoded afresh.
 */
function decodeHeader(segment: string): Readonly<Record<string, unknown>> | undefined {
  const memo = headerMemo.get(segment);
  if (memo !== undefined) return memo;
  const header = decodeJsonSegment(segment);
  if (header === undefined) return undefined;
  if (Object.values(header).some((v) => v !== null && typeof v === 'object')) return header;
  if (headerMemo.size >= HEADER_MEMO_MAX) headerMemo.clear();
  headerMemo.set(segment, Object.freeze(header));
  return header;
}

/**
 * Refuse, before any key lookup: non-strings, oversize tokens, anything but three non-empty
 * base64url segments (JWE, JSON serialisation, empty signatures of `alg: none`), a header that
 * is not a JSON object or too large, an `alg` outside the allow-list, `b64` other than `true`,
 * a `kid` that is not a string of bounded length.
 */
export function precheckToken(token: unknown, limits: PrecheckLimits): PrecheckedToken {
  if (typeof token !== 'string') throw new TokenInvalidError('TOKEN_MALFORMED', 'token must be a string');
  if (token.length > limits.maxTokenBytes) {
    throw new TokenInvalidError('TOKEN_TOO_LARGE', `token longer than ${limits.maxTokenBytes} characters`);
  }
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) {
    throw new TokenInvalidError('TOKEN_MALFORMED', 'token must be a compact JWS with exactly three segments');
  }
  const h = token.slice(0, first);
  const p = token.slice(first + 1, second);
  const sig = token.slice(second + 1);
  if (!SEGMENT.test(h) || !SEGMENT.test(p) || !SEGMENT.test(sig)) {
    throw new TokenInvalidError('TOKEN_MALFORMED', 'token segments must be non-empty base64url');
  }
  if (h.length > Math.ceil((limits.maxHeaderBytes * 4) / 3)) {
    throw new TokenInvalidError('TOKEN_MALFORMED', `protected header larger than ${limits.maxHeaderBytes} bytes`);
  }
  const header = decodeHeader(h);
  if (!header) throw new TokenInvalidError('TOKEN_MALFORMED', 'protected header is not a base64url JSON object');
  const alg = checkAlg(header.alg, limits.algorithms);
  // RFC 7797: an unencoded payload (`b64: false`) needs `crit: ["b64"]`, and jose ignores a
  // `b64` without it, verifying the payload as if encoded. Refuse it here instead (D2).
  if (header.b64 !== undefined && header.b64 !== true) {
    throw new TokenInvalidError('TOKEN_MALFORMED', 'unencoded payloads (b64) are not accepted');
  }
  const kid = checkKid(header.kid, limits.maxKidLength);
  return { header, alg, kid, payloadSegment: p, signatureSegment: sig, signingInput: token.slice(0, second) };
}

/**
 * The pre-gate for unknown kids: with the payload still unverified, refuse a token whose
 * `iss` is not the configured issuer or whose `exp` is already past (beyond the tolerance).
 * Such a token cannot be valid whatever key it names, so it must not spend refresh budget or
 * wait. Anything it cannot read is left for jose to reject after the lookup.
 */
export function pregateClaims(
  payloadSegment: string,
  acceptIssuer: (payload: Readonly<Record<string, unknown>>) => boolean,
  nowSec: number,
  toleranceSec: number,
): void {
  const payload = decodeJsonSegment(payloadSegment);
  if (!payload) throw new TokenInvalidError('TOKEN_MALFORMED', 'payload is not a base64url JSON object');
  if (!acceptIssuer(payload)) throw new TokenInvalidError('ISSUER_NOT_ALLOWED', 'unexpected issuer');
  const exp = payload.exp;
  if (typeof exp === 'number' && Number.isFinite(exp) && exp + toleranceSec < nowSec) {
    throw new TokenInvalidError('TOKEN_EXPIRED', 'token expired');
  }
}
