/**
 * The types of validated keys and their limits: supported algorithms, public JWK members, a
 * validated key, drop reasons, validation options and result.
 */
import type { KeyObject } from 'node:crypto';

/**
 * JWS algorithms a validated key may be used with.
 *
 * `EdDSA` (RFC 8037) and `Ed25519` (the fully-specified name of RFC 9864) denote the same
 * signature scheme for an Ed25519 key. Every HMAC (`HS*`), `none`, and all encryption
 * algorithms are deliberately absent: symmetric keys never belong in a public JWKS.
 */
export type SupportedAlg =
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA'
  | 'Ed25519';

/** Every {@link SupportedAlg}, in a stable order (RSA PKCS#1 v1.5, RSA-PSS, ECDSA, EdDSA). Frozen. */
export const SUPPORTED_ALGS: readonly SupportedAlg[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const);

/**
 * The public part of an accepted JWK, as returned in {@link ValidatedKey.jwk}.
 *
 * Always a fresh, frozen object holding only these members (never the input object, never any
 * other member of the input such as `x5c`, `key_ops`, `ext` or `issuer`). The key material
 * members (`n`, `e`, `crv`, `x`, `y`) are the canonical encoding re-exported from the imported
 * key (for example `e: "AAEAAQ"` comes back as `"AQAB"`), so they always match `keyObject`.
 * `kid`, `alg` and `use` are copied as given (after validation).
 *
 * Members per `kty`: RSA has `n`, `e`; EC has `crv`, `x`, `y`; OKP has `crv`, `x`.
 */
export interface PublicJwk {
  /** Key type. */
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** Key ID, verbatim, when the input had one. */
  readonly kid?: string;
  /** The input's `alg`, when present (always a {@link SupportedAlg} compatible with the key). */
  readonly alg?: string;
  /** `"sig"` when the input had `use`; absent otherwise. */
  readonly use?: string;
  /** RSA modulus, canonical base64url (no leading zero bytes). */
  readonly n?: string;
  /** RSA public exponent, canonical base64url. */
  readonly e?: string;
  /** Curve: `P-256`, `P-384`, `P-521` (EC) or `Ed25519` (OKP). */
  readonly crv?: string;
  /** EC x coordinate (full-length base64url) or Ed25519 public key. */
  readonly x?: string;
  /** EC y coordinate (full-length base64url). */
  readonly y?: string;
}

/** A key accepted by {@link validateJwks}: ready for signature verification. Frozen. */
export interface ValidatedKey {
  /** The JWK `kid`, verbatim, or `undefined` when the JWK has none. */
  readonly kid: string | undefined;
  /** Fresh object with the public members only; see {@link PublicJwk}. */
  readonly jwk: PublicJwk;
  /** `node:crypto` public `KeyObject`, created once during validation (import cost is paid here, not per token). */
  readonly keyObject: KeyObject;
  /**
   * RFC 7638 JWK thumbprint with SHA-256, base64url without padding. Computed over the canonical
   * re-exported key members, so two encodings of the same key (e.g. a leading zero byte in `n`)
   * get the same thumbprint.
   */
  readonly thumbprint: string;
  /**
   * Algorithms this key may verify, never empty. `[jwk.alg]` when the JWK pins an `alg` (for an
   * Ed25519 key, `EdDSA` and `Ed25519` are normalised to both names since they are the same
   * scheme), otherwise every {@link SupportedAlg} compatible with `kty`/`crv`:
   * RSA → RS256..RS512, PS256..PS512; EC P-256 → ES256; P-384 → ES384; P-521 → ES512;
   * OKP Ed25519 → EdDSA, Ed25519.
   */
  readonly algorithms: readonly SupportedAlg[];
  /** The non-standard `issuer` member (Microsoft Entra multi-tenant JWKS), if it is a string. */
  readonly issuer: string | undefined;
}

/**
 * Why a JWKS entry was dropped.
 *
 * - `not-an-object`: the entry is not a plain JSON object.
 * - `kid-invalid`: `kid` is present but not a non-empty string of at most `maxKidLength` characters.
 * - `unsupported-kty`: `kty` missing or not one of `RSA`, `EC`, `OKP`.
 * - `unsupported-crv`: EC curve not P-256/P-384/P-521, or OKP curve not Ed25519 (secp256k1, Ed448, X25519 ...).
 * - `symmetric-key`: `kty: "oct"` (an HMAC/AES key has no place in a public key set).
 * - `use-not-sig`: `use` is present and is not `"sig"`.
 * - `key-ops-no-verify`: `key_ops` is present and is not an array containing `"verify"`.
 * - `alg-unsupported`: `alg` is present and not a {@link SupportedAlg} (RSA-OAEP, HS256, none, ES224 ...).
 * - `alg-mismatch`: `alg` is supported but cannot be used with this `kty`/`crv` (ES256 on RSA, ES384 on P-256 ...).
 * - `rsa-too-small` / `rsa-too-large`: modulus outside `[minRsaBits, maxRsaBits]`.
 * - `rsa-bad-exponent`: public exponent even, ≤ 1, or ≥ 2^32.
 * - `invalid-key-material`: material missing, not strict base64url, rejected by `node:crypto`
 *   (including EC points not on the curve), an even RSA modulus, or an RSA modulus carrying the
 *   ROCA fingerprint (CVE-2017-15361, factorable Infineon keys).
 * - `x5c-invalid`: `x5c` is not a non-empty array of standard-base64 strings, or its first
 *   certificate does not parse.
 * - `x5c-mismatch`: the first `x5c` certificate holds a different public key than the JWK.
 * - `duplicate`: same `kid` (or both without `kid`) and same thumbprint as an earlier accepted key.
 * - `too-many-keys`: the entry lies beyond `maxKeys` and was not inspected.
 */
export type DropReason =
  | 'not-an-object'
  | 'kid-invalid'
  | 'unsupported-kty'
  | 'unsupported-crv'
  | 'symmetric-key'
  | 'use-not-sig'
  | 'key-ops-no-verify'
  | 'alg-unsupported'
  | 'alg-mismatch'
  | 'rsa-too-small'
  | 'rsa-too-large'
  | 'rsa-bad-exponent'
  | 'invalid-key-material'
  | 'x5c-mismatch'
  | 'x5c-invalid'
  | 'duplicate'
  | 'too-many-keys';

/** A JWKS entry that was not accepted, for logs and events. */
export interface DroppedKey {
  /**
   * Zero-based position of the entry in the `keys` array. For `too-many-keys` a single record is
   * emitted at `index === maxKeys`, covering every entry from there on (its `detail` gives the count).
   */
  readonly index: number;
  /** The entry's `kid` passed through `sanitizeForLog` (attacker-controlled), or `undefined` if absent or not a string. */
  readonly kid: string | undefined;
  /** Why the entry was dropped. */
  readonly reason: DropReason;
  /** Human-readable explanation; contains only sanitised values, never key material. */
  readonly detail?: string;
}

/** Limits applied by {@link validateJwks}. Every field is optional when passed to it; see {@link DEFAULT_VALIDATE_OPTIONS}. */
export interface ValidateOptions {
  /**
   * Maximum number of entries inspected (count, default 100). Entries at index `maxKeys` and beyond are
   * not validated, only counted, and reported as one `too-many-keys` drop, so a 100k-entry set
   * costs almost nothing. (They are still scanned for private members: that is a cheap own-property
   * check and a leak anywhere in the document must refuse it.)
   */
  maxKeys: number;
  /** Minimum RSA modulus size in bits (default 2048, NIST SP 800-131A). Smaller keys are dropped as `rsa-too-small`. */
  minRsaBits: number;
  /**
   * Maximum RSA modulus size in bits (default 16384). Larger keys are dropped as `rsa-too-large`,
   * before import when the base64url length of `n` already exceeds it: verification cost grows
   * with the modulus, so a huge `n` is a CPU amplification vector.
   */
  maxRsaBits: number;
  /** Maximum `kid` length in UTF-16 code units (default 256), matching the verifier's `KID_INVALID` limit. */
  maxKidLength: number;
}

/** Defaults for {@link ValidateOptions}: `maxKeys` 100, `minRsaBits` 2048, `maxRsaBits` 16384, `maxKidLength` 256. Frozen. */
export const DEFAULT_VALIDATE_OPTIONS: ValidateOptions = Object.freeze({
  maxKeys: 100,
  minRsaBits: 2048,
  maxRsaBits: 16384,
  maxKidLength: 256,
});

/** Output of {@link validateJwks}. Both arrays are frozen; `keys` keeps document order. */
export interface ValidationResult {
  /** Accepted keys, in document order, never empty. */
  readonly keys: readonly ValidatedKey[];
  /** Dropped entries, in document order (the single `too-many-keys` record, if any, comes last). */
  readonly dropped: readonly DroppedKey[];
}
