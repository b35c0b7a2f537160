/**
 * What the transport fetches: the resource-neutral failure kinds and, per document type, the
 * label, the `accept` header and the public code of each failure kind.
 */
import { KeysUnavailableError } from '../errors.js';

/** Why a document request failed, independent of the document (see {@link DocumentResource}). */
export type DocumentFailure = 'timeout' | 'too-large' | 'redirect' | 'http-status' | 'network' | 'malformed';

/** What is being fetched: names for messages, the `accept` header, and the public error codes. */
export interface DocumentResource {
  /** Used in messages, e.g. `JWKS`. */
  readonly label: string;
  /** The option name of the URL, for redirect-target checks (e.g. `jwksUri`). */
  readonly urlName: string;
  /** The `accept` request header. */
  readonly accept: string;
  /** Build the error for a failure of this kind (its public code family). */
  fail(kind: DocumentFailure, message: string, options?: { cause?: unknown; upstreamStatus?: number; retryAfterMs?: number }): KeysUnavailableError;
}

const JWKS_CODES = {
  timeout: 'JWKS_TIMEOUT',
  'too-large': 'JWKS_TOO_LARGE',
  redirect: 'JWKS_REDIRECT',
  'http-status': 'JWKS_HTTP_STATUS',
  network: 'JWKS_NETWORK',
  malformed: 'JWKS_MALFORMED',
} as const satisfies Record<DocumentFailure, string>;

/** A JWKS: `accept: application/jwk-set+json, application/json` and the `JWKS_*` codes. */
export const JWKS_RESOURCE: DocumentResource = Object.freeze({
  label: 'JWKS',
  urlName: 'jwksUri',
  accept: 'application/jwk-set+json, application/json',
  fail: (kind: DocumentFailure, message: string, options?: { cause?: unknown; upstreamStatus?: number; retryAfterMs?: number }) =>
    new KeysUnavailableError(JWKS_CODES[kind], message, options),
});
