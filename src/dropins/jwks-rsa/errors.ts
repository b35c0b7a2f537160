/**
 * jwks-rsa's four error classes, with the same names and messages. jwks-rsa matches them by
 * `name` (`err.name === 'SigningKeyNotFoundError'`) and by `instanceof`; both work here.
 * Errors mapped from a jwks-keeper error keep it as `cause`, so its stable `code` stays
 * reachable.
 */

/** Invalid options (same as jwks-rsa's). */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError' as const;
  constructor(message: string) {
    super(message);
  }
}

/** The JWKS endpoint failed or served nothing usable (same as jwks-rsa's). */
export class JwksError extends Error {
  override readonly name = 'JwksError' as const;
  /** Set on errors that mean "the endpoint could not be used", like jwks-rsa. */
  isEndpointUnavailable?: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The JWKS request budget is spent (`rateLimit: true`), same as jwks-rsa's. */
export class JwksRateLimitError extends Error {
  override readonly name = 'JwksRateLimitError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** No key in the set matches the `kid` (same as jwks-rsa's). */
export class SigningKeyNotFoundError extends Error {
  override readonly name = 'SigningKeyNotFoundError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
