/**
 * `jwks-keeper/jwks-rsa`: a drop-in for jwks-rsa 4. Change the import (or `require`) and keep
 * your code:
 *
 * ```ts
 * import jwksClient from 'jwks-keeper/jwks-rsa'; // was: from 'jwks-rsa'
 * const client = jwksClient({ jwksUri: 'https://idp.example.com/.well-known/jwks.json' });
 * const key = await client.getSigningKey(kid);
 * const signingKey = key.getPublicKey();
 * ```
 *
 * `require('jwks-keeper/jwks-rsa')` returns the same callable function with every helper as a
 * property, like jwks-rsa's `module.exports`. Requests go through `node:http(s)` (nock sees
 * them) unless a `fetcher` is given. Every option mapping: docs/dropins.md.
 *
 * @packageDocumentation
 */
import { JwksClient } from './client.js';
import type { Options } from './client.js';
import { ArgumentError, JwksError, JwksRateLimitError, SigningKeyNotFoundError } from './errors.js';
import { expressJwtSecret, hapiJwt2Key, hapiJwt2KeyAsync, koaJwtSecret, passportJwtSecret } from './integrations.js';

export { JwksClient, ArgumentError, JwksError, JwksRateLimitError, SigningKeyNotFoundError };
export { expressJwtSecret, hapiJwt2Key, hapiJwt2KeyAsync, koaJwtSecret, passportJwtSecret };
export { nodeHttpFetch } from './node-fetch.js';
export type { NodeHttpFetchOptions } from './node-fetch.js';
export type { Options, OptionsBase, OptionsWithFetcher, OptionsWithUri, SigningKey, CertSigningKey, RsaSigningKey, JSONWebKey, Headers } from './client.js';
export type {
  ExpressJwtOptions,
  HapiJwtOptions,
  KoaJwtOptions,
  HapiCallback,
  DecodedToken,
  TokenHeader,
  SecretCallback,
  SecretCallbackLong,
  GetVerificationKey,
} from './integrations.js';

/** The callable default export of jwks-rsa: `jwksClient(options)` is `new JwksClient(options)`, and carries every export as a property. */
export interface JwksRsa {
  (options: Options): JwksClient;
  JwksClient: typeof JwksClient;
  ArgumentError: typeof ArgumentError;
  JwksError: typeof JwksError;
  JwksRateLimitError: typeof JwksRateLimitError;
  SigningKeyNotFoundError: typeof SigningKeyNotFoundError;
  expressJwtSecret: typeof expressJwtSecret;
  hapiJwt2Key: typeof hapiJwt2Key;
  hapiJwt2KeyAsync: typeof hapiJwt2KeyAsync;
  koaJwtSecret: typeof koaJwtSecret;
  passportJwtSecret: typeof passportJwtSecret;
}

const jwksClient: JwksRsa = Object.assign((options: Options) => new JwksClient(options), {
  JwksClient,
  ArgumentError,
  JwksError,
  JwksRateLimitError,
  SigningKeyNotFoundError,
  expressJwtSecret,
  hapiJwt2Key,
  hapiJwt2KeyAsync,
  koaJwtSecret,
  passportJwtSecret,
});

export default jwksClient;
// `require('jwks-keeper/jwks-rsa')` returns the callable, as `require('jwks-rsa')` does.
export { jwksClient as 'module.exports' };
