/**
 * Runs the Wycheproof JSON Web Key vectors (json_web_key_test.json, schema json_web_key_schema_v1.json)
 * through validateJwks.
 *
 * Each test group carries a keyset (`private`, and usually `public`) and test cases with a compact
 * JWS and an expected result. Our validator sees keys, not tokens, so for each case:
 *  - the private keyset (when it has private members) must be refused as JWKS_PRIVATE_KEY;
 *  - the public keyset (given, or the private one reduced to its public members) is validated,
 *    and the "candidate" keys for the JWS are the accepted keys with the JWS header's `kid` whose
 *    `algorithms` include the header's `alg`;
 *  - `invalid` cases must leave no candidate (the key was dropped or the set refused); should a
 *    candidate survive, the case must be a signature-level one and the signature must not verify;
 *  - `valid` cases with a supported algorithm must have a candidate that verifies the JWS (jose);
 *    `valid` cases for HMAC (HS*) or encryption-only keys are out of scope: counted as skipped.
 *
 * Also runs the two EC points embedded as `epk` in json_web_crypto_test.json's jwe_ec group
 * (a valid point and Wycheproof's invalid-curve point) as extra on-curve vectors.
 */
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { compactVerify } from 'jose';
import { KeysUnavailableError } from '../src/errors.js';
import { SUPPORTED_ALGS, validateJwks, type DropReason, type SupportedAlg, type ValidationResult } from '../src/jwks/validate.js';

const CORPUS_DIR = new URL('./corpora/wycheproof/', import.meta.url);

type Jwk = Record<string, unknown>;
interface Keyset {
  readonly keys: readonly Jwk[];
}
interface TestCase {
  readonly tcId: number;
  readonly comment: string;
  readonly jws?: string;
  readonly jwe?: string;
  readonly result: 'valid' | 'invalid' | 'acceptable';
  readonly flags: readonly string[];
}
interface TestGroup {
  readonly comment: string;
  readonly private?: Keyset | Jwk;
  readonly public?: Keyset | Jwk;
  readonly tests: readonly TestCase[];
}
interface WycheproofFile {
  readonly numberOfTests: number;
  readonly schema: string;
  readonly testGroups: readonly TestGroup[];
}

/** A harmless extra key, to read drop details of a set whose only key is dropped. */
const PROBE_KEY = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

function load(name: string): WycheproofFile {
  return JSON.parse(readFileSync(new URL(name, CORPUS_DIR), 'utf8')) as WycheproofFile;
}

/** The schema allows a keyset or a single JWK. */
function asKeyset(v: Keyset | Jwk): Keyset {
  return Array.isArray((v as Keyset).keys) ? (v as Keyset) : { keys: [v as Jwk] };
}

function publicPart(jwk: Jwk): Jwk {
  return Object.fromEntries(Object.entries(jwk).filter(([m]) => !PRIVATE_MEMBERS.includes(m)));
}

function header(token: string): { alg?: unknown; kid?: unknown } {
  const seg = token.split('.')[0] ?? '';
  return JSON.parse(Buffer.from(seg, 'base64url').toString('utf8')) as { alg?: unknown; kid?: unknown };
}

type Outcome = { readonly ok: true; readonly result: ValidationResult } | { readonly ok: false; readonly code: string; readonly message: string };

function run(doc: unknown): Outcome {
  try {
    return { ok: true, result: validateJwks(doc) };
  } catch (err) {
    assert.ok(err instanceof KeysUnavailableError, `validateJwks threw a non-KeysUnavailableError: ${String(err)}`);
    return { ok: false, code: err.code, message: err.message };
  }
}

/**
 * Key-level expectations for the invalid cases, by `group comment / case comment`: the drop reason
 * of the key the JWS names (after reducing a private-only keyset to its public members).
 */
const EXPECTED_DROP: ReadonlyMap<string, { reason: DropReason; detail?: RegExp }> = new Map([
  ['rs256/rejectsWrongUse', { reason: 'use-not-sig' }],
  ['jws_rsa_roca_key/rejectsKeyWithRocaVulnerability', { reason: 'invalid-key-material', detail: /ROCA/ }],
  ['keysize_too_small/rejects1024bitRsaKey', { reason: 'rsa-too-small' }],
  ['exponentOne/rejectsPublicExponent1', { reason: 'rsa-bad-exponent' }],
  ['wrong_algorithm/mismatchedAlgAndCurve', { reason: 'alg-unsupported' }], // ES521 is not a JWS alg
  ['invalid_algorithm/mismatchedAlgAndCurve', { reason: 'alg-unsupported' }], // ES224 neither
  ['invalid_use/rejectsModifiedKey', { reason: 'use-not-sig' }],
  ['invalid_point/rejectsModifiedKey', { reason: 'invalid-key-material', detail: /node:crypto rejected/ }],
  ['wrong_curve/rejectsModifiedKey', { reason: 'alg-mismatch' }], // ES256 on P-384
  ['wrong_kty/rejectsModifiedKey', { reason: 'alg-mismatch' }], // ES256 on RSA
]);

describe('Wycheproof json_web_key_test', () => {
  it('valid keys are accepted, invalid ones dropped or refused', async () => {
    const file = load('json_web_key_test.json');
    assert.equal(file.schema, 'json_web_key_schema_v1.json');

    let total = 0;
    let validAccepted = 0;
    let invalidRejected = 0;
    let privateRefused = 0;
    const skipped = new Map<string, number>();
    const lines: string[] = [];
    const expectationsUsed = new Set<string>();

    for (const group of file.testGroups) {
      const privateSet = group.private === undefined ? undefined : asKeyset(group.private);
      const publicSet = group.public === undefined ? undefined : asKeyset(group.public);
      assert.ok(privateSet ?? publicSet, `group ${group.comment} has no keys`);

      for (const tc of group.tests) {
        total++;
        const label = `tcId ${tc.tcId} ${group.comment}/${tc.comment} (${tc.result})`;
        const token = tc.jws ?? tc.jwe ?? '';
        const hdr = header(token);
        const alg = typeof hdr.alg === 'string' ? hdr.alg : '';
        const kid = typeof hdr.kid === 'string' ? hdr.kid : undefined;

        // 1. A keyset that leaks private members is refused as a whole.
        if (privateSet && privateSet.keys.some((k) => PRIVATE_MEMBERS.some((m) => Object.hasOwn(k, m)))) {
          const refused = run(privateSet);
          assert.ok(!refused.ok && refused.code === 'JWKS_PRIVATE_KEY', `${label}: private keyset not refused`);
          privateRefused++;
        }

        // 2. The public keyset.
        const doc: Keyset = publicSet ?? { keys: (privateSet as Keyset).keys.map(publicPart) };
        const outcome = run(doc);
        const named = (k: { kid: string | undefined }): boolean => kid === undefined || k.kid === kid;
        const candidates = outcome.ok
          ? outcome.result.keys.filter((k) => named(k) && k.algorithms.includes(alg as SupportedAlg))
          : [];
        const why = outcome.ok
          ? outcome.result.dropped
              .filter((d) => kid === undefined || d.kid === kid)
              .map((d) => `${d.reason}${d.detail ? ` (${d.detail})` : ''}`)
              .join('; ') || `no key for kid ${String(kid)} / alg ${alg}`
          : `${outcome.code}: ${outcome.message}`;

        const supportedAlg = (SUPPORTED_ALGS as readonly string[]).includes(alg);
        const encOnly = doc.keys.filter((k) => kid === undefined || k.kid === kid).every((k) => k.use === 'enc');

        if (tc.result === 'valid') {
          const skip = !supportedAlg ? `${alg.startsWith('HS') ? 'symmetric' : 'unsupported'} ${alg}` : encOnly ? 'encryption-only key' : undefined;
          if (skip !== undefined) {
            // Out of scope, but the symmetric key must still not become a usable signature key.
            assert.equal(candidates.length, 0, `${label}: unexpected candidate`);
            skipped.set(skip, (skipped.get(skip) ?? 0) + 1);
            lines.push(`  ${label}: skipped (${skip}); ${why}`);
            continue;
          }
          assert.ok(candidates.length > 0, `${label}: valid key not accepted: ${why}`);
          let verified = false;
          for (const c of candidates) {
            try {
              await compactVerify(token, c.keyObject, { algorithms: [alg] });
              verified = true;
            } catch {
              // try the next candidate
            }
          }
          assert.ok(verified, `${label}: accepted key does not verify the valid JWS`);
          validAccepted++;
          lines.push(`  ${label}: accepted, JWS verifies`);
          continue;
        }

        // invalid (or acceptable: treated like invalid, the strict choice)
        const expected = EXPECTED_DROP.get(`${group.comment}/${tc.comment}`);
        if (expected) {
          expectationsUsed.add(`${group.comment}/${tc.comment}`);
          assert.ok(outcome.ok || outcome.code === 'JWKS_NO_USABLE_KEYS', `${label}: ${why}`);
          const drops = outcome.ok ? outcome.result.dropped : [];
          if (outcome.ok) {
            const d = drops.find((x) => x.kid === kid);
            assert.equal(d?.reason, expected.reason, `${label}: ${why}`);
            if (expected.detail) assert.match(d?.detail ?? '', expected.detail);
          } else {
            // The single-key set threw; re-run next to a harmless key to read the drop record.
            const probe = validateJwks({ keys: [...doc.keys, { ...PROBE_KEY, kid: '__probe__' }] });
            const d = probe.dropped.find((x) => x.kid === kid);
            assert.equal(d?.reason, expected.reason, label);
            if (expected.detail) assert.match(d?.detail ?? '', expected.detail, label);
          }
        }
        if (candidates.length > 0) {
          // A key-valid set with a signature-level defect: the signature must not verify.
          for (const c of candidates) {
            await assert.rejects(compactVerify(token, c.keyObject, { algorithms: [alg] }), `${label}: invalid JWS verifies`);
          }
          lines.push(`  ${label}: key accepted, signature rejected`);
        } else {
          lines.push(`  ${label}: rejected: ${why}`);
        }
        invalidRejected++;
      }
    }

    assert.equal(total, file.numberOfTests);
    assert.deepEqual([...EXPECTED_DROP.keys()].filter((k) => !expectationsUsed.has(k)), [], 'unmatched expectations');
    const skippedTotal = [...skipped.values()].reduce((a, b) => a + b, 0);
    assert.equal(validAccepted + invalidRejected + skippedTotal, total);
    console.log(lines.join('\n'));
    console.log(
      `wycheproof json_web_key_test: ${validAccepted} valid accepted, ${invalidRejected} invalid rejected, ${skippedTotal} skipped (unsupported: ${[...skipped].map(([r, n]) => `${r} x${n}`).join(', ')}); ${privateRefused} cases' private keysets refused as JWKS_PRIVATE_KEY`,
    );
    assert.ok(validAccepted > 0, 'no valid case accepted');
    assert.ok(invalidRejected > 0, 'no invalid case rejected');
    assert.ok(privateRefused > 0, 'no private keyset refused');
  });
});

describe('Wycheproof json_web_crypto_test: EC points from jwe_ec epk headers', () => {
  it('the valid point is accepted and the invalid-curve point is rejected at import', () => {
    const file = load('json_web_crypto_test.json');
    const group = file.testGroups.find((g) => g.comment === 'jwe_ec');
    assert.ok(group, 'jwe_ec group not found');
    let accepted = 0;
    let rejected = 0;
    const seen = new Set<string>();
    for (const tc of group.tests) {
      const token = tc.jwe ?? '';
      if (!token.startsWith('ey')) continue; // cases with a missing header carry no point
      const epk = (header(token) as { epk?: Jwk }).epk;
      if (!epk) continue;
      const key = JSON.stringify(epk);
      const invalidPoint = tc.comment === 'rejectsInvalidCurvePoint';
      if (seen.has(key) && !invalidPoint) continue;
      seen.add(key);
      // As a signature key: no alg, no use. Placed next to nothing else, so a drop means NO_USABLE_KEYS.
      const outcome = run({ keys: [{ ...epk, kid: `epk-${tc.tcId}` }] });
      if (invalidPoint) {
        assert.ok(!outcome.ok && outcome.code === 'JWKS_NO_USABLE_KEYS', `tcId ${tc.tcId}: invalid curve point accepted`);
        const probe = validateJwks({ keys: [{ ...epk, kid: `epk-${tc.tcId}` }, { ...PROBE_KEY, kid: '__probe__' }] });
        assert.deepEqual(
          probe.dropped.map((x) => [x.kid, x.reason]),
          [[`epk-${tc.tcId}`, 'invalid-key-material']],
          `tcId ${tc.tcId}: dropped as invalid key material`,
        );
        rejected++;
      } else {
        assert.ok(outcome.ok, `tcId ${tc.tcId}: valid epk point rejected`);
        assert.deepEqual(outcome.result.keys[0]?.algorithms, ['ES256']);
        accepted++;
      }
    }
    console.log(`wycheproof json_web_crypto_test jwe_ec epk points: ${accepted} valid accepted, ${rejected} invalid-curve rejected`);
    assert.ok(accepted > 0 && rejected > 0);
  });
});
