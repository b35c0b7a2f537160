/**
 * `x5c` consistency (RFC 7517 §4.7): the first certificate, when present, must hold the same
 * public key as the JWK. The chain is never trusted or validated as a PKI path; a mismatch or
 * a malformed chain drops the key.
 *
 * @module
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import type { DropReason } from './types.js';

/** Strict standard base64 with padding, as RFC 7517 §4.7 requires for `x5c`. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Why an `x5c` member disqualifies `keyObject`, or `undefined` when it is consistent. */
export function x5cMismatch(chain: unknown, keyObject: KeyObject): { reason: DropReason; detail: string } | undefined {
  if (!Array.isArray(chain) || chain.length === 0) return { reason: 'x5c-invalid', detail: 'x5c is not a non-empty array' };
  for (let i = 0; i < chain.length; i++) {
    const c: unknown = chain[i];
    if (typeof c !== 'string' || c.length === 0 || !BASE64.test(c)) {
      return { reason: 'x5c-invalid', detail: `x5c[${i}] is not a standard base64 string` };
    }
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(chain[0] as string, 'base64'));
  } catch {
    return { reason: 'x5c-invalid', detail: 'x5c[0] is not a parsable X.509 certificate' };
  }
  let same = false;
  try {
    same = keyObject.equals(cert.publicKey);
  } catch {
    same = false;
  }
  return same ? undefined : { reason: 'x5c-mismatch', detail: 'the x5c[0] certificate holds a different public key' };
}
