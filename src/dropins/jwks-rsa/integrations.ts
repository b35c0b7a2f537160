/**
 * jwks-rsa's framework helpers (`expressJwtSecret`, `passportJwtSecret`, `koaJwtSecret`,
 * `hapiJwt2Key`, `hapiJwt2KeyAsync`), with jwks-rsa's behaviour: the same argument checks,
 * the same default `handleSigningKeyError` (a missing key → "no key", anything else → the
 * error), the same algorithm list. They map errors the way jwks-rsa does, so an endpoint
 * outage reaches the framework as an error, not as a 503: for the 401/503 split use the
 * adapters (`jwks-keeper/express`, `jwks-keeper/passport` …).
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ArgumentError } from './errors.js';
import { JwksClient } from './client.js';
import type { Options, SigningKey } from './client.js';

/** jwks-rsa's list of algorithms the helpers hand keys out for. */
const SUPPORTED_ALG: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const keyOf = (key: SigningKey): string => ('publicKey' in key && key.publicKey) || (key as { rsaPublicKey: string }).rsaPublicKey;

/** A decoded token header as express-jwt / hapi-auth-jwt2 pass it. */
export interface TokenHeader {
  alg: string;
  kid: string;
}

/** hapi-auth-jwt2's decoded token. */
export interface DecodedToken {
  header: TokenHeader;
}

/** express-jwt ≤ 6 callback. */
export type SecretCallbackLong = (req: unknown, header: unknown, payload: unknown, done: (err: unknown, secret?: string) => void) => void;
/** passport-jwt's `secretOrKeyProvider`. */
export type SecretCallback = (req: unknown, rawJwtToken: unknown, done: (err: unknown, secret?: string | Buffer) => void) => void;
/** express-jwt ≥ 7 `secret` function. */
export type GetVerificationKey = (req: unknown, token: { header?: { alg?: unknown; kid?: unknown } } | undefined) => Promise<string | undefined>;

/** Options of `expressJwtSecret` / `passportJwtSecret`. */
export type ExpressJwtOptions = Options & {
  /** Decide what a lookup error becomes: call `cb()` for "no key" (401 from the framework) or `cb(err)`. */
  handleSigningKeyError?: (err: Error | null, cb: (err: Error | null) => void) => void;
};

/** hapi-auth-jwt2's key callback. */
export type HapiCallback = (err: Error | null, publicKey: string | null, signingKey: SigningKey | null) => void;

/** Options of `hapiJwt2Key` / `hapiJwt2KeyAsync`. */
export type HapiJwtOptions = Options & {
  handleSigningKeyError?: (err: Error | null, cb: HapiCallback) => void;
};

/** Options of `koaJwtSecret`. */
export type KoaJwtOptions = Options & {
  handleSigningKeyError?(err: Error | null): Promise<void>;
};

function defaultExpressHandler(err: Error | null, cb: (err: Error | null) => void): void {
  if (err && err.name === 'SigningKeyNotFoundError') return cb(null);
  if (err) return cb(err);
}

/** A `secret` for express-jwt (7/8: `(req, token)` returning a promise; ≤ 6: `(req, header, payload, cb)`). */
export function expressJwtSecret(options: ExpressJwtOptions): SecretCallbackLong & GetVerificationKey {
  if (options === null || options === undefined) {
    throw new ArgumentError('An options object must be provided when initializing expressJwtSecret');
  }
  const client = new JwksClient(options);
  const onError = options.handleSigningKeyError ?? defaultExpressHandler;

  const provider = async (_req: unknown, token: { header?: { alg?: unknown; kid?: unknown } } | undefined): Promise<string | undefined> => {
    if (!token) return undefined;
    const header = token.header;
    if (!header || typeof header.alg !== 'string' || !SUPPORTED_ALG.includes(header.alg)) return undefined;
    try {
      return keyOf(await client.getSigningKey(header.kid as string | undefined));
    } catch (err) {
      return new Promise<undefined>((resolve, reject) => {
        onError(err as Error, (newError) => (newError ? reject(newError) : resolve(undefined)));
      });
    }
  };

  return function secretProvider(req: unknown, headerOrToken: unknown, payload?: unknown, cb?: (err: unknown, secret?: string) => void) {
    // four parameters for express-jwt ≤ 6, two for ≥ 7 (as jwks-rsa)
    if (arguments.length === 4 && typeof cb === 'function') {
      void payload;
      provider(req, { header: headerOrToken as TokenHeader }).then(
        (key) => setImmediate(cb, null, key),
        (err: unknown) => setImmediate(cb, err),
      );
      return undefined;
    }
    return provider(req, headerOrToken as { header?: TokenHeader } | undefined);
  } as SecretCallbackLong & GetVerificationKey;
}

/** A `secretOrKeyProvider` for passport-jwt. */
export function passportJwtSecret(options: ExpressJwtOptions): SecretCallback {
  if (options === null || options === undefined) {
    throw new ArgumentError('An options object must be provided when initializing passportJwtSecret');
  }
  if (!options.jwksUri) throw new ArgumentError('No JWKS provided. Please provide a jwksUri');
  const client = new JwksClient(options);
  const onError = options.handleSigningKeyError ?? defaultExpressHandler;
  return function secretProvider(_req, rawJwtToken, cb) {
    let header: { alg?: unknown; kid?: unknown } | undefined;
    try {
      if (typeof rawJwtToken !== 'string') throw new TypeError('token must be a string');
      decodeJwt(rawJwtToken);
      header = decodeProtectedHeader(rawJwtToken);
    } catch {
      header = undefined;
    }
    // jwks-rsa answers "no key" with `null` (passport-jwt treats it as a missing key)
    const none = null as unknown as undefined;
    if (!header || typeof header.alg !== 'string' || !SUPPORTED_ALG.includes(header.alg)) return cb(null, none);
    client.getSigningKey(header.kid as string | undefined).then(
      (key) => cb(null, keyOf(key)),
      (err: Error) => onError(err, (newError) => cb(newError, none)),
    );
  };
}

/** A `secret` loader for koa-jwt. */
export function koaJwtSecret(options: KoaJwtOptions = {} as KoaJwtOptions): (header: TokenHeader) => Promise<string> {
  if (!options.jwksUri) throw new ArgumentError('No JWKS provided. Please provide a jwksUri');
  const client = new JwksClient(options);
  return function secretProvider({ alg, kid } = {} as TokenHeader) {
    return new Promise<string>((resolve, reject) => {
      if (!SUPPORTED_ALG.includes(alg)) return reject(new Error('Missing / invalid token algorithm'));
      client.getSigningKey(kid).then(
        (key) => resolve(keyOf(key)),
        (err: Error) => {
          if (options.handleSigningKeyError) return void options.handleSigningKeyError(err).then(reject);
          reject(err);
        },
      );
    });
  };
}

function defaultHapiHandler(err: Error | null, cb: HapiCallback): void {
  if (err) return cb(err, null, null);
}

/** A `key` function for hapi-auth-jwt2 (callback form). */
export function hapiJwt2Key(options: HapiJwtOptions): (decodedToken: DecodedToken, cb: HapiCallback) => void {
  if (options === null || options === undefined) {
    throw new ArgumentError('An options object must be provided when initializing hapiJwt2Key');
  }
  const client = new JwksClient(options);
  const onError = options.handleSigningKeyError ?? defaultHapiHandler;
  return function secretProvider(decoded, cb) {
    if (!decoded || !decoded.header) return cb(new Error('Cannot find a signing certificate if there is no header'), null, null);
    if (!SUPPORTED_ALG.includes(decoded.header.alg)) return cb(new Error('Unsupported algorithm ' + decoded.header.alg + ' supplied.'), null, null);
    client.getSigningKey(decoded.header.kid).then(
      (key) => cb(null, keyOf(key), key),
      (err: Error) => onError(err, (newError) => cb(newError, null, null)),
    );
  };
}

/** A `key` function for hapi-auth-jwt2 returning a promise of `{ key }`. */
export function hapiJwt2KeyAsync(options: HapiJwtOptions): (decodedToken: DecodedToken) => Promise<{ key: string }> {
  const secretProvider = hapiJwt2Key(options);
  return function (decoded) {
    return new Promise((resolve, reject) => {
      secretProvider(decoded, (err, key) => (!key || err ? reject(err) : resolve({ key })));
    });
  };
}
