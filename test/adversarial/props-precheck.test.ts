/**
 * Property tests (fast-check, seed 42) over the token pre-checks (`precheckToken`,
 * `pregateClaims`, src/verify/precheck.ts) and over the whole verifier against jose:
 *
 * - random strings, random bytes, arbitrary values and structured-but-mutated tokens never make
 *   the pre-checks throw anything but `TokenInvalidError`;
 * - an accepted pre-check implies: exactly three non-empty base64url segments, a header that is
 *   a JSON object, `alg` in the allow-list, `kid` absent or a string of 1..maxKidLength, the
 *   token within maxTokenBytes (A8, B5, D5);
 * - the unknown-kid pre-gate is sound: whenever it refuses a claim set, jose (with the right key)
 *   refuses the token too, so it can never lock out a genuine token of a new key;
 * - the verifier never accepts a token that jose's `jwtVerify`, with the same key and options,
 *   would reject. Where ours rejects and jose accepts, the reason must be one of our documented
 *   extra checks (NumericDate range, `iat` in the future, kid/alg pre-checks and key lookup);
 *   these are tallied and printed.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { createJwksCache, createVerifier, JwksKeeperError, TokenInvalidError } from '../../src/index.js';
import { SUPPORTED_ALGS, validateJwks, type SupportedAlg } from '../../src/jwks/validate.js';
import { precheckToken, pregateClaims, type PrecheckLimits, type PrecheckedToken } from '../../src/verify/precheck.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { FakeIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, type SigningKey } from '../helpers/keys.js';
import { claimsArbitrary, signTexts, tokenArbitrary } from '../helpers/hostile-tokens.js';

const SEED = 42;
let properties = 0;
let generated = 0;
after(() => console.log(`props-precheck: ${properties} properties, ${generated} generated cases (seed ${SEED})`));

const DEFAULT_LIMITS: PrecheckLimits = { maxTokenBytes: 16_384, maxHeaderBytes: 4_096, maxKidLength: 256, algorithms: new Set<string>(SUPPORTED_ALGS) };
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const b64u = (s: string | Uint8Array): string => Buffer.from(s).toString('base64url');

/** Run the pre-check: a result, or the TokenInvalidError it threw (anything else fails the property). */
function pre(token: unknown, limits: PrecheckLimits = DEFAULT_LIMITS): PrecheckedToken | TokenInvalidError {
  try {
    return precheckToken(token, limits);
  } catch (err) {
    if (!(err instanceof TokenInvalidError)) throw new Error(`precheckToken threw a non-TokenInvalidError: ${String(err)}`, { cause: err });
    assert.equal(err.httpStatus, 401);
    return err;
  }
}

/** What an accepted pre-check guarantees. */
function assertInvariants(token: string, r: PrecheckedToken, limits: PrecheckLimits): void {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'exactly three segments');
  for (const p of parts) assert.match(p, SEGMENT, 'non-empty base64url segment');
  assert.ok(token.length <= limits.maxTokenBytes, 'within maxTokenBytes');
  assert.ok(limits.algorithms.has(r.alg), `alg ${r.alg} in the allow-list`);
  assert.equal(r.header.alg, r.alg);
  assert.ok(r.kid === undefined || (typeof r.kid === 'string' && r.kid.length >= 1 && r.kid.length <= limits.maxKidLength), 'kid bounded');
  assert.equal(r.kid, r.header.kid);
  assert.equal(r.signingInput, `${parts[0]}.${parts[1]}`);
  assert.equal(r.payloadSegment, parts[1]);
  assert.equal(r.signatureSegment, parts[2]);
  assert.ok(typeof r.header === 'object' && r.header !== null && !Array.isArray(r.header));
  assert.ok(Object.hasOwn(r.header, 'alg'), 'alg is an own member');
}

function check<T>(prop: fc.IProperty<T>, numRuns: number): void {
  properties++;
  generated += numRuns;
  fc.assert(prop, { seed: SEED, numRuns });
}
async function checkAsync<T>(prop: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  properties++;
  generated += numRuns;
  await fc.assert(prop, { seed: SEED, numRuns });
}

// ---------------------------------------------------------------------------------------------
// Arbitraries for structured tokens
// ---------------------------------------------------------------------------------------------

const algValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<unknown>(...SUPPORTED_ALGS) },
  { weight: 2, arbitrary: fc.constantFrom<unknown>('none', 'None', 'HS256', 'RS256 ', 'rs256', '', 'ES256K', 'RSA-OAEP', '__proto__') },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
const kidValue = fc.oneof(
  { weight: 2, arbitrary: fc.constant<unknown>(undefined) },
  { weight: 4, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('', 'k'.repeat(256), 'k'.repeat(257), '__proto__', 'constructor', '../../dev/null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 250, maxLength: 270 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);
/** A header JSON text; sometimes with duplicate members or __proto__, as raw text. */
const headerText = fc
  .tuple(algValue, kidValue, fc.dictionary(fc.constantFrom('typ', 'crit', 'b64', 'jku', 'jwk', 'x5c', '__proto__', 'x'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), fc.nat({ max: 5 }))
  .map(([alg, kid, extra, shape]) => {
    const members: string[] = [];
    if (shape !== 1) members.push(`"alg":${JSON.stringify(alg) ?? 'null'}`);
    if (kid !== undefined) members.push(`"kid":${JSON.stringify(kid) ?? 'null'}`);
    for (const [k, v] of Object.entries(extra)) members.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
    if (shape === 2) members.push(`"alg":"none"`); // duplicate, last wins
    if (shape === 3) members.unshift(`"alg":"none"`); // duplicate, first loses
    if (shape === 4) members.push(`"__proto__":{"alg":"RS256","kid":"k"}`);
    return shape === 5 ? `[${members.join(',')}]` : `{${members.join(',')}}`;
  });

type Mutation = { op: 'insert' | 'delete' | 'replace' | 'dup-segment' | 'truncate' | 'pad' | 'space'; pos: number; ch: string };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom<Mutation['op']>('insert', 'delete', 'replace', 'dup-segment', 'truncate', 'pad', 'space'),
  pos: fc.nat(),
  ch: fc.constantFrom('.', '=', '+', '/', ' ', '\n', 'A', '-', '_', '\u0000', 'é', '%'),
});
function mutate(token: string, muts: Mutation[]): string {
  let t = token;
  for (const m of muts) {
    const i = t.length === 0 ? 0 : m.pos % (t.length + 1);
    switch (m.op) {
      case 'insert':
        t = t.slice(0, i) + m.ch + t.slice(i);
        break;
      case 'delete':
        t = t.slice(0, i) + t.slice(i + 1);
        break;
      case 'replace':
        t = t.slice(0, i) + m.ch + t.slice(i + 1);
        break;
      case 'dup-segment': {
        const segs = t.split('.');
        segs.splice(m.pos % (segs.length + 1), 0, segs[m.pos % segs.length] ?? '');
        t = segs.join('.');
        break;
      }
      case 'truncate':
        t = t.slice(0, i);
        break;
      case 'pad':
        t = `${t}=`;
        break;
      case 'space':
        t = ` ${t} `;
        break;
    }
  }
  return t;
}
const structuredToken = fc
  .tuple(headerText, fc.jsonValue({ maxDepth: 2 }), fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.array(mutation, { maxLength: 3 }))
  .map(([h, payload, sig, muts]) => mutate(`${b64u(h)}.${b64u(JSON.stringify(payload) ?? 'null')}.${b64u(sig)}`, muts));

// ---------------------------------------------------------------------------------------------

describe('precheckToken', () => {
  test('random strings (ASCII, full Unicode, lone surrogates), random bytes and arbitrary values: only TokenInvalidError; acceptances satisfy the invariants', () => {
    const inputs = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: fc.constantFrom(...'ABCabc012-_.=+/ '.split('')), maxLength: 120 }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('utf8')),
    );
    check(
      fc.property(inputs, (s) => {
        const r = pre(s);
        if (!(r instanceof TokenInvalidError)) assertInvariants(s, r, DEFAULT_LIMITS);
      }),
      3000,
    );
    check(
      fc.property(fc.anything(), (v) => {
        const r = pre(v);
        if (typeof v !== 'string') assert.ok(r instanceof TokenInvalidError && r.code === 'TOKEN_MALFORMED');
      }),
      500,
    );
  });

  test('structured-but-mutated tokens (random headers with duplicate/__proto__ members, random payloads and signatures, inserted dots, padding, whitespace): only TokenInvalidError; acceptances satisfy the invariants', () => {
    let accepted = 0;
    const codes = new Map<string, number>();
    check(
      fc.property(structuredToken, (t) => {
        const r = pre(t);
        if (r instanceof TokenInvalidError) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
        else {
          accepted++;
          assertInvariants(t, r, DEFAULT_LIMITS);
        }
      }),
      3000,
    );
    assert.ok(accepted > 100, `a meaningful share passes the pre-check (${accepted})`);
    console.log(`props-precheck: structured tokens: ${accepted} passed the pre-check, refusals ${JSON.stringify(Object.fromEntries(codes))}`);
  });

  test('random limits: an accepted pre-check respects maxTokenBytes, maxHeaderBytes, maxKidLength and the allow-list given', () => {
    const limits = fc.record({
      maxTokenBytes: fc.integer({ min: 10, max: 600 }),
      maxHeaderBytes: fc.integer({ min: 8, max: 300 }),
      maxKidLength: fc.integer({ min: 1, max: 40 }),
      algorithms: fc.subarray([...SUPPORTED_ALGS], { minLength: 1 }).map((a) => new Set<string>(a)),
    });
    check(
      fc.property(structuredToken, limits, (t, l) => {
        const r = pre(t, l);
        if (r instanceof TokenInvalidError) return;
        assertInvariants(t, r, l);
        const h = t.split('.')[0] ?? '';
        assert.ok(Buffer.from(h, 'base64url').length <= l.maxHeaderBytes + 2, 'header within maxHeaderBytes (base64url rounding)');
      }),
      2000,
    );
  });
});

describe('pregateClaims', () => {
  const tolerance = 30;
  const now = 1_800_000_000;
  const acceptIssuer = (p: Readonly<Record<string, unknown>>): boolean => p.iss === ISS;

  /**
   * The one code the pre-gate must give a payload segment, from the rules in order: not a
   * base64url JSON object (a length ≡ 1 mod 4 is no base64url at all) → TOKEN_MALFORMED; an
   * issuer not accepted → ISSUER_NOT_ALLOWED; a finite exp past the tolerance → TOKEN_EXPIRED;
   * else none.
   */
  const expectedRefusal = (seg: string): string | undefined => {
    let p: unknown;
    try {
      if (seg.length % 4 === 1) return 'TOKEN_MALFORMED';
      p = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(seg, 'base64url')));
    } catch {
      return 'TOKEN_MALFORMED';
    }
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return 'TOKEN_MALFORMED';
    const claims = p as Record<string, unknown>;
    if (!acceptIssuer(claims)) return 'ISSUER_NOT_ALLOWED';
    if (typeof claims.exp === 'number' && Number.isFinite(claims.exp) && claims.exp + tolerance < now) return 'TOKEN_EXPIRED';
    return undefined;
  };

  test('random payload segments: only TokenInvalidError, with exactly the code of the first rule the segment breaks (TOKEN_MALFORMED, ISSUER_NOT_ALLOWED, TOKEN_EXPIRED); a pass implies a JSON object with the issuer and an exp not past', () => {
    const segments = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 80 }),
      fc.jsonValue({ maxDepth: 2 }).map((v) => b64u(JSON.stringify(v) ?? 'null')),
      claimsArbitrary(now, ISS, AUD).map((c) => b64u(c)),
      fc.uint8Array({ maxLength: 60 }).map((b) => b64u(b)),
    );
    check(
      fc.property(segments, (seg) => {
        try {
          pregateClaims(seg, acceptIssuer, now, tolerance);
        } catch (err) {
          assert.ok(err instanceof TokenInvalidError, `non-TokenInvalidError: ${String(err)}`);
          assert.equal(err.code, expectedRefusal(seg), seg);
          return;
        }
        assert.equal(expectedRefusal(seg), undefined, `passed, but the rules refuse ${seg}`);
        const p = JSON.parse(Buffer.from(seg, 'base64url').toString('utf8')) as Record<string, unknown>;
        assert.ok(typeof p === 'object' && p !== null && !Array.isArray(p));
        assert.equal(p.iss, ISS);
        assert.ok(!(typeof p.exp === 'number' && Number.isFinite(p.exp) && p.exp + tolerance < now));
      }),
      3000,
    );
  });

  test('soundness: whenever the pre-gate refuses a claim set, jose refuses the signed token too (a genuine token of a new key is never locked out)', async () => {
    const key = makeKey('pregate', 'ES256');
    let refused = 0;
    await checkAsync(
      fc.asyncProperty(claimsArbitrary(now, ISS, AUD), async (claims) => {
        const token = signTexts(key, { alg: 'ES256', kid: key.kid }, claims);
        let gateRefused = false;
        try {
          pregateClaims(token.split('.')[1] ?? '', acceptIssuer, now, tolerance);
        } catch {
          gateRefused = true;
        }
        if (!gateRefused) return;
        refused++;
        let joseAccepted = false;
        try {
          await jwtVerify(token, key.publicKey, { issuer: ISS, audience: AUD, algorithms: ['ES256'], clockTolerance: tolerance, currentDate: new Date(now * 1000) });
          joseAccepted = true;
        } catch {
          // refused: consistent
        }
        assert.equal(joseAccepted, false, `the pre-gate refused a token jose accepts: ${claims}`);
      }),
      800,
    );
    assert.ok(refused > 50, `${refused}`);
  });
});

describe('the verifier never accepts what jose rejects', () => {
  test('random claim sets and headers (arbitrary JSON for exp/nbf/iat/iss/aud/typ/crit, extra members), signed with real keys: ours accepts ⇒ jose accepts; ours-only refusals are documented extra checks', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 12));
    const NOW = Math.floor(clock.wallNow() / 1000);
    const keys: SigningKey[] = [makeKey('p-rs', 'RS256', { fresh: false }), makeKey('p-ec', 'ES256'), makeKey('p-ed', 'EdDSA'), { ...makeKey('p-ps', 'PS256', { fresh: false, withAlg: false }) }];
    // the algorithms each key is pinned to, as the validator computes them
    const pinned = new Map(validateJwks({ keys: keys.map((k) => k.jwk) }).keys.map((k) => [k.kid, k.algorithms]));
    const idp = new FakeIdp(...keys);
    const cache = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, unknownKid: { burst: 100, cooldownMs: 600_000, maxWaitMs: 0 } });
    const configs = [
      { name: 'default', runs: 800, verifier: {}, jose: {} },
      { name: 'typ at+jwt, maxTokenAge 300, tolerance 5', runs: 300, verifier: { typ: 'at+jwt', maxTokenAgeSec: 300, clockToleranceSec: 5 }, jose: { typ: 'at+jwt', maxTokenAge: 300, clockTolerance: 5 } },
    ] as const;
    const oursOnly = new Map<string, number>();
    let bothAccept = 0;
    let bothReject = 0;
    try {
      await cache.ready();
      for (const cfg of configs) {
        const verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock, ...cfg.verifier });
        await checkAsync(
          fc.asyncProperty(tokenArbitrary(keys, NOW, ISS, AUD), async (g) => {
            const key = keys[g.keyIndex]!;
            let ours: { ok: true } | { ok: false; err: unknown };
            try {
              await verifier.verify(g.token);
              ours = { ok: true };
            } catch (err) {
              assert.ok(err instanceof JwksKeeperError, `non-library error: ${String(err)}`);
              ours = { ok: false, err };
            }
            let joseOk = false;
            try {
              await jwtVerify(g.token, key.publicKey, {
                issuer: ISS,
                audience: AUD,
                algorithms: [...(pinned.get(key.kid) ?? [])],
                clockTolerance: 30,
                requiredClaims: ['exp', 'iss', 'aud'],
                currentDate: new Date(NOW * 1000),
                ...cfg.jose,
              });
              joseOk = true;
            } catch {
              joseOk = false;
            }
            if (ours.ok) {
              assert.ok(joseOk, `ours accepted what jose rejects (${cfg.name}):\nheader ${g.header}\npayload ${g.payload}`);
              bothAccept++;
              return;
            }
            if (!joseOk) {
              bothReject++;
              return;
            }
            // ours refuses, jose accepts: only for a documented extra check
            const e = ours.err as JwksKeeperError;
            const reason = documentedExtra(e, g.token, NOW, 'clockToleranceSec' in cfg.verifier ? cfg.verifier.clockToleranceSec : 30);
            assert.ok(reason, `ours refused what jose accepts, outside the documented extra checks (${cfg.name}): ${e.code} ${e.message}\nheader ${g.header}\npayload ${g.payload}`);
            oursOnly.set(reason, (oursOnly.get(reason) ?? 0) + 1);
          }),
          cfg.runs,
        );
      }
    } finally {
      await cache.close();
    }
    assert.ok(bothAccept > 40, `a meaningful share verifies (${bothAccept})`);
    console.log(`props-precheck: verifier vs jose: both accept ${bothAccept}, both reject ${bothReject}, ours-only refusals (documented extra checks) ${JSON.stringify(Object.fromEntries(oursOnly))}`);
  });
});

/** NumericDate as the verifier documents it (D6): a finite number in [0, 253402300799] (year 9999). */
const isNumericDate = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 253402300799;

/**
 * The documented extra check behind a refusal jose would not make, or undefined. Decided from
 * the error's code and claim and from the token itself, never from the message.
 */
function documentedExtra(e: JwksKeeperError, token: string, nowSec: number, toleranceSec: number): string | undefined {
  const [h, p] = token.split('.');
  const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  if (e instanceof TokenInvalidError) {
    if (e.code === 'CLAIM_INVALID' && (e.claim === 'exp' || e.claim === 'nbf' || e.claim === 'iat')) {
      let payload: Record<string, unknown> | undefined;
      try {
        payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
      } catch {
        payload = undefined;
      }
      const v = payload?.[e.claim];
      if (v !== undefined && !isNumericDate(v)) return `NumericDate range (${e.claim})`;
      if (e.claim === 'iat' && isNumericDate(v) && (v as number) > nowSec + toleranceSec) return 'iat in the future';
    }
    if (e.code === 'KID_INVALID') return 'kid pre-check';
    if (e.code === 'TOKEN_MALFORMED' && header.b64 !== undefined && header.b64 !== true) return 'b64 pre-check (D2: jose ignores b64 without crit)';
    if (['KID_NOT_FOUND', 'KID_REQUIRED', 'KEY_ALG_MISMATCH'].includes(e.code)) return `key lookup by kid/alg (${e.code}; jose was handed the key directly)`;
    if (e.code === 'ALG_NOT_ALLOWED') return 'alg pre-check';
    if (e.code === 'TOKEN_MALFORMED' && typeof header.alg === 'string' && !(SUPPORTED_ALGS as readonly string[]).includes(header.alg as SupportedAlg)) return 'alg pre-check';
    return undefined;
  }
  if (e.code === 'UNKNOWN_KID_WAIT_TIMEOUT' || e.code === 'UNKNOWN_KID_CAPACITY') return `key lookup by kid (${e.code})`;
  return undefined;
}
