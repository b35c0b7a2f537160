/**
 * One error hierarchy with stable `code`s.
 *
 * The split that matters to an API: {@link TokenInvalidError} means "this token is not
 * acceptable" (answer HTTP 401), {@link KeysUnavailableError} means "we could not decide
 * because signing keys are unavailable right now" (answer HTTP 503, let the client retry).
 * {@link ConfigError} is a programming error raised at construction time.
 *
 * Codes never change meaning between releases; match on `code`, never on `message`.
 */

/** Codes of {@link TokenInvalidError}: the token is definitively not acceptable (HTTP 401). */
export type TokenInvalidCode =
  /** Larger than `maxTokenBytes`. */
  | 'TOKEN_TOO_LARGE'
  /** Not a compact JWS: not exactly three base64url segments, bad header JSON, JWE, JSON serialisation. */
  | 'TOKEN_MALFORMED'
  /** Header `alg` missing or not in the verifier's allow-list (includes `none` and every HS*). */
  | 'ALG_NOT_ALLOWED'
  /** Header `kid` is present but not a string, empty, or longer than `maxKidLength`. */
  | 'KID_INVALID'
  /** The token has no `kid` and the key set does not contain exactly one candidate key. */
  | 'KID_REQUIRED'
  /** The `kid` is absent from a successfully fetched key set (definitive). */
  | 'KID_NOT_FOUND'
  /** The key for `kid` cannot be used with the token's `alg` (pinned by the JWK `alg`, `kty` or `crv`). */
  | 'KEY_ALG_MISMATCH'
  /** The signature does not verify with the key. */
  | 'SIGNATURE_INVALID'
  /** `exp` is in the past (beyond the clock tolerance). */
  | 'TOKEN_EXPIRED'
  /** A claim check failed (`iss`, `aud`, `nbf`, `iat`, `typ`, missing required claim, bad NumericDate). */
  | 'CLAIM_INVALID'
  /** The token's issuer is not one this verifier accepts: seen by the pre-check for an unknown kid, or a templated issuer whose `tid` is not allowed or does not produce `iss`. A wrong `iss` on a known key is `CLAIM_INVALID`. */
  | 'ISSUER_NOT_ALLOWED';

/** Codes of {@link KeysUnavailableError}: no decision could be made right now (HTTP 503). */
export type KeysUnavailableCode =
  /** No key set has been loaded yet and the first load has not succeeded. */
  | 'KEYS_NOT_LOADED'
  /** The last good key set is older than `maxStaleMs` and refreshes keep failing. */
  | 'KEYS_STALE'
  /** The JWKS request exceeded its total deadline (`timeoutMs`). */
  | 'JWKS_TIMEOUT'
  /** The JWKS body exceeded `maxResponseBytes` after decompression. */
  | 'JWKS_TOO_LARGE'
  /** The JWKS endpoint answered with a redirect, which is refused by default. */
  | 'JWKS_REDIRECT'
  /** The JWKS endpoint answered with an unexpected HTTP status (4xx/5xx, 429 ...). */
  | 'JWKS_HTTP_STATUS'
  /** The request failed at the network level (refused, reset, DNS failure). */
  | 'JWKS_NETWORK'
  /** The body is not JSON, not an object, has no `keys` array, or has a non-JSON content type. */
  | 'JWKS_MALFORMED'
  /** The set contains private key members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`): refused as a leak. */
  | 'JWKS_PRIVATE_KEY'
  /** The set parsed but none of its keys is usable. */
  | 'JWKS_NO_USABLE_KEYS'
  /** Unknown-kid defence: the waiting capacity is full and this lookup lost admission. */
  | 'UNKNOWN_KID_CAPACITY'
  /** Unknown-kid defence: no refresh could start within `maxWaitMs` (budget spent, IdP backing off). */
  | 'UNKNOWN_KID_WAIT_TIMEOUT'
  /** The cache was closed. */
  | 'CLOSED';

/** Every stable error code. */
export type ErrorCode = TokenInvalidCode | KeysUnavailableCode | 'CONFIG_INVALID';

/** Base class of every error this library throws or rejects with. */
export abstract class JwksKeeperError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: ErrorCode;
  /** The HTTP status an API should answer with: 401, 503, or 500 for configuration errors. */
  abstract readonly httpStatus: 401 | 503 | 500;

  constructor(message: string, options?: { cause?: unknown }) {
    // Rejections are the hot path under a flood of forged tokens: capturing a stack trace
    // costs more than the whole pre-check, and the stable `code` says what happened.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
  }
}

/** The token is definitively not acceptable. Answer HTTP 401. */
export class TokenInvalidError extends JwksKeeperError {
  readonly code: TokenInvalidCode;
  readonly httpStatus = 401 as const;
  /** For `CLAIM_INVALID`: the claim that failed, when known. */
  readonly claim: string | undefined;

  constructor(code: TokenInvalidCode, message: string, options?: { cause?: unknown; claim?: string }) {
    super(message, options);
    this.code = code;
    this.claim = options?.claim;
  }
}

/** No decision could be made because keys are unavailable. Answer HTTP 503, optionally with `Retry-After`. */
export class KeysUnavailableError extends JwksKeeperError {
  readonly code: KeysUnavailableCode;
  readonly httpStatus = 503 as const;
  /**
   * HTTP status of the JWKS endpoint's response (for `JWKS_HTTP_STATUS`, `JWKS_REDIRECT`).
   * Named `upstreamStatus` so it never collides with the `status`/`statusCode` convention
   * frameworks read as "the status to answer".
   */
  readonly upstreamStatus: number | undefined;
  /** Suggested wait before retrying, in milliseconds (from the IdP's `Retry-After` or our backoff). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: KeysUnavailableCode,
    message: string,
    options?: { cause?: unknown; upstreamStatus?: number; retryAfterMs?: number },
  ) {
    super(message, options);
    this.code = code;
    this.upstreamStatus = options?.upstreamStatus;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Invalid options passed to a factory. A programming error, thrown synchronously. */
export class ConfigError extends JwksKeeperError {
  readonly code = 'CONFIG_INVALID' as const;
  readonly httpStatus = 500 as const;
}

/** True for errors that mean "answer 401". */
export function isTokenInvalid(err: unknown): err is TokenInvalidError {
  return err instanceof TokenInvalidError;
}

/** True for errors that mean "answer 503". */
export function isKeysUnavailable(err: unknown): err is KeysUnavailableError {
  return err instanceof KeysUnavailableError;
}

/**
 * Make a value safe to put in a log line or an event: printable ASCII only, bounded length.
 * Token-supplied strings (kid, alg) are attacker-controlled.
 */
export function sanitizeForLog(value: unknown, max = 64): string {
  const s = typeof value === 'string' ? value : String(JSON.stringify(value) ?? typeof value);
  const clean = s.slice(0, max).replace(/[^\x20-\x7e]/g, '?');
  return s.length > max ? `${clean}…(${s.length})` : clean;
}
