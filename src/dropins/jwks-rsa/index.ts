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
import type * as C from './client.js';
import type * as I from './integrations.js';
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

/**
 * jwks-rsa's callable default export: `jwksClient(options)` is `new JwksClient(options)`. It
 * carries every export as a property, and its namespace carries the types
 * (`jwksClient.SigningKey`, `jwksClient.Options` …), as `import jwksRsa from 'jwks-rsa'` does.
 */
function jwksClient(options: Options): JwksClient {
  return new JwksClient(options);
}
jwksClient.JwksClient = JwksClient;
jwksClient.ArgumentError = ArgumentError;
jwksClient.JwksError = JwksError;
jwksClient.JwksRateLimitError = JwksRateLimitError;
jwksClient.SigningKeyNotFoundError = SigningKeyNotFoundError;
jwksClient.expressJwtSecret = expressJwtSecret;
jwksClient.hapiJwt2Key = hapiJwt2Key;
jwksClient.hapiJwt2KeyAsync = hapiJwt2KeyAsync;
jwksClient.koaJwtSecret = koaJwtSecret;
jwksClient.passportJwtSecret = passportJwtSecret;

declare namespace jwksClient {
  type Options = C.Options;
  type OptionsBase = C.OptionsBase;
  type OptionsWithFetcher = C.OptionsWithFetcher;
  type OptionsWithUri = C.OptionsWithUri;
  type SigningKey = C.SigningKey;
  type CertSigningKey = C.CertSigningKey;
  type RsaSigningKey = C.RsaSigningKey;
  type JSONWebKey = C.JSONWebKey;
  type Headers = C.Headers;
  type ExpressJwtOptions = I.ExpressJwtOptions;
  type HapiJwtOptions = I.HapiJwtOptions;
  type KoaJwtOptions = I.KoaJwtOptions;
  type HapiCallback = I.HapiCallback;
  type DecodedToken = I.DecodedToken;
  type TokenHeader = I.TokenHeader;
  type SecretCallback = I.SecretCallback;
  type SecretCallbackLong = I.SecretCallbackLong;
  type GetVerificationKey = I.GetVerificationKey;
}

/** The type of the default export. */
export type JwksRsa = typeof jwksClient;

export default jwksClient;
// `require('jwks-keeper/jwks-rsa')` returns the callable, as `require('jwks-rsa')` does.
export { jwksClient as 'module.exports' };
