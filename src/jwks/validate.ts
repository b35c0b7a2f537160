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
import { KeysUnavailableError, sanitizeForLog } from '../errors.js';
import type { Inspection } from './inspect.js';
import { PRIVATE_MEMBERS, describeValue, drop, inspectEntry, isPlainObject, own, resolveOptions } from './inspect.js';
import type { DropReason, DroppedKey, ValidatedKey, ValidateOptions, ValidationResult } from './types.js';

export { SUPPORTED_ALGS, DEFAULT_VALIDATE_OPTIONS } from './types.js';
export type { SupportedAlg, PublicJwk, ValidatedKey, DropReason, DroppedKey, ValidateOptions, ValidationResult } from './types.js';

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
        { details: { entryIndex: i, privateMembers: Object.freeze([...found]), ...(typeof kid === 'string' ? { kid: sanitizeForLog(kid) } : {}) } },
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
      { details: { entries: entries.length, dropped: Object.freeze(Object.fromEntries(counts)) } },
    );
  }

  return Object.freeze({ keys: Object.freeze(accepted), dropped: Object.freeze(dropped) });
}
