/**
 * Property tests (fast-check, seeded) over the pure policies the cache is built from:
 * JWKS validation, cache-header and Retry-After parsing, freshness clamping, backoff,
 * usability, the refresh token bucket and the unknown-kid waiting room.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { KeysUnavailableError } from '../../src/errors.js';
import { freshnessFromHeaders, MAX_HEADER_DURATION_MS, parseRetryAfter } from '../../src/fetch/cache-headers.js';
import { validateJwks } from '../../src/jwks/validate.js';
import { backoffDelayMs, bucketInit, bucketReadyAt, bucketTake, effectiveFreshnessMs, usability, type BucketState } from '../../src/policy/refresh.js';
import { WaitingRoom, type Waiter } from '../../src/policy/waiting-room.js';
import { Summary } from './harness.js';

const summary = new Summary('props-policies.test.ts');
after(() => summary.print());
const SEED = { seed: 42 } as const;
let properties = 0;
let runs = 0;
function check<T>(prop: fc.IProperty<T> | fc.IAsyncProperty<T>, numRuns: number): void {
  properties++;
  runs += numRuns;
  fc.assert(prop as fc.IProperty<T>, { ...SEED, numRuns });
}
after(() => console.log(`props-policies: ${properties} properties, ${runs} generated cases (seed 42)`));

// ---------------------------------------------------------------------------------------------
// validateJwks
// ---------------------------------------------------------------------------------------------

type Jwk = Record<string, unknown>;
const pub = (kp: { publicKey: import('node:crypto').KeyObject }): Jwk => kp.publicKey.export({ format: 'jwk' }) as Jwk;
const BASES: Jwk[] = [
  pub(generateKeyPairSync('rsa', { modulusLength: 2048 })),
  pub(generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  pub(generateKeyPairSync('ec', { namedCurve: 'P-384' })),
  pub(generateKeyPairSync('ed25519')),
  pub(generateKeyPairSync('ec', { namedCurve: 'secp256k1' })),
];
const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const PUBLIC_MEMBERS = new Set(['kty', 'kid', 'alg', 'use', 'n', 'e', 'crv', 'x', 'y']);
const MEMBER_NAMES = ['kty', 'kid', 'alg', 'use', 'key_ops', 'n', 'e', 'crv', 'x', 'y', 'x5c', 'issuer', '__proto__', 'constructor', 'toString', ...PRIVATE];
const jsonLeaf = fc.oneof(
  fc.constantFrom('RSA', 'EC', 'OKP', 'oct', 'sig', 'enc', 'RS256', 'ES256', 'EdDSA', 'HS256', 'none', 'P-256', 'Ed25519', 'AQAB', '', '__proto__'),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const jsonValue = fc.oneof(jsonLeaf, fc.array(jsonLeaf, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), jsonLeaf, { maxKeys: 3 }));

/** A JSON object text with arbitrary member names (including __proto__), so JSON.parse makes own properties. */
const objectText = (pairs: [string, unknown][]): string => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`;

/** An entry: a real public key, mutated (members deleted, overwritten, added). */
const mutatedKey = fc
  .tuple(
    fc.constantFrom(...BASES),
    fc.array(fc.tuple(fc.constantFrom(...MEMBER_NAMES), fc.option(jsonValue, { nil: undefined })), { maxLength: 4 }),
    fc.option(fc.oneof(fc.string({ maxLength: 12 }), fc.constant('k'.repeat(300))), { nil: undefined }),
  )
  .map(([base, edits, kid]) => {
    const pairs = new Map<string, unknown>(Object.entries(base));
    if (kid !== undefined) pairs.set('kid', kid);
    for (const [name, value] of edits) {
      if (value === undefined) pairs.delete(name);
      else pairs.set(name, value);
    }
    return objectText([...pairs]);
  });
const randomEntry = fc.array(fc.tuple(fc.constantFrom(...MEMBER_NAMES), jsonValue), { maxLength: 6 }).map((pairs) => objectText(pairs));
const cleanKey = fc.tuple(fc.constantFrom(...BASES), fc.string({ minLength: 1, maxLength: 8 })).map(([b, kid]) => JSON.stringify({ ...b, kid }));
const entryText = fc.oneof({ weight: 2, arbitrary: cleanKey }, { weight: 3, arbitrary: mutatedKey }, { weight: 1, arbitrary: randomEntry }, { weight: 1, arbitrary: jsonValue.map((v) => JSON.stringify(v) ?? 'null') });
const docText = fc.oneof(
  { weight: 4, arbitrary: fc.array(entryText, { maxLength: 6 }).map((es) => `{"keys":[${es.join(',')}]}`) },
  { weight: 1, arbitrary: jsonValue.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.array(entryText, { maxLength: 3 }).map((es) => `{"__proto__":{"keys":[${es.join(',')}]},"Keys":[]}`) },
);

describe('validateJwks', () => {
  test('random JSON documents: only KeysUnavailableError is ever thrown; accepted keys never carry private or unknown members; any private member refuses the document', () => {
    summary.case();
    const seen: Record<string, number> = { accepted: 0 };
    check(
      fc.property(docText, (text) => {
        const doc: unknown = JSON.parse(text);
        const entries = doc !== null && typeof doc === 'object' && Object.hasOwn(doc, 'keys') && Array.isArray((doc as { keys: unknown }).keys) ? ((doc as { keys: unknown[] }).keys as unknown[]) : undefined;
        const leaks = entries?.some((e) => e !== null && typeof e === 'object' && PRIVATE.some((m) => Object.hasOwn(e, m))) ?? false;
        let result;
        try {
          result = validateJwks(doc);
        } catch (err) {
          assert.ok(err instanceof KeysUnavailableError, `threw ${String(err)}`);
          // exactly one code is right: no keys array → MALFORMED; a private member → PRIVATE_KEY; else nothing usable
          assert.equal(err.code, entries === undefined ? 'JWKS_MALFORMED' : leaks ? 'JWKS_PRIVATE_KEY' : 'JWKS_NO_USABLE_KEYS');
          seen[err.code] = (seen[err.code] ?? 0) + 1;
          return;
        }
        assert.equal(leaks, false, 'a document with a private member was accepted');
        assert.ok(result.keys.length >= 1);
        for (const k of result.keys) {
          for (const m of Object.keys(k.jwk)) assert.ok(PUBLIC_MEMBERS.has(m), `member ${m} in an accepted key`);
          for (const m of PRIVATE) assert.equal(Object.hasOwn(k.jwk, m), false);
          assert.equal(k.keyObject.type, 'public');
          assert.ok(k.algorithms.length >= 1);
          assert.ok(k.kid === undefined || (k.kid.length >= 1 && k.kid.length <= 256));
        }
        assert.equal(({} as Record<string, unknown>).keys, undefined, 'no prototype pollution');
        seen.accepted!++;
      }),
      1_000,
    );
    console.log(`validateJwks property outcomes: ${JSON.stringify(seen)}`);
    for (const k of ['accepted', 'JWKS_PRIVATE_KEY', 'JWKS_MALFORMED', 'JWKS_NO_USABLE_KEYS']) assert.ok((seen[k] ?? 0) >= 20, `outcome ${k} exercised ${seen[k] ?? 0} times`);
  });
});

// ---------------------------------------------------------------------------------------------
// Cache headers and Retry-After
// ---------------------------------------------------------------------------------------------

const httpDate = fc.integer({ min: -1e12, max: 4e12 }).map((ms) => new Date(ms).toUTCString());
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.bigInt({ min: 0n, max: 10n ** 40n }).map((n) => String(n)),
  fc.integer({ min: -1e6, max: 1e12 }).map((n) => String(n)),
  fc.double().map((n) => String(n)),
  httpDate,
  fc.tuple(fc.constantFrom('max-age', 'MAX-AGE', 's-maxage', 'no-cache', 'no-store', 'private', 'must-revalidate', 'max-age'), fc.oneof(fc.string({ maxLength: 25 }), fc.nat().map(String))).map(([d, v]) => `${d}=${v}`),
  fc.array(fc.constantFrom('max-age=60', 'no-cache', 'max-age="30"', 'max-age=-1', 'max-age=99999999999999999999', ' , ', 'x="a,b"'), { maxLength: 4 }).map((xs) => xs.join(', ')),
);
const maybeHeader = fc.option(headerValue, { nil: null });
const sane = (v: number | undefined): void => {
  if (v === undefined) return;
  assert.ok(Number.isFinite(v), `got ${v}`);
  assert.ok(v >= 0 && v <= MAX_HEADER_DURATION_MS, `got ${v}`);
};

describe('cache headers', () => {
  test('freshnessFromHeaders: undefined or a finite duration in [0, 10 years], never NaN/negative/Infinity', () => {
    summary.case();
    check(
      fc.property(maybeHeader, maybeHeader, maybeHeader, maybeHeader, fc.integer({ min: 0, max: 2 ** 43 }), (cacheControl, expires, date, age, now) => {
        sane(freshnessFromHeaders({ cacheControl, expires, date, age }, now));
      }),
      2_000,
    );
  });

  test('freshnessFromHeaders and parseRetryAfter stay sane even with a broken wall clock (NaN, ±Infinity, negative)', () => {
    summary.case();
    check(
      fc.property(maybeHeader, maybeHeader, maybeHeader, fc.double(), (cacheControl, expires, ra, now) => {
        sane(freshnessFromHeaders({ cacheControl, expires, date: null, age: null }, now));
        sane(parseRetryAfter(ra, now));
      }),
      1_000,
    );
  });

  test('parseRetryAfter: undefined or a finite, non-negative delay; delta-seconds are exact up to the cap', () => {
    summary.case();
    check(
      fc.property(maybeHeader, fc.integer({ min: 0, max: 2 ** 43 }), (value, now) => {
        const v = parseRetryAfter(value, now);
        sane(v);
        if (value !== null && /^\s*\d{1,9}\s*$/.test(value)) assert.equal(v, Number(value.trim()) * 1000);
      }),
      2_000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Refresh policies
// ---------------------------------------------------------------------------------------------

const freshnessCfg = fc
  .tuple(fc.nat({ max: 10_000_000 }), fc.nat({ max: 10_000_000 }), fc.nat({ max: 20_000_000 }))
  .map(([a, b, d]) => ({ minRefreshIntervalMs: Math.min(a, b), maxRefreshIntervalMs: Math.max(a, b, 1), defaultRefreshIntervalMs: d }));
const backoffCfg = fc
  .tuple(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 10_000_000 }), fc.nat({ max: 10_000_000 }))
  .map(([initialMs, m, maxRetryAfterMs]) => ({ initialMs, maxMs: Math.max(initialMs, m), maxRetryAfterMs }));
const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe('refresh policies', () => {
  test('effectiveFreshnessMs: always within [min, max], finite, whatever the header says (NaN, ±Infinity, negative, undefined)', () => {
    summary.case();
    check(
      fc.property(fc.option(fc.double(), { nil: undefined }), freshnessCfg, (h, cfg) => {
        const v = effectiveFreshnessMs(h, cfg);
        assert.ok(Number.isFinite(v));
        assert.ok(v >= cfg.minRefreshIntervalMs && v <= cfg.maxRefreshIntervalMs, `${v} outside [${cfg.minRefreshIntervalMs}, ${cfg.maxRefreshIntervalMs}]`);
      }),
      2_000,
    );
  });

  test('backoffDelayMs: finite, within [initial/2, max] without Retry-After, monotone non-decreasing in failures for a fixed jitter', () => {
    summary.case();
    check(
      fc.property(fc.integer({ min: 1, max: 2_000 }), fc.integer({ min: 0, max: 2_000 }), backoffCfg, unit, (f, extra, cfg, r) => {
        const a = backoffDelayMs(f, cfg, r);
        const b = backoffDelayMs(f + extra, cfg, r);
        for (const v of [a, b]) {
          assert.ok(Number.isFinite(v));
          assert.ok(v >= cfg.initialMs / 2 && v <= cfg.maxMs, `${v} outside [${cfg.initialMs / 2}, ${cfg.maxMs}]`);
        }
        assert.ok(b >= a, `delay(${f + extra})=${b} < delay(${f})=${a}`);
      }),
      2_000,
    );
  });

  test('backoffDelayMs: a Retry-After is honoured up to maxRetryAfterMs and never exceeded beyond it', () => {
    summary.case();
    check(
      fc.property(fc.integer({ min: 1, max: 100 }), backoffCfg, unit, fc.oneof(fc.nat({ max: 1e9 }), fc.constant(MAX_HEADER_DURATION_MS)), (f, cfg, r, ra) => {
        const v = backoffDelayMs(f, cfg, r, ra);
        assert.ok(Number.isFinite(v));
        assert.ok(v >= Math.min(ra, cfg.maxRetryAfterMs), 'Retry-After honoured');
        assert.ok(v <= Math.max(cfg.maxMs, cfg.maxRetryAfterMs), 'capped');
      }),
      2_000,
    );
  });

  test('usability: fresh exactly until freshUntil, then stale for maxStale, then expired; never goes back as time advances', () => {
    summary.case();
    const rank = { fresh: 0, stale: 1, expired: 2 } as const;
    check(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.nat({ max: 1e9 }), fc.integer({ min: -1e12, max: 1e12 }), fc.nat({ max: 1e9 }), (freshUntil, maxStale, now, dt) => {
        const u1 = usability(now, freshUntil, maxStale);
        const u2 = usability(now + dt, freshUntil, maxStale);
        assert.equal(u1 === 'fresh', now <= freshUntil);
        assert.equal(u1 === 'expired', now - freshUntil > maxStale);
        assert.ok(rank[u2] >= rank[u1]);
      }),
      2_000,
    );
  });

  test('token bucket: never more than burst tokens, never negative, readyAt ≥ now, takes over any window ≤ burst + elapsed/cooldown', () => {
    summary.case();
    const op = fc.record({ dt: fc.oneof(fc.nat({ max: 50_000 }), fc.constant(0), fc.integer({ min: -1_000, max: -1 })), take: fc.boolean() });
    check(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 60_000 }), fc.array(op, { maxLength: 200 }), (burst, cooldownMs, ops) => {
        const cfg = { burst, cooldownMs };
        const t0 = 1_000_000;
        let now = t0;
        let maxNow = t0;
        let s: BucketState = bucketInit(now, cfg);
        let takes = 0;
        for (const o of ops) {
          now += o.dt; // a negative dt probes robustness; the cache's clock is monotonic
          maxNow = Math.max(maxNow, now);
          const ready = bucketReadyAt(s, now, cfg);
          assert.ok(Number.isFinite(ready) && ready >= now, `readyAt ${ready} < now ${now}`);
          if (o.take && ready <= now) {
            s = bucketTake(s, now, cfg);
            takes++;
          }
          assert.ok(s.tokens <= burst + 1e-9 && s.tokens >= 0, `tokens ${s.tokens}`);
        }
        assert.ok(takes <= burst + (maxNow - t0) / cooldownMs + 1e-6, `${takes} takes in ${maxNow - t0} ms (burst ${burst}, cooldown ${cooldownMs})`);
      }),
      1_000,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// WaitingRoom, against a model
// ---------------------------------------------------------------------------------------------

type Op = { t: 'admit'; kid: string; client: string | undefined; freq: number } | { t: 'sweep'; mask: number } | { t: 'drain' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('admit' as const), kid: fc.constantFrom(...Array.from({ length: 14 }, (_, i) => `k${i}`)), client: fc.constantFrom('a', 'b', 'c', undefined), freq: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('sweep' as const), mask: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'drain' as const }) },
);

describe('WaitingRoom', () => {
  test('size ≤ max, per-client ≤ cap, gauges exact; when full, a kid more frequent than every sampled group is always admitted and a less frequent one never displaces', () => {
    summary.case();
    let fullAdmissionsChecked = 0;
    check(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.array(opArb, { maxLength: 150 }), (max, cap, ops) => {
        const room = new WaitingRoom<number>(max, cap);
        const ids = new WeakMap<object, number>();
        // model: kid -> { ids, frequency }, in the room's recency order
        const model = new Map<string, { ids: number[]; frequency: number }>();
        const clientOf = new Map<number, string | undefined>();
        const perClient = () => {
          const m = new Map<string, number>();
          for (const g of model.values()) for (const id of g.ids) {
            const c = clientOf.get(id);
            if (c !== undefined) m.set(c, (m.get(c) ?? 0) + 1);
          }
          return m;
        };
        const size = () => [...model.values()].reduce((a, g) => a + g.ids.length, 0);
        let next = 0;
        for (const op of ops) {
          if (op.t === 'admit') {
            const id = next++;
            clientOf.set(id, op.client);
            const w: Waiter<number> = { kid: op.kid, clientId: op.client, arrivedAt: 0, deadline: 0, needsNewFetch: false, resolve: () => {}, reject: () => {} };
            ids.set(w, id);
            const full = size() >= max;
            const clientFull = op.client !== undefined && (perClient().get(op.client) ?? 0) >= cap;
            const sampled = [...model.entries()].slice(0, 8).filter(([k]) => k !== op.kid);
            const a = room.admit(w, op.freq);
            if (clientFull) {
              assert.deepEqual(a, { admitted: false, reason: 'client-capacity' });
              continue;
            }
            if (full) {
              if (max > 0 && sampled.length > 0 && sampled.every(([, g]) => op.freq > g.frequency)) {
                fullAdmissionsChecked++;
                assert.equal(a.admitted, true, 'a strictly more frequent kid is admitted when full');
              }
              if (sampled.every(([, g]) => g.frequency > op.freq)) assert.equal(a.admitted, false, 'a less frequent kid never displaces');
              if (!a.admitted) {
                assert.equal(a.reason, 'capacity');
                continue;
              }
              // model the eviction: the least frequent sampled group (first on ties) loses its oldest waiter
              let victim: [string, { ids: number[]; frequency: number }] | undefined;
              for (const e of sampled) if (e[1].frequency <= op.freq && (victim === undefined || e[1].frequency < victim[1].frequency)) victim = e;
              assert.ok(victim, 'admitted when full only by displacing someone');
              assert.ok(a.evicted, 'the displaced waiter is returned');
              assert.equal(ids.get(a.evicted), victim[1].ids[0]);
              victim[1].ids.shift();
              if (victim[1].ids.length === 0) model.delete(victim[0]);
            } else {
              assert.deepEqual(a, { admitted: true, evicted: undefined });
            }
            const g = model.get(op.kid);
            model.delete(op.kid);
            model.set(op.kid, { ids: [...(g?.ids ?? []), id], frequency: op.freq });
          } else if (op.t === 'sweep') {
            room.sweep((_kid, w) => ((op.mask >> (ids.get(w)! % 30)) & 1) === 1);
            for (const [k, g] of [...model]) {
              g.ids = g.ids.filter((id) => ((op.mask >> (id % 30)) & 1) !== 1);
              if (g.ids.length === 0) model.delete(k);
            }
          } else {
            const drained = room.drain().map((w) => ids.get(w));
            assert.equal(drained.length, size());
            model.clear();
          }
          // invariants
          assert.equal(room.size, size());
          assert.ok(room.size <= max, `size ${room.size} > max ${max}`);
          assert.equal(room.kidCount, model.size);
          const pc = perClient();
          assert.equal(room.clientCount, pc.size);
          for (const n of pc.values()) assert.ok(n <= cap, `a client holds ${n} > ${cap}`);
        }
      }),
      1_500,
    );
    assert.ok(fullAdmissionsChecked > 50, `the "more frequent kid admitted when full" case was exercised ${fullAdmissionsChecked} times`);
  });
});
