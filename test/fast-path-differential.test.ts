/**
 * The Node fast path (node:crypto signature + jose's claim rules) must decide exactly like
 * jose's own `jwtVerify` path: every token of a hand-made corpus, of the hostile-token
 * generator when present, and of a seeded property-based corpus goes through both verifiers
 * and must get the same outcome and the same error code.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { createJwksCache, createVerifier, type Verifier, type JwksCache } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';
import { FakeIdp } from './helpers/fake-idp.js';
import { AUD, ISS, makeKey, signRaw, type SigningKey, type TestAlg } from './helpers/keys.js';
import { hostileTokens, tokenCorpus } from './helpers/hostile-tokens.js';

const ALGS: TestAlg[] = ['RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const clock = new ManualClock(Date.UTC(2026, 10, 28));
const NOW = Math.floor(clock.wallNow() / 1000);
const signers: SigningKey[] = ALGS.map((a) => makeKey(`k-${a}`, a, { fresh: false }));
let idp: FakeIdp;
let keys: JwksCache;
interface Pair {
  name: string;
  fast: Verifier;
  jose: Verifier;
}
const pairs: Pair[] = [];
let compared = 0;

function pair(name: string, extra: Record<string, unknown>): Pair {
  const base = { issuer: ISS, audience: [AUD, 'api://other'], keys, clock, ...extra };
  return { name, fast: createVerifier({ ...base, fastPath: true }), jose: createVerifier({ ...base, fastPath: false }) };
}

async function outcome(v: Verifier, token: string): Promise<string> {
  try {
    const r = await v.verify(token);
    return `ok:${createHash('sha256').update(JSON.stringify([r.payload, r.protectedHeader])).digest('hex').slice(0, 8)}`;
  } catch (e) {
    return `err:${(e as { code?: string }).code ?? String(e)}`;
  }
}

async function same(token: string, label: string): Promise<void> {
  for (const p of pairs) {
    const [a, b] = await Promise.all([outcome(p.fast, token), outcome(p.jose, token)]);
    compared++;
    assert.equal(a, b, `${label} [${p.name}]: fast ${a} vs jose ${b}\n${token.slice(0, 200)}`);
  }
}

async function sign(key: SigningKey, payload: Record<string, unknown> | string, header: Record<string, unknown> = {}): Promise<string> {
  return signRaw(key, header, typeof payload === 'string' ? payload : JSON.stringify(payload));
}

before(async () => {
  idp = new FakeIdp(...signers);
  keys = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, clock, scheduler: clock });
  await keys.ready();
  pairs.push(pair('default', {}));
  pairs.push(pair('typ at+jwt', { typ: 'at+jwt' }));
  pairs.push(pair('maxTokenAge 300', { maxTokenAgeSec: 300 }));
  pairs.push(pair('requireExp false + sub required', { requireExp: false, requiredClaims: ['sub'] }));
  pairs.push(pair('tolerance 0', { clockToleranceSec: 0 }));
});

after(async () => {
  console.log(`fast-path differential: ${compared} comparisons, 0 differences`);
  await keys.close();
});

describe('fast path vs jose path', () => {
  test('hand-made corpus: claims, headers and signatures', async () => {
    const good = { iss: ISS, aud: AUD, sub: 's', iat: NOW, exp: NOW + 600 };
    const claimCases: Record<string, unknown>[] = [
      good,
      { ...good, exp: NOW - 1 },
      { ...good, exp: NOW - 29 },
      { ...good, exp: NOW - 30 },
      { ...good, exp: NOW - 31 },
      { ...good, exp: NOW },
      { ...good, exp: '9999999999' },
      { ...good, exp: null },
      { ...good, exp: 1e308 },
      { ...good, exp: -1 },
      { ...good, exp: 253402300800 },
      { ...good, exp: undefined },
      { ...good, nbf: NOW + 29 },
      { ...good, nbf: NOW + 31 },
      { ...good, nbf: 'soon' },
      { ...good, iat: NOW + 31 },
      { ...good, iat: NOW + 10 },
      { ...good, iat: NOW - 301 },
      { ...good, iat: NOW - 400 },
      { ...good, iat: undefined },
      { ...good, iat: 'x' },
      { ...good, iss: 'https://idp.test' },
      { ...good, iss: undefined },
      { ...good, iss: [ISS] },
      { ...good, aud: [AUD] },
      { ...good, aud: ['x', 'api://other'] },
      { ...good, aud: [] },
      { ...good, aud: 'x' },
      { ...good, aud: undefined },
      { ...good, aud: { a: AUD } },
      { ...good, aud: [1, AUD] },
      { ...good, sub: undefined },
      { ...good, __proto__: { admin: true } },
      JSON.parse(`{"iss":"${ISS}","aud":"${AUD}","exp":${NOW + 60},"constructor":{"prototype":{"x":1}}}`) as Record<string, unknown>,
    ];
    const headers: Record<string, unknown>[] = [{}, { typ: 'JWT' }, { typ: 'at+jwt' }, { typ: 'application/at+jwt' }, { typ: 'AT+JWT' }, { typ: 5 }, { cty: 'JWT' }, { jku: 'http://127.0.0.1:1/x' }];
    for (const key of signers) {
      for (const c of claimCases) for (const h of headers.slice(0, key.alg === 'RS256' ? headers.length : 2)) await same(await sign(key, c, h), `${key.alg} ${JSON.stringify(c)} ${JSON.stringify(h)}`);
      const t = await sign(key, good);
      const [hh, pp, ss] = t.split('.') as [string, string, string];
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
      const variants = [
        `${hh}.${pp}.${flip(ss, 5)}`,
        `${hh}.${pp}.${ss.slice(0, -4)}`,
        `${hh}.${pp}.${ss}AAAA`,
        `${hh}.${pp}.${ss.slice(0, -1)}`,
        `${hh}.${flip(pp, 3)}.${ss}`,
        `${hh}.${pp}x.${ss}`,
        `${hh}.${pp}.${'A'.repeat(ss.length)}`,
        `${hh}.${pp}.A`,
        `${hh}.${Buffer.from('[1,2]').toString('base64url')}.${ss}`,
        `${hh}.${Buffer.from('not json').toString('base64url')}.${ss}`,
      ];
      for (const v of variants) await same(v, `${key.alg} mutated`);
    }
    // raw JSON texts JSON.stringify cannot produce
    for (const text of [
      `{"iss":"${ISS}","aud":"${AUD}","exp":1e309}`,
      `{"iss":"${ISS}","aud":"${AUD}","exp":-1e309}`,
      `{"iss":"${ISS}","aud":"${AUD}","exp":${NOW + 60},"iat":1e309}`,
      `{"iss":"${ISS}","iss":"https://evil/","aud":"${AUD}","exp":${NOW + 60}}`,
      `{"iss":"https://evil/","iss":"${ISS}","aud":"${AUD}","exp":${NOW + 60}}`,
      `{"__proto__":{"iss":"${ISS}"},"aud":"${AUD}","exp":${NOW + 60}}`,
      `[]`,
      `"str"`,
      `{"iss":"${ISS}","aud":"${AUD}","exp":${NOW + 60}`,
    ]) {
      await same(await sign(signers[0]!, text), `raw ${text}`);
      await same(await sign(signers[2]!, text), `raw ${text}`);
    }
    // non-plain headers go through jose on both sides
    const rs = signers[0]!;
    await same(await sign(rs, good, { crit: ['exp'], exp: 1 }), 'crit');
    await same(await sign(rs, good, { b64: true }), 'b64 true');
  });

  test('property-based corpus (seeded): random claim sets and mutations', async () => {
    const claimValue = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: NOW - 1000, max: NOW + 1000 }),
      fc.double({ noNaN: true }),
      fc.string({ maxLength: 5 }),
      fc.constant(null),
      fc.boolean(),
      fc.array(fc.integer(), { maxLength: 2 }),
    );
    const claims = fc.record({
      iss: fc.oneof(fc.constant(ISS), fc.constant(undefined), fc.string({ maxLength: 4 })),
      aud: fc.oneof(fc.constant(AUD), fc.constant([AUD, 'z']), fc.constant(undefined), fc.string({ maxLength: 4 }), fc.constant(['api://other'])),
      exp: claimValue,
      nbf: claimValue,
      iat: claimValue,
      sub: fc.oneof(fc.constant(undefined), fc.string({ maxLength: 4 })),
    });
    const header = fc.record({ typ: fc.oneof(fc.constant(undefined), fc.constantFrom('JWT', 'at+jwt', 'application/at+jwt', 'x')) });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: signers.length - 1 }), claims, header, fc.nat({ max: 3 }), fc.nat(), async (ki, c, h, mutation, pos) => {
        const key = signers[ki]!;
        const clean = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
        const hdr = Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined));
        let t = await sign(key, clean, hdr);
        if (mutation === 1) {
          const i = pos % t.length;
          if (t[i] !== '.') t = t.slice(0, i) + (t[i] === 'a' ? 'b' : 'a') + t.slice(i + 1);
        } else if (mutation === 2) {
          t = t.slice(0, t.length - (pos % 8));
        }
        await same(t, `property ${key.alg}`);
      }),
      { seed: 42, numRuns: 400 },
    );
  });
});

test('the protected header returned is the caller\'s own: mutating it changes nothing for the next token with the same header', async () => {
  const key = signers[0]!;
  const p = pairs[0]!;
  const t1 = await sign(key, { iss: ISS, aud: AUD, exp: NOW + 600, n: 1 }, { typ: 'JWT' });
  const t2 = await sign(key, { iss: ISS, aud: AUD, exp: NOW + 600, n: 2 }, { typ: 'JWT' });
  assert.equal(t1.split('.')[0], t2.split('.')[0]);
  const r1 = await p.fast.verify(t1);
  const h1 = r1.protectedHeader as Record<string, unknown>;
  h1.alg = 'none';
  h1.crit = ['b64'];
  const r2 = await p.fast.verify(t2);
  assert.notEqual(r2.protectedHeader, r1.protectedHeader);
  assert.equal(r2.protectedHeader.alg, key.alg);
  assert.equal(r2.protectedHeader.crit, undefined);
  assert.equal(r2.payload.n, 2);
});

test('hostile-token generator and a seeded property corpus: fast path and jose give identical results and codes', async () => {
  // each path gets its own cache, so unknown-kid budgets and negative caches evolve identically
  // on both sides; maxWaitMs 0 so a spent budget answers at once (the clock never advances)
  const cacheOptions = { jwksUri: 'https://idp.test/jwks', clock, scheduler: clock, unknownKid: { burst: 100, cooldownMs: 600_000, maxWaitMs: 0 } };
  const idpH = new FakeIdp(...signers);
  const cacheFast = createJwksCache({ ...cacheOptions, fetch: idpH.fetch });
  const cacheJose = createJwksCache({ ...cacheOptions, fetch: idpH.fetch });
  try {
    await Promise.all([cacheFast.ready(), cacheJose.ready()]);
    const configs: Record<string, unknown>[] = [{}, { typ: 'at+jwt' }, { maxTokenAgeSec: 300, clockToleranceSec: 0 }];
    const verifiers = configs.map((extra) => {
      const base = { issuer: ISS, audience: [AUD, 'api://other'], clock, ...extra };
      return { fast: createVerifier({ ...base, keys: cacheFast, fastPath: true }), jose: createVerifier({ ...base, keys: cacheJose, fastPath: false }) };
    });
    const byAlg = (alg: TestAlg) => signers.find((s) => s.alg === alg)!;
    const hostile = hostileTokens({ rsa: byAlg('RS256'), ec: byAlg('ES256'), ed: byAlg('EdDSA') }, NOW, { iss: ISS, aud: AUD, loopbackUrl: 'http://127.0.0.1:9' });
    const corpus = tokenCorpus(signers, NOW, ISS, AUD, 300, 42);
    const tokens = [...hostile.map((c) => ({ label: c.id, token: c.token })), ...corpus.map((g, i) => ({ label: `property #${i} ${g.header} ${g.payload}`, token: g.token }))];
    let n = 0;
    let accepted = 0;
    for (const { label, token } of tokens) {
      for (const [i, v] of verifiers.entries()) {
        const [a, b] = await Promise.all([outcome(v.fast, token), outcome(v.jose, token)]);
        n++;
        if (a.startsWith('ok:')) accepted++;
        assert.equal(a, b, `${label} [config ${JSON.stringify(configs[i])}]: fast ${a} vs jose ${b}\n${token.slice(0, 200)}`);
      }
    }
    compared += n;
    console.log(`fast-path differential (hostile generator + property corpus): ${hostile.length} hostile + ${corpus.length} generated tokens × ${configs.length} configs = ${n} comparisons (${accepted} acceptances), 0 differences`);
  } finally {
    await cacheFast.close();
    await cacheJose.close();
  }
});
