/**
 * Project Wycheproof JOSE signature vectors (Apache-2.0, test/corpora/wycheproof/LICENSE):
 * every case of json_web_signature_test.json and the JWS groups of json_web_crypto_test.json
 * (JWE groups are skipped with a counted reason; json_web_key_test.json is covered by
 * test/wycheproof-keys.test.ts).
 *
 * Per case, at three levels:
 *  1. keys: the group's public JWK (or the public part of its private one) goes through the
 *     JWKS validator (`validateJwks`), which yields the `ValidatedKey` used below or drops it;
 *  2. signature: the token is checked with that key by BOTH the Node fast path (`fastVerify`,
 *     src/verify/fast-path.ts) and jose's `compactVerify` (algorithms pinned to the key's), and
 *     both must agree;
 *  3. end to end: `createVerifier` with a fake IdP serving the group's keys and a frozen clock.
 *     The Wycheproof payloads are not JWT claim sets ("foo", "123400", text), so a token whose
 *     signature verifies is then refused as TOKEN_MALFORMED by jose's claim-set parser (cause
 *     `JWTInvalid`): that is "accepted at the signature level". Every `invalid` case must be
 *     refused BEFORE that point (never reach the claims).
 *
 * Every `valid` case with an algorithm we support (RS*, PS*, ES*, EdDSA) must verify at the
 * signature level on both paths; valid HS* cases are out of scope (symmetric) and are asserted
 * REJECTED. A few valid vectors are refused end to end by a documented policy, each counted:
 * an empty payload segment (A8: three non-empty segments), a JWK whose `alg` is not a JWS
 * algorithm ("ES521", C2: key dropped) and a JWK `alg` that differs from the token's (A3: the
 * key is pinned); their signatures are still verified (with the key's `alg` removed) on both paths.
 *
 * The corpus directory must exist: a missing corpus fails the test, it is never skipped.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, errors as joseErrors } from 'jose';
import { createJwksCache, createVerifier, KeysUnavailableError, TokenInvalidError } from '../../src/index.js';
import type { JwksCache } from '../../src/index.js';
import { SUPPORTED_ALGS, validateJwks, type DroppedKey, type SupportedAlg, type ValidatedKey } from '../../src/jwks/validate.js';
import { decodeJsonSegment, precheckToken, type PrecheckLimits, type PrecheckedToken } from '../../src/verify/precheck.js';
import { fastVerify, type ClaimRules } from '../../src/verify/fast-path.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { FakeIdp } from '../helpers/fake-idp.js';
import { Summary } from './harness.js';

const CORPUS_DIR = new URL('../corpora/wycheproof/', import.meta.url);

type Jwk = Record<string, unknown>;
interface Keyset {
  keys: Jwk[];
}
interface TestCase {
  tcId: number;
  comment: string;
  /** Compact JWS, or a JSON-serialised JWS (string or object). */
  jws?: string | Record<string, unknown>;
  jwe?: string;
  result: 'valid' | 'invalid' | 'acceptable';
  flags?: string[];
}
interface TestGroup {
  comment: string;
  private?: Keyset | Jwk;
  public?: Keyset | Jwk;
  tests: TestCase[];
}
interface CorpusFile {
  numberOfTests: number;
  schema: string;
  testGroups: TestGroup[];
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const LIMITS: PrecheckLimits = { maxTokenBytes: 16_384, maxHeaderBytes: 4_096, maxKidLength: 256, algorithms: new Set(SUPPORTED_ALGS) };
const RULES: ClaimRules = { issuer: 'https://wycheproof.test/', audience: ['wycheproof'], toleranceSec: 30, maxTokenAgeSec: undefined, typ: undefined, requiredClaims: ['iss', 'aud', 'exp'] };
const clock = new ManualClock(Date.UTC(2026, 0, 1));
const NOW = Math.floor(clock.wallNow() / 1000);
const PROBE: Jwk = { ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'wycheproof-probe' };
const B64URL = /^[A-Za-z0-9_-]*$/;

function load(name: string): CorpusFile {
  const url = new URL(name, CORPUS_DIR);
  assert.ok(existsSync(url), `corpus file missing: ${url.pathname} (the corpus must be present; this test never skips)`);
  return JSON.parse(readFileSync(url, 'utf8')) as CorpusFile;
}

const asKeyset = (v: Keyset | Jwk): Keyset => (Array.isArray((v as Keyset).keys) ? (v as Keyset) : { keys: [v as Jwk] });
const publicPart = (jwk: Jwk): Jwk => Object.fromEntries(Object.entries(jwk).filter(([m]) => !PRIVATE_MEMBERS.includes(m)));

/** The group's public keys, as an IdP would publish them. */
function publicKeys(g: TestGroup): Jwk[] {
  if (g.public) return asKeyset(g.public).keys;
  if (g.private) return asKeyset(g.private).keys.map(publicPart);
  return [];
}

/** validateJwks next to a probe key (so a set whose only key is dropped still reports why). */
function validate(keys: Jwk[]): { keys: ValidatedKey[]; dropped: DroppedKey[] } {
  const r = validateJwks({ keys: [...keys, PROBE] });
  return { keys: r.keys.filter((k) => k.kid !== PROBE.kid), dropped: [...r.dropped] };
}

type FastSig = 'ok' | 'bad' | 'declined' | 'alg-not-permitted' | 'n/a';
type JoseSig = 'ok' | 'bad' | 'alg-not-permitted' | 'malformed';

/**
 * The fast path on one key. The pre-check result is used when it passes; otherwise (e.g. an
 * empty payload segment, which the pre-check refuses) the pre-checked form is built by hand so
 * the signature itself is still checked.
 */
function fastSig(jws: string, key: ValidatedKey): FastSig {
  const parts = jws.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return 'n/a';
  const [h = '', p = '', s = ''] = parts;
  let pre: PrecheckedToken;
  try {
    pre = precheckToken(jws, LIMITS);
  } catch {
    const header = decodeJsonSegment(h);
    if (!header || typeof header.alg !== 'string' || !(SUPPORTED_ALGS as readonly string[]).includes(header.alg)) return 'n/a';
    pre = { header, alg: header.alg as SupportedAlg, kid: typeof header.kid === 'string' ? header.kid : undefined, payloadSegment: p, signatureSegment: s, signingInput: `${h}.${p}` };
  }
  if (!key.algorithms.includes(pre.alg)) return 'alg-not-permitted';
  const declines = pre.header.crit !== undefined || pre.header.b64 !== undefined || p.length % 4 === 1 || s.length % 4 === 1;
  try {
    fastVerify(pre, key.keyObject, pre.alg, RULES, NOW);
    return declines ? 'declined' : 'ok';
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad';
    if (err instanceof TokenInvalidError) return 'ok'; // claims refused after a good signature
    throw err;
  }
}

async function joseSig(jws: string, key: ValidatedKey): Promise<JoseSig> {
  try {
    await compactVerify(jws, key.keyObject, { algorithms: [...key.algorithms] });
    return 'ok';
  } catch (err) {
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad';
    if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'alg-not-permitted';
    if (err instanceof joseErrors.JOSEError) return 'malformed';
    throw err;
  }
}

/** End-to-end outcome: accepted, refused after a good signature (payload not a JWT), or a code. */
type E2E = 'accepted' | 'after-signature' | string;
async function endToEnd(v: ReturnType<typeof createVerifier>, jws: string): Promise<{ e2e: E2E; err?: unknown }> {
  try {
    await v.verify(jws);
    return { e2e: 'accepted' };
  } catch (err) {
    if (err instanceof TokenInvalidError && err.code === 'TOKEN_MALFORMED' && err.cause instanceof joseErrors.JWTInvalid) return { e2e: 'after-signature', err };
    if (err instanceof TokenInvalidError) return { e2e: err.code, err };
    if (err instanceof KeysUnavailableError) return { e2e: `503:${err.code}`, err };
    return { e2e: `NOT-A-LIBRARY-ERROR:${String(err)}`, err };
  }
}

/** The header, decoded leniently (characters outside base64url dropped) so even a corrupted header names its alg in the counts. */
function headerOf(jws: string): Record<string, unknown> {
  const seg = jws.split('.')[0] ?? '';
  return decodeJsonSegment(seg) ?? decodeJsonSegment(seg.replace(/[^A-Za-z0-9_-]/g, '')) ?? {};
}

interface Counts {
  cases: number;
  validAccepted: number;
  validAcceptedEndToEnd: number;
  validSignatureOnlyPolicy: Map<string, number>;
  invalidRejected: number;
  skipped: Map<string, number>;
  pathComparisons: number;
}
const newCounts = (): Counts => ({ cases: 0, validAccepted: 0, validAcceptedEndToEnd: 0, validSignatureOnlyPolicy: new Map(), invalidRejected: 0, skipped: new Map(), pathComparisons: 0 });
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
const fmt = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k}: ${v}`).join(', ') || 'none';
const summaries: string[] = [];
/** For the test runner's adversarial summary (scripts/test.mjs): invalid vectors are forged tokens. */
const summary = new Summary('corpora-wycheproof-jws.test.ts');
summary.extra.forgedTokens = 0;
summary.extra.forgedAccepted = 0;
after(() => {
  for (const s of summaries) console.log(s);
  summary.print();
});

async function runFile(name: string, expectedTotal: number): Promise<Counts> {
  const file = load(name);
  const counts = newCounts();
  const problems: string[] = [];
  const caches: JwksCache[] = [];
  try {
    for (const group of file.testGroups) {
      const pub = publicKeys(group);
      const { keys: validated, dropped } = validate(pub);
      // a private key set is a leak: the validator refuses it whole
      if (group.private && asKeyset(group.private).keys.some((k) => PRIVATE_MEMBERS.some((m) => Object.hasOwn(k, m)))) {
        assert.throws(() => validateJwks(asKeyset(group.private!)), (e: unknown) => e instanceof KeysUnavailableError && e.code === 'JWKS_PRIVATE_KEY', `${group.comment}: private set accepted`);
      }
      const idp = new FakeIdp();
      idp.keys = [...pub, PROBE];
      const cache = createJwksCache({ jwksUri: 'https://wycheproof.test/jwks', fetch: idp.fetch, unknownKid: { burst: 100, cooldownMs: 600_000, maxWaitMs: 0 } });
      caches.push(cache);
      const verifier = createVerifier({ issuer: 'https://wycheproof.test/', audience: 'wycheproof', keys: cache, clock });
      await cache.ready();

      for (const tc of group.tests) {
        counts.cases++;
        summary.case();
        const label = `${name} tcId ${tc.tcId} ${group.comment}/${tc.comment} (${tc.result}${tc.flags?.length ? ` ${tc.flags.join(',')}` : ''})`;
        if (tc.jwe !== undefined) {
          bump(counts.skipped, 'JWE (encryption, not a signature)');
          continue;
        }
        const jws = typeof tc.jws === 'string' ? tc.jws : JSON.stringify(tc.jws ?? '');
        const header = headerOf(jws);
        const alg = typeof header.alg === 'string' ? header.alg : '';
        const kid = typeof header.kid === 'string' ? header.kid : undefined;
        const { e2e, err } = await endToEnd(verifier, jws);
        if (e2e === 'accepted' || e2e.startsWith('503') || e2e.startsWith('NOT-A-LIBRARY')) problems.push(`${label}: end to end ${e2e}`);

        // signature level with the group's validated key (the one the kid names, else the first)
        const key = validated.find((k) => k.kid === kid) ?? validated[0];
        let fast: FastSig = 'n/a';
        let jose: JoseSig | 'n/a' = 'n/a';
        if (key && (SUPPORTED_ALGS as readonly string[]).includes(alg)) {
          fast = fastSig(jws, key);
          jose = await joseSig(jws, key);
          if (fast !== 'n/a' && fast !== 'declined') {
            counts.pathComparisons++;
            if ((fast === 'ok') !== (jose === 'ok')) problems.push(`${label}: fast path ${fast} vs jose ${jose}`);
          }
        }

        if (tc.result === 'valid' && !(SUPPORTED_ALGS as readonly string[]).includes(alg)) {
          // out of scope (HS*): must be refused, never accepted
          bump(counts.skipped, `valid ${alg || 'no-alg'} (symmetric/unsupported; asserted rejected)`);
          // ALG_NOT_ALLOWED, or TOKEN_MALFORMED when the pre-check already refuses its segments
          if (e2e !== 'ALG_NOT_ALLOWED' && e2e !== 'TOKEN_MALFORMED') problems.push(`${label}: expected ALG_NOT_ALLOWED, got ${e2e}`);
          continue;
        }
        if (tc.result === 'valid') {
          // the signature must verify on both paths; with the key's alg removed when policy drops or pins it
          let sigKey = key;
          let policy: string | undefined;
          const drop = dropped.find((d) => d.kid === kid);
          const payloadSeg = jws.split('.')[1] ?? '';
          if (payloadSeg === '') policy = 'empty payload segment (A8 pre-check: three non-empty segments)';
          if (!key || !key.algorithms.includes(alg as SupportedAlg)) {
            const raw = pub.find((k) => k.kid === kid) ?? pub[0];
            assert.ok(raw, label);
            const { alg: jwkAlg, ...noAlg } = raw;
            sigKey = validate([noAlg]).keys[0];
            policy ??= drop ? `JWK alg ${JSON.stringify(jwkAlg)} is not a JWS algorithm (C2: key dropped, ${drop.reason})` : `JWK alg ${String(jwkAlg)} pins the key, token alg ${alg} (A3)`;
          }
          assert.ok(sigKey, `${label}: no usable key`);
          const f = fastSig(jws, sigKey);
          const j = await joseSig(jws, sigKey);
          if (f !== 'ok' || j !== 'ok') {
            problems.push(`${label}: valid signature not verified (fast ${f}, jose ${j})`);
            continue;
          }
          counts.validAccepted++;
          if (policy === undefined) {
            if (e2e !== 'after-signature') problems.push(`${label}: valid token refused end to end before its signature was checked: ${e2e} ${(err as Error | undefined)?.message ?? ''}`);
            else counts.validAcceptedEndToEnd++;
          } else {
            bump(counts.validSignatureOnlyPolicy, policy);
            // With no usable key for kid+alg, the unknown-kid pre-gate reads the payload first; these
            // payloads are not JWT claim sets, so it refuses with TOKEN_MALFORMED before the lookup
            // would answer KID_NOT_FOUND / KEY_ALG_MISMATCH. Either way: never past the signature.
            const expectedCode = policy.startsWith('empty') ? 'TOKEN_MALFORMED' : policy.includes('C2') ? 'KID_NOT_FOUND' : 'KEY_ALG_MISMATCH';
            if (e2e !== expectedCode && e2e !== 'TOKEN_MALFORMED') problems.push(`${label}: policy refusal expected ${expectedCode}, got ${e2e}`);
          }
          continue;
        }
        // invalid (and 'acceptable', treated as invalid: the strict choice)
        if (tc.result === 'acceptable') bump(counts.skipped, 'acceptable (treated as invalid)');
        if (e2e === 'after-signature') problems.push(`${label}: INVALID TOKEN PASSED THE SIGNATURE CHECK end to end`);
        else if (e2e === 'accepted') problems.push(`${label}: INVALID TOKEN ACCEPTED`);
        if (fast === 'ok' || jose === 'ok') problems.push(`${label}: invalid signature verified at the signature level (fast ${fast}, jose ${jose})`);
        if (!(err instanceof TokenInvalidError)) problems.push(`${label}: not a TokenInvalidError: ${e2e}`);
        counts.invalidRejected++;
        summary.extra.forgedTokens = Number(summary.extra.forgedTokens) + 1;
        if (e2e === 'accepted') summary.extra.forgedAccepted = Number(summary.extra.forgedAccepted) + 1;
      }
    }
  } finally {
    for (const c of caches) await c.close();
  }
  assert.deepEqual(problems, [], problems.join('\n'));
  assert.equal(counts.cases, expectedTotal, `${name}: case count`);
  assert.equal(counts.cases, file.numberOfTests, `${name}: numberOfTests`);
  summaries.push(
    `wycheproof ${name}: ${counts.cases} cases; valid accepted ${counts.validAccepted} (signature verified by fast path AND jose; ${counts.validAcceptedEndToEnd} through createVerifier up to the claims; refused end to end by documented policy: ${fmt(counts.validSignatureOnlyPolicy)}); invalid rejected ${counts.invalidRejected}; skipped ${[...counts.skipped.values()].reduce((a, b) => a + b, 0)} (${fmt(counts.skipped)}); fast-vs-jose signature comparisons ${counts.pathComparisons}, 0 disagreements`,
  );
  return counts;
}

describe('Wycheproof JWS corpora', () => {
  test('the corpus is present (a missing corpus fails, never skips) and licensed Apache-2.0', () => {
    assert.ok(existsSync(CORPUS_DIR), `missing ${CORPUS_DIR.pathname}`);
    const license = readFileSync(new URL('LICENSE', CORPUS_DIR), 'utf8');
    assert.match(license, /Apache License/);
  });

  test('json_web_signature_test.json: every invalid case rejected, every supported valid case verified by both paths', async () => {
    const c = await runFile('json_web_signature_test.json', 401);
    assert.ok(c.invalidRejected > 300);
    assert.ok(c.validAccepted >= 30);
  });

  test('json_web_crypto_test.json: JWS groups as above, JWE groups skipped (counted)', async () => {
    const c = await runFile('json_web_crypto_test.json', 83);
    assert.ok((c.skipped.get('JWE (encryption, not a signature)') ?? 0) > 0);
  });
});
