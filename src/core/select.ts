/**
 * The one key-selection rule and the one header check, used by every path: the verifier's
 * synchronous lane (`peek`), the general lookup (`resolve`), jose's `getKey`, the kid-only
 * `getSigningKey`, waiters resolved by a refresh, and the signature recheck.
 */
import { TokenInvalidError, sanitizeForLog } from '../errors.js';
import type { Snapshot } from '../jwks/snapshot.js';
import { candidatesFor } from '../jwks/snapshot.js';
import type { SupportedAlg, ValidatedKey } from '../jwks/validate.js';

/**
 * What a key set answers for `kid` + `alg`:
 * - `found`: the candidates, in set order (for a token without a kid: the only usable key);
 * - `kid-required`: no kid, and not exactly one usable key (`KID_REQUIRED`);
 * - `alg-mismatch`: keys carry the kid but none may verify `alg` (`KEY_ALG_MISMATCH`);
 * - `unknown-kid`: no key carries the kid (the unknown-kid gate decides what happens).
 */
export type Selection =
  | { readonly kind: 'found'; readonly keys: ValidatedKey[] }
  | { readonly kind: 'kid-required' }
  | { readonly kind: 'alg-mismatch' }
  | { readonly kind: 'unknown-kid' };

const KID_REQUIRED: Selection = Object.freeze({ kind: 'kid-required' });
const ALG_MISMATCH: Selection = Object.freeze({ kind: 'alg-mismatch' });
const UNKNOWN_KID: Selection = Object.freeze({ kind: 'unknown-kid' });

/**
 * Select the keys of `snap` that may verify a token with `kid` and `alg` (`alg` undefined: a
 * kid-only lookup, every key carrying the kid is a candidate).
 */
export function selectKeys(snap: Snapshot, kid: string | undefined, alg: SupportedAlg | undefined): Selection {
  const { all, usable } = candidatesFor(snap, kid, alg);
  if (kid === undefined) return usable.length === 1 ? { kind: 'found', keys: usable } : KID_REQUIRED;
  if (usable.length > 0) return { kind: 'found', keys: usable };
  return all.length > 0 ? ALG_MISMATCH : UNKNOWN_KID;
}

/** The typed error for a selection that is not `found` or `unknown-kid`. */
export function selectionError(s: Selection, alg: SupportedAlg | undefined): TokenInvalidError {
  if (s.kind === 'kid-required') return new TokenInvalidError('KID_REQUIRED', 'token has no kid and the key set does not have exactly one candidate key');
  return new TokenInvalidError('KEY_ALG_MISMATCH', `the key for this kid cannot verify ${String(alg)}`);
}

/** True when `kid` is acceptable as a header `kid`: absent, or a non-empty string of at most `maxKidLength` characters. */
export function kidAcceptable(kid: unknown, maxKidLength: number): kid is string | undefined {
  return kid === undefined || (typeof kid === 'string' && kid.length > 0 && kid.length <= maxKidLength);
}

/** Throw `KID_INVALID` unless {@link kidAcceptable}. */
export function checkKid(kid: unknown, maxKidLength: number): string | undefined {
  if (!kidAcceptable(kid, maxKidLength)) throw new TokenInvalidError('KID_INVALID', 'kid must be a non-empty string of bounded length');
  return kid;
}

/** Throw `ALG_NOT_ALLOWED` unless `alg` is one of `allowed`. */
export function checkAlg(alg: unknown, allowed: ReadonlySet<string>): SupportedAlg {
  if (typeof alg !== 'string' || !allowed.has(alg)) throw new TokenInvalidError('ALG_NOT_ALLOWED', `alg ${sanitizeForLog(alg)} is not allowed`);
  return alg as SupportedAlg;
}

/**
 * The header check shared by `getKey`, `getSigningKey` and the verifier's pre-check: `alg`
 * in the allow-list (`ALG_NOT_ALLOWED`), `kid` absent or a bounded non-empty string
 * (`KID_INVALID`), in that order.
 */
export function checkHeader(header: { alg?: unknown; kid?: unknown } | null | undefined, allowed: ReadonlySet<string>, maxKidLength: number): { alg: SupportedAlg; kid: string | undefined } {
  const alg = checkAlg(header?.alg, allowed);
  return { alg, kid: checkKid(header?.kid, maxKidLength) };
}
