/**
 * Validation of a fetched JWKS document, key by key.
 *
 * The document as a whole is treated **tolerantly**: one bad key never fails the set, it is
 * dropped with a machine-readable {@link DropReason}. Each key is treated **strictly**: anything
 * that is not an unambiguous public signature-verification key of a supported type is dropped.
 * Two things fail the whole document (see {@link validateJwks}): a malformed document, and any
 * private key member anywhere in it (a leak we refuse to act on).
 *
 * All key material is imported with `node:crypto` exactly once here, so the verifier never
 * re-parses JWKs on the hot path.
 *
 * @module
 */
import { createHash, createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto';
import { ConfigError, KeysUnavailableError, sanitizeForLog } from '../errors.js';
import { hasRocaFingerprint } from './roca.js';
import { describeValue, isPlainObject, own } from './json.js';
import { x5cMismatch } from './x5c.js';
import type { DropReason, DroppedKey, PublicJwk, SupportedAlg, ValidatedKey, ValidateOptions, ValidationResult } from './types.js';
import { DEFAULT_VALIDATE_OPTIONS, SUPPORTED_ALGS } from './types.js';

export type { DropReason, DroppedKey, PublicJwk, SupportedAlg, ValidatedKey, ValidateOptions, ValidationResult } from './types.js';
export { DEFAULT_VALIDATE_OPTIONS, SUPPORTED_ALGS } from './types.js';

/** JWK members that only private or secret keys carry (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

const RSA_ALGS: readonly SupportedAlg[] = Object.freeze(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
const EDDSA_ALGS: readonly SupportedAlg[] = Object.freeze(['EdDSA', 'Ed25519']);

/** EC curves we accept: JWK `crv` → algorithms, OpenSSL curve name reported by `asymmetricKeyDetails`. */
const EC_CURVES = new Map<string, { readonly algs: readonly SupportedAlg[]; readonly nodeCurve: string }>([
  ['P-256', { algs: Object.freeze(['ES256'] as const), nodeCurve: 'prime256v1' }],
  ['P-384', { algs: Object.freeze(['ES384'] as const), nodeCurve: 'secp384r1' }],
  ['P-521', { algs: Object.freeze(['ES512'] as const), nodeCurve: 'secp521r1' }],
]);

const SUPPORTED_ALG_SET: ReadonlySet<string> = new Set(SUPPORTED_ALGS);

/** Strict unpadded base64url (RFC 7515 §2); a length of 1 mod 4 can never be valid. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Upper bound on a sane RSA exponent (exclusive). Real keys use 65537; OpenSSL itself caps e at 64 bits. */
const MAX_RSA_EXPONENT = 2n ** 32n;

function b64urlSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

type KeyType = 'RSA' | 'EC' | 'OKP';

/** Outcome of inspecting one entry. */
type Inspection =
  | { readonly ok: true; readonly key: ValidatedKey }
  | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

function drop(reason: DropReason, detail: string): Inspection {
  return { ok: false, reason, detail };
}

/** Resolved, validated options. */
function resolveOptions(opts: Partial<ValidateOptions> | undefined): ValidateOptions {
  const pick = (name: keyof ValidateOptions, min: number): number => {
    const v = opts?.[name];
    if (v === undefined) return DEFAULT_VALIDATE_OPTIONS[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      throw new ConfigError(`validateJwks: option ${name} must be an integer >= ${min}, got ${describeValue(v)}`);
    }
    return v;
  };
  const resolved: ValidateOptions = {
    maxKeys: pick('maxKeys', 1),
    minRsaBits: pick('minRsaBits', 1),
    maxRsaBits: pick('maxRsaBits', 1),
    maxKidLength: pick('maxKidLength', 1),
  };
  if (resolved.maxRsaBits < resolved.minRsaBits) {
    throw new ConfigError(
      `validateJwks: maxRsaBits (${resolved.maxRsaBits}) must be >= minRsaBits (${resolved.minRsaBits})`,
    );
  }
  return resolved;
}

/** Algorithms compatible with a key type / curve (the curve is already known to be supported). */
function compatibleAlgs(kty: KeyType, crv: string | undefined): readonly SupportedAlg[] {
  if (kty === 'RSA') return RSA_ALGS;
  if (kty === 'OKP') return EDDSA_ALGS;
  return EC_CURVES.get(crv ?? '')?.algs ?? [];
}

/** Reads a required base64url material member; returns the string or a drop. */
function material(entry: object, name: string): string | Inspection {
  const v = own(entry, name);
  if (typeof v !== 'string') return drop('invalid-key-material', `member ${name} is ${v === undefined ? 'missing' : describeValue(v)}, expected a base64url string`);
  if (!BASE64URL.test(v) || v.length % 4 === 1) return drop('invalid-key-material', `member ${name} is not strict base64url`);
  return v;
}

function importJwk(jwk: JsonWebKey): KeyObject | Inspection {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    return drop('invalid-key-material', `node:crypto rejected the key${typeof code === 'string' ? ` (${code})` : ''}`);
  }
}

/** Validates one entry that is known to be a plain object. */
function inspectEntry(entry: object, kid: string | undefined, o: ValidateOptions): Inspection {
  // --- type -----------------------------------------------------------------------------------
  const kty = own(entry, 'kty');
  if (kty === 'oct') return drop('symmetric-key', 'kty "oct" is a symmetric key');
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') {
    return drop('unsupported-kty', `kty ${kty === undefined ? 'missing' : describeValue(kty)}`);
  }
  let crv: string | undefined;
  if (kty === 'EC' || kty === 'OKP') {
    const c = own(entry, 'crv');
    const ok = kty === 'EC' ? typeof c === 'string' && EC_CURVES.has(c) : c === 'Ed25519';
    if (!ok) return drop('unsupported-crv', `${kty} crv ${c === undefined ? 'missing' : describeValue(c)}`);
    crv = c as string;
  }

  // --- intended use ---------------------------------------------------------------------------
  const hasUse = Object.hasOwn(entry, 'use');
  const use = own(entry, 'use');
  if (hasUse && use !== 'sig') return drop('use-not-sig', `use ${describeValue(use)}`);
  if (Object.hasOwn(entry, 'key_ops')) {
    const ops = own(entry, 'key_ops');
    if (!Array.isArray(ops) || !ops.includes('verify')) {
      return drop('key-ops-no-verify', Array.isArray(ops) ? 'key_ops lacks "verify"' : `key_ops is ${describeValue(ops)}, not an array`);
    }
  }

  // --- algorithm ------------------------------------------------------------------------------
  const compatible = compatibleAlgs(kty, crv);
  let algorithms = compatible;
  const hasAlg = Object.hasOwn(entry, 'alg');
  const alg = own(entry, 'alg');
  if (hasAlg) {
    if (typeof alg !== 'string' || !SUPPORTED_ALG_SET.has(alg)) return drop('alg-unsupported', `alg ${describeValue(alg)}`);
    if (!compatible.includes(alg as SupportedAlg)) {
      return drop('alg-mismatch', `alg ${alg} cannot be used with kty ${kty}${crv === undefined ? '' : ` crv ${crv}`}`);
    }
    // EdDSA and Ed25519 are one scheme for an Ed25519 key; otherwise the key is pinned to its alg.
    algorithms = kty === 'OKP' ? EDDSA_ALGS : Object.freeze([alg as SupportedAlg]);
  }

  // --- key material ---------------------------------------------------------------------------
  let keyObject: KeyObject;
  if (kty === 'RSA') {
    const n = own(entry, 'n');
    // Cheap pre-check on the encoded size, before decoding or importing anything. One extra byte
    // allows a (non-canonical but harmless) leading zero.
    const maxNChars = Math.ceil(((Math.ceil(o.maxRsaBits / 8) + 1) * 4) / 3);
    if (typeof n === 'string' && n.length > maxNChars) {
      return drop('rsa-too-large', `n has ${n.length} base64url characters, more than maxRsaBits=${o.maxRsaBits} allows`);
    }
    const e = own(entry, 'e');
    if (typeof e === 'string' && e.length > 12) return drop('rsa-bad-exponent', `e has ${e.length} base64url characters`);
    const nStr = material(entry, 'n');
    if (typeof nStr !== 'string') return nStr;
    const eStr = material(entry, 'e');
    if (typeof eStr !== 'string') return eStr;
    const modulus = Buffer.from(nStr, 'base64url');
    const imported = importJwk({ kty: 'RSA', n: nStr, e: eStr });
    if (!(imported instanceof KeyObject)) return imported;
    keyObject = imported;
    const details = keyObject.asymmetricKeyDetails;
    const bits = details?.modulusLength ?? 0;
    if (bits < o.minRsaBits) return drop('rsa-too-small', `modulus is ${bits} bits, minRsaBits=${o.minRsaBits}`);
    if (bits > o.maxRsaBits) return drop('rsa-too-large', `modulus is ${bits} bits, maxRsaBits=${o.maxRsaBits}`);
    const exp = details?.publicExponent ?? 0n;
    if (exp <= 1n || exp % 2n === 0n || exp >= MAX_RSA_EXPONENT) {
      return drop('rsa-bad-exponent', `public exponent ${exp < MAX_RSA_EXPONENT ? String(exp) : 'is >= 2^32'} (must be odd, > 1 and < 2^32)`);
    }
    if (((modulus[modulus.length - 1] ?? 0) & 1) === 0) return drop('invalid-key-material', 'RSA modulus is even');
    if (hasRocaFingerprint(modulus)) {
      return drop('invalid-key-material', 'RSA modulus has the ROCA fingerprint (CVE-2017-15361): factorable');
    }
  } else if (kty === 'EC') {
    const x = material(entry, 'x');
    if (typeof x !== 'string') return x;
    const y = material(entry, 'y');
    if (typeof y !== 'string') return y;
    // OpenSSL (via Node's JWK import) rejects points that are not on the named curve, including
    // (0, 0) and coordinates of the wrong curve's size: verified by the tests and Wycheproof.
    const imported = importJwk({ kty: 'EC', crv: crv as string, x, y });
    if (!(imported instanceof KeyObject)) return imported;
    keyObject = imported;
    if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== EC_CURVES.get(crv as string)?.nodeCurve) {
      return drop('invalid-key-material', `imported key is not on curve ${crv as string}`);
    }
  } else {
    const x = material(entry, 'x');
    if (typeof x !== 'string') return x;
    const imported = importJwk({ kty: 'OKP', crv: 'Ed25519', x });
    if (!(imported instanceof KeyObject)) return imported;
    keyObject = imported;
    if (keyObject.asymmetricKeyType !== 'ed25519') return drop('invalid-key-material', 'imported key is not Ed25519');
  }

  // --- canonical public JWK and thumbprint ----------------------------------------------------
  const canonical = keyObject.export({ format: 'jwk' });
  let thumbprintInput: string;
  const jwk: { -readonly [K in keyof PublicJwk]: PublicJwk[K] } = { kty };
  if (kid !== undefined) jwk.kid = kid;
  if (hasAlg) jwk.alg = alg as string;
  if (hasUse) jwk.use = 'sig';
  if (kty === 'RSA') {
    jwk.n = canonical.n;
    jwk.e = canonical.e;
    // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
    thumbprintInput = JSON.stringify({ e: canonical.e, kty, n: canonical.n });
  } else if (kty === 'EC') {
    jwk.crv = canonical.crv;
    jwk.x = canonical.x;
    jwk.y = canonical.y;
    thumbprintInput = JSON.stringify({ crv: canonical.crv, kty, x: canonical.x, y: canonical.y });
  } else {
    jwk.crv = canonical.crv;
    jwk.x = canonical.x;
    thumbprintInput = JSON.stringify({ crv: canonical.crv, kty, x: canonical.x });
  }

  // --- x5c: consistency only, never trusted ---------------------------------------------------
  if (Object.hasOwn(entry, 'x5c')) {
    const bad = x5cMismatch(own(entry, 'x5c'), keyObject);
    if (bad) return drop(bad.reason, bad.detail);
  }

  const issuer = own(entry, 'issuer');
  const key: ValidatedKey = Object.freeze({
    kid,
    jwk: Object.freeze(jwk),
    keyObject,
    thumbprint: b64urlSha256(thumbprintInput),
    algorithms,
    issuer: typeof issuer === 'string' ? issuer : undefined,
  });
  return { ok: true, key };
}

/**
 * Validates a fetched JWKS document (the parsed JSON body) and returns its usable signature keys.
 *
 * Per entry, in order: plain object → `kid` → `kty` → `crv` → `use` → `key_ops` → `alg` →
 * key material (import with `node:crypto`, RSA size/exponent/ROCA checks, EC on-curve check by
 * OpenSSL) → `x5c` consistency → de-duplication. The first failing check names the
 * {@link DropReason}; one bad key never fails the set.
 *
 * **Duplicate policy.** An entry with the same `kid` *and* the same thumbprint as an earlier
 * accepted key (or, both without `kid`, the same thumbprint) is dropped as `duplicate`; the first
 * occurrence wins (including its `alg`). Entries sharing a `kid` but holding *different* key
 * material are all kept: IdPs do publish such sets during botched rotations, and the verifier
 * treats every key with the token's `kid` as a candidate and tries each, so no key is silently
 * lost. An entry with a `kid` and one without are different identities even if the material is
 * the same, so both are kept.
 *
 * Only the first `opts.maxKeys` entries are validated; the rest are counted and reported in a
 * single `too-many-keys` record. Every entry, including those beyond `maxKeys` and those that
 * would be dropped, is checked for private members.
 *
 * @param doc - The parsed JSON body (any value; never mutated).
 * @param opts - Limits; missing fields take {@link DEFAULT_VALIDATE_OPTIONS}.
 * @returns The accepted keys (at least one) and the dropped entries, both in document order.
 * @throws {@link KeysUnavailableError} `JWKS_MALFORMED` when `doc` is not a plain object or has no
 *   `keys` array; `JWKS_PRIVATE_KEY` when any entry has a private member (`d`, `p`, `q`, `dp`,
 *   `dq`, `qi`, `k`, `oth`) — the whole document is refused, as it is a leak and the IdP is
 *   misconfigured; `JWKS_NO_USABLE_KEYS` when no entry is accepted (the message counts the drop
 *   reasons). For any JSON value, nothing else is thrown.
 * @throws {@link ConfigError} only for invalid `opts` (a programming error): non-integer or
 *   non-positive limits, or `maxRsaBits < minRsaBits`.
 */
export function validateJwks(doc: unknown, opts?: Partial<ValidateOptions>): ValidationResult {
  const o = resolveOptions(opts);

  let entries: readonly unknown[];
  try {
    if (!isPlainObject(doc)) {
      throw new KeysUnavailableError('JWKS_MALFORMED', `JWKS document is ${describeValue(doc)}, expected a JSON object`);
    }
    const keys = own(doc, 'keys');
    if (!Array.isArray(keys)) {
      throw new KeysUnavailableError('JWKS_MALFORMED', `JWKS document has no "keys" array (keys is ${keys === undefined ? 'missing' : describeValue(keys)})`);
    }
    entries = keys;

    // Leak check first, over every entry: a cheap own-property test, no per-key work.
    for (let i = 0; i < entries.length; i++) {
      const entry: unknown = entries[i];
      if (typeof entry !== 'object' || entry === null) continue;
      if (!PRIVATE_MEMBERS.some((m) => Object.hasOwn(entry, m))) continue;
      const found = PRIVATE_MEMBERS.filter((m) => Object.hasOwn(entry, m));
      const kid = own(entry, 'kid');
      // Names the members, never their values.
      throw new KeysUnavailableError(
        'JWKS_PRIVATE_KEY',
        `JWKS entry #${i}${typeof kid === 'string' ? ` (kid ${sanitizeForLog(kid)})` : ''} contains private key member(s) ${found.join(', ')}: refusing the whole document`,
      );
    }
  } catch (err) {
    if (err instanceof KeysUnavailableError) throw err;
    throw new KeysUnavailableError('JWKS_MALFORMED', 'JWKS document could not be inspected', { cause: err });
  }

  const accepted: ValidatedKey[] = [];
  const dropped: DroppedKey[] = [];
  // kid → thumbprints already accepted under that kid. A Map, so kids like "__proto__" are plain data.
  const seenByKid = new Map<string, Set<string>>();
  const seenWithoutKid = new Set<string>();

  const inspected = Math.min(entries.length, o.maxKeys);
  for (let index = 0; index < inspected; index++) {
    const entry: unknown = entries[index];
    let logKid: string | undefined;
    let result: Inspection;
    try {
      if (!isPlainObject(entry)) {
        result = drop('not-an-object', `entry is ${describeValue(entry)}`);
      } else {
        const hasKid = Object.hasOwn(entry, 'kid');
        const rawKid = own(entry, 'kid');
        logKid = typeof rawKid === 'string' ? sanitizeForLog(rawKid) : undefined;
        if (hasKid && (typeof rawKid !== 'string' || rawKid.length === 0 || rawKid.length > o.maxKidLength)) {
          result = drop(
            'kid-invalid',
            typeof rawKid === 'string'
              ? `kid has ${rawKid.length} characters (allowed 1..${o.maxKidLength})`
              : `kid is ${describeValue(rawKid)}, expected a string`,
          );
        } else {
          result = inspectEntry(entry, rawKid as string | undefined, o);
        }
      }
    } catch {
      // Unreachable for JSON input; a hostile Proxy or getter must still not crash the set.
      result = drop('invalid-key-material', 'unexpected error while inspecting the entry');
    }

    if (!result.ok) {
      dropped.push(Object.freeze({ index, kid: logKid, reason: result.reason, detail: result.detail }));
      continue;
    }
    const key = result.key;
    let seen: Set<string>;
    if (key.kid === undefined) {
      seen = seenWithoutKid;
    } else {
      const existing = seenByKid.get(key.kid);
      seen = existing ?? new Set<string>();
      if (existing === undefined) seenByKid.set(key.kid, seen);
    }
    if (seen.has(key.thumbprint)) {
      dropped.push(
        Object.freeze({
          index,
          kid: logKid,
          reason: 'duplicate' as const,
          detail: `same ${key.kid === undefined ? 'kid-less ' : 'kid and '}key material as an earlier entry (thumbprint ${key.thumbprint})`,
        }),
      );
      continue;
    }
    seen.add(key.thumbprint);
    accepted.push(key);
  }

  if (entries.length > o.maxKeys) {
    const extra = entries.length - o.maxKeys;
    dropped.push(
      Object.freeze({
        index: o.maxKeys,
        kid: undefined,
        reason: 'too-many-keys' as const,
        detail: `${extra} entr${extra === 1 ? 'y' : 'ies'} from index ${o.maxKeys} on not inspected (maxKeys=${o.maxKeys})`,
      }),
    );
  }

  if (accepted.length === 0) {
    const counts = new Map<DropReason, number>();
    for (const d of dropped) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
    const summary = [...counts].map(([reason, count]) => `${reason} x${count}`).join(', ');
    throw new KeysUnavailableError(
      'JWKS_NO_USABLE_KEYS',
      `JWKS has no usable signing key (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}${summary === '' ? '' : `; dropped: ${summary}`})`,
    );
  }

  return Object.freeze({ keys: Object.freeze(accepted), dropped: Object.freeze(dropped) });
}
