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

/** Codes of {@link BearerRequestError}: the request, not a token, is at fault (set by the framework adapters). */
export type BearerRequestCode =
  /** No token in the request (no `Authorization: Bearer`, no cookie): 401 with a bare `Bearer` challenge (RFC 6750 §3.1). */
  | 'TOKEN_MISSING'
  /** An `Authorization: Bearer` header whose credentials are not one b64token (RFC 6750 §2.1): 400 `invalid_request`. */
  | 'AUTHORIZATION_MALFORMED'
  /** The verified token lacks a required scope: 403 `insufficient_scope` (RFC 6750 §3.1). */
  | 'INSUFFICIENT_SCOPE';

/** Every stable error code. */
export type ErrorCode = TokenInvalidCode | KeysUnavailableCode | BearerRequestCode | 'CONFIG_INVALID';

/** The HTTP statuses the errors map to. */
export type ErrorHttpStatus = 400 | 401 | 403 | 500 | 503;

/**
 * Fixed, client-safe `error_description`s (RFC 6750 §3): never the message, which may quote
 * token content, and only characters allowed in the quoted string.
 */
const DESCRIPTIONS: Record<TokenInvalidCode, string> = {
  TOKEN_TOO_LARGE: 'token too large',
  TOKEN_MALFORMED: 'malformed token',
  ALG_NOT_ALLOWED: 'algorithm not allowed',
  KID_INVALID: 'invalid kid',
  KID_REQUIRED: 'kid required',
  KID_NOT_FOUND: 'unknown signing key',
  KEY_ALG_MISMATCH: 'key cannot verify this algorithm',
  SIGNATURE_INVALID: 'invalid signature',
  TOKEN_EXPIRED: 'token expired',
  CLAIM_INVALID: 'invalid claim',
  ISSUER_NOT_ALLOWED: 'issuer not allowed',
};

/** A client-safe description of a token rejection, for `error_description`. */
export function describeTokenError(err: TokenInvalidError): string {
  const claim = err.claim;
  if (err.code === 'CLAIM_INVALID' && claim !== undefined && /^[A-Za-z0-9_.:-]{1,32}$/.test(claim)) return `invalid ${claim} claim`;
  return DESCRIPTIONS[err.code] ?? 'invalid token';
}

/** `Retry-After` value in whole seconds (at least 1), or undefined. */
export function retryAfterSeconds(retryAfterMs: number | undefined): string | undefined {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return undefined;
  return String(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

/** Base class of every error this library throws or rejects with. */
export abstract class JwksKeeperError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: ErrorCode;
  /** The HTTP status an API should answer with: 401, 503, 500 for configuration errors; 400 and 403 for {@link BearerRequestError}. */
  abstract readonly httpStatus: ErrorHttpStatus;
  /**
   * Suggested wait before retrying, in milliseconds, or undefined. Set on
   * {@link KeysUnavailableError} (from the IdP's `Retry-After` or our backoff); always
   * undefined for the others, so code handling any `JwksKeeperError` can read it.
   */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    // Rejections are the hot path under a flood of forged tokens: capturing a stack trace
    // costs more than the whole pre-check, and the stable `code` says what happened.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
    this.retryAfterMs = options?.retryAfterMs;
  }

  /** = {@link JwksKeeperError.httpStatus}: the name Express's, Koa's and http-errors' handlers read. */
  get status(): ErrorHttpStatus {
    return this.httpStatus;
  }

  /** = {@link JwksKeeperError.httpStatus}: the name Fastify's and Node's conventions read. */
  get statusCode(): ErrorHttpStatus {
    return this.httpStatus;
  }

  /**
   * Whether the message may be shown to the client (Koa and http-errors read it): true below
   * 500. A 503's message can name the IdP's failure, which is the operator's business.
   */
  get expose(): boolean {
    return this.httpStatus < 500;
  }

  /**
   * Response headers to send with {@link JwksKeeperError.status}, as Express's, Fastify's and
   * Koa's default error handlers do: `WWW-Authenticate` (RFC 6750, without a `realm`; the
   * framework adapters add theirs) for 400/401/403, `Retry-After` (seconds) for a 503 with
   * {@link JwksKeeperError.retryAfterMs}. A fresh object on each read.
   */
  get headers(): Record<string, string> {
    return this.responseHeaders();
  }

  /** What {@link JwksKeeperError.headers} returns; subclasses override this, not the accessor (so assigning `headers` keeps working). */
  protected responseHeaders(): Record<string, string> {
    return {};
  }

  // Error handlers assign these (Koa's does `err.status = statusCode`): an assignment makes
  // an own property, as on a plain error, instead of throwing on a getter-only accessor.
  set status(value: unknown) {
    ownProperty(this, 'status', value);
  }

  set statusCode(value: unknown) {
    ownProperty(this, 'statusCode', value);
  }

  set expose(value: unknown) {
    ownProperty(this, 'expose', value);
  }

  set headers(value: unknown) {
    ownProperty(this, 'headers', value);
  }
}

function ownProperty(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
}

/** The token is definitively not acceptable. Answer HTTP 401. */
export class TokenInvalidError extends JwksKeeperError {
  readonly code: TokenInvalidCode;
  readonly httpStatus = 401 as const;
  /** For `CLAIM_INVALID`: the claim that failed, when known. */
  readonly claim: string | undefined;

  constructor(code: TokenInvalidCode, message: string, options?: { cause?: unknown; claim?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.claim = options?.claim;
  }

  protected override responseHeaders(): Record<string, string> {
    return { 'WWW-Authenticate': bearerChallenge(this) };
  }
}

/**
 * Machine-readable facts about a refused JWKS document, so that alerts and tools need not parse
 * the message. Only set for the codes named on each field.
 */
export interface KeysUnavailableDetails {
  /** `JWKS_NO_USABLE_KEYS`: the number of entries in the document's `keys` array. */
  readonly entries?: number;
  /**
   * `JWKS_NO_USABLE_KEYS`: how many entries were dropped, by drop reason (`symmetric-key`,
   * `use-not-sig`, `rsa-too-small`, `too-many-keys` …; the `DropReason` values).
   */
  readonly dropped?: Readonly<Record<string, number>>;
  /** `JWKS_PRIVATE_KEY`: index of the first entry carrying private members. */
  readonly entryIndex?: number;
  /** `JWKS_PRIVATE_KEY`: the private member names found in that entry (`d`, `p` …), never their values. */
  readonly privateMembers?: readonly string[];
  /** `JWKS_PRIVATE_KEY`: that entry's `kid` when it is a string, sanitised for logs (control characters escaped, length capped). */
  readonly kid?: string;
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
  /** What was wrong with a refused document (`JWKS_NO_USABLE_KEYS`, `JWKS_PRIVATE_KEY`); `undefined` otherwise. */
  readonly details: KeysUnavailableDetails | undefined;

  constructor(
    code: KeysUnavailableCode,
    message: string,
    options?: { cause?: unknown; upstreamStatus?: number; retryAfterMs?: number; details?: KeysUnavailableDetails },
  ) {
    super(message, options);
    this.code = code;
    this.upstreamStatus = options?.upstreamStatus;
    this.details = options?.details === undefined ? undefined : Object.freeze({ ...options.details });
  }

  protected override responseHeaders(): Record<string, string> {
    const s = retryAfterSeconds(this.retryAfterMs);
    return s === undefined ? {} : { 'Retry-After': s };
  }
}

/**
 * The request, not a token, is at fault: no token, a malformed `Authorization` header, or a
 * verified token without a required scope. Raised by the framework adapters
 * (`jwks-keeper/express`, `/fastify`, `/koa`, `/passport`), never by `verify`.
 */
export class BearerRequestError extends JwksKeeperError {
  readonly code: BearerRequestCode;
  readonly httpStatus: 400 | 401 | 403;
  /** For `INSUFFICIENT_SCOPE`: the scopes the route requires. */
  readonly requiredScopes: readonly string[] | undefined;
  readonly #realm: string | undefined;

  constructor(code: BearerRequestCode, message: string, options?: { realm?: string; requiredScopes?: readonly string[] }) {
    super(message);
    this.code = code;
    this.httpStatus = code === 'TOKEN_MISSING' ? 401 : code === 'AUTHORIZATION_MALFORMED' ? 400 : 403;
    this.requiredScopes = options?.requiredScopes;
    this.#realm = options?.realm;
  }

  protected override responseHeaders(): Record<string, string> {
    return { 'WWW-Authenticate': bearerChallenge(this, this.#realm) };
  }
}

/** Invalid options passed to a factory. A programming error, thrown synchronously. */
export class ConfigError extends JwksKeeperError {
  readonly code = 'CONFIG_INVALID' as const;
  readonly httpStatus = 500 as const;
}

/**
 * What `verifier.verify()` rejects with, and nothing else: narrow with `instanceof`,
 * `httpStatus` (401 or 503) or `code`.
 */
export type VerifyError = TokenInvalidError | KeysUnavailableError;

/** True for the errors `verify()` rejects with. */
export function isVerifyError(err: unknown): err is VerifyError {
  return err instanceof TokenInvalidError || err instanceof KeysUnavailableError;
}

/** A quoted-string value for an auth-param: printable ASCII without `"` and `\`. */
function quoted(value: string): string {
  return value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '').slice(0, 256);
}

/**
 * The RFC 6750 `WWW-Authenticate` challenge for an error: `Bearer realm="..."` alone when no
 * token was sent, with `error="invalid_request"`, `"invalid_token"` or
 * `"insufficient_scope"` (and `error_description`, `scope`) otherwise.
 * @param realm - the protection space; omitted when undefined or empty.
 */
export function bearerChallenge(err: TokenInvalidError | BearerRequestError, realm?: string): string {
  const params: string[] = [];
  if (realm) params.push(`realm="${quoted(realm)}"`);
  if (err instanceof TokenInvalidError) {
    params.push('error="invalid_token"', `error_description="${describeTokenError(err)}"`);
  } else if (err.code === 'AUTHORIZATION_MALFORMED') {
    params.push('error="invalid_request"', 'error_description="malformed Authorization header"');
  } else if (err.code === 'INSUFFICIENT_SCOPE') {
    params.push('error="insufficient_scope"', 'error_description="insufficient scope"');
    const scope = (err.requiredScopes ?? []).map(quoted).join(' ');
    if (scope) params.push(`scope="${scope}"`);
  }
  return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
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
