import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { describe, it, mock } from 'node:test';
import fc from 'fast-check';
import { calculateJwkThumbprint } from 'jose';
import { ConfigError, KeysUnavailableError, type KeysUnavailableCode, type KeysUnavailableDetails } from '../src/errors.js';
import {
  DEFAULT_VALIDATE_OPTIONS,
  SUPPORTED_ALGS,
  validateJwks,
  type DropReason,
  type ValidateOptions,
} from '../src/jwks/validate.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: real keys generated once with node:crypto.
// ---------------------------------------------------------------------------------------------

type Jwk = Record<string, unknown>;

interface Pair {
  readonly pub: KeyObject;
  readonly priv: KeyObject;
  readonly jwk: Jwk;
}
function toPair({ publicKey, privateKey }: { publicKey: KeyObject; privateKey: KeyObject }): Pair {
  return { pub: publicKey, priv: privateKey, jwk: publicKey.export({ format: 'jwk' }) as Jwk };
}
const rsa = (modulusLength: number): Pair => toPair(generateKeyPairSync('rsa', { modulusLength }));
const ec = (namedCurve: string): Pair => toPair(generateKeyPairSync('ec', { namedCurve }));

const RSA = rsa(2048);
const RSA_B = rsa(2048);
const RSA_1024 = rsa(1024);
const P256 = ec('P-256');
const P384 = ec('P-384');
const P521 = ec('P-521');
const K256 = ec('secp256k1');
const ED = toPair(generateKeyPairSync('ed25519'));
const ED_B = toPair(generateKeyPairSync('ed25519'));
const ED448 = toPair(generateKeyPairSync('ed448'));
const X25519 = toPair(generateKeyPairSync('x25519'));

/** A good key placed first so that a set with one bad entry does not throw JWKS_NO_USABLE_KEYS. */
const ANCHOR: Jwk = { ...ED_B.jwk, kid: 'anchor' };

/** Validates `{ keys: [ANCHOR, entry] }` and returns the drop record of `entry` (or undefined if accepted). */
function dropOf(entry: unknown, opts?: Partial<ValidateOptions>) {
  const res = validateJwks({ keys: [ANCHOR, entry] }, opts);
  assert.equal(res.keys[0]?.kid, 'anchor');
  return res.dropped.find((d) => d.index === 1);
}

/**
 * Run `fn` with `node:crypto`'s `createPublicKey` spied on (through the builtin's live ESM
 * bindings); returns what `fn` returned and each import attempt's outcome. "Refused before
 * import" is then zero attempts, "rejected by node:crypto" an attempt that threw: structural
 * facts instead of timings or phrases in a `detail`.
 */
function withImportSpy<T>(fn: () => T): { result: T; imports: { threw: boolean }[] } {
  const crypto = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  const spy = mock.method(crypto, 'createPublicKey');
  syncBuiltinESMExports();
  try {
    const result = fn();
    return { result, imports: spy.mock.calls.map((c) => ({ threw: c.error !== undefined })) };
  } finally {
    spy.mock.restore();
    syncBuiltinESMExports();
  }
}

function reasonOf(entry: unknown, opts?: Partial<ValidateOptions>): DropReason | 'accepted' {
  return dropOf(entry, opts)?.reason ?? 'accepted';
}

function assertCode(fn: () => unknown, code: KeysUnavailableCode, details?: KeysUnavailableDetails): KeysUnavailableError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KeysUnavailableError, `expected KeysUnavailableError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (details) assert.deepEqual(caught.details, details);
  return caught;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const fromB64u = (s: unknown): Buffer => Buffer.from(s as string, 'base64url');
/** Field primes of the NIST curves (FIPS 186-4 D.1.2), to build the on-curve negated point (x, p - y). */
const FIELD_PRIME = {
  'P-256': 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n,
  'P-384': 2n ** 384n - 2n ** 128n - 2n ** 96n + 2n ** 32n - 1n,
  'P-521': 2n ** 521n - 1n,
} as const;
/** Flip the lowest bit of a base64url coordinate: the point leaves the curve. */
const flipLowBit = (s: unknown): string => {
  const b = fromB64u(s);
  b[b.length - 1] = (b[b.length - 1] as number) ^ 1;
  return b64u(b);
};

// ---------------------------------------------------------------------------------------------
// Accepted keys
// ---------------------------------------------------------------------------------------------

describe('validateJwks: accepted keys', () => {
  it('accepts RSA, EC P-256/384/521 and Ed25519 keys with the right algorithms and KeyObjects', () => {
    const input = [
      { ...RSA.jwk, kid: 'rsa', use: 'sig' },
      { ...P256.jwk, kid: 'p256' },
      { ...P384.jwk, kid: 'p384', key_ops: ['verify'] },
      { ...P521.jwk, kid: 'p521' },
      { ...ED.jwk, kid: 'ed' },
    ];
    const res = validateJwks({ keys: input });
    assert.deepEqual(res.dropped, []);
    assert.deepEqual(
      res.keys.map((k) => [k.kid, k.algorithms]),
      [
        ['rsa', ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']],
        ['p256', ['ES256']],
        ['p384', ['ES384']],
        ['p521', ['ES512']],
        ['ed', ['EdDSA', 'Ed25519']],
      ],
    );
    const originals = [RSA, P256, P384, P521, ED];
    res.keys.forEach((k, i) => {
      assert.equal(k.keyObject.type, 'public');
      assert.ok(k.keyObject.equals((originals[i] as { pub: KeyObject }).pub));
      assert.equal(k.issuer, undefined);
      assert.ok(Object.isFrozen(k) && Object.isFrozen(k.jwk) && Object.isFrozen(k.algorithms));
    });
    assert.ok(Object.isFrozen(res) && Object.isFrozen(res.keys) && Object.isFrozen(res.dropped));
  });

  it('pins algorithms to a present alg; EdDSA and Ed25519 are normalised to both names', () => {
    const res = validateJwks({
      keys: [
        { ...RSA.jwk, kid: 'a', alg: 'PS384' },
        { ...P256.jwk, kid: 'b', alg: 'ES256' },
        { ...ED.jwk, kid: 'c', alg: 'EdDSA' },
        { ...ED.jwk, kid: 'd', alg: 'Ed25519' },
      ],
    });
    assert.deepEqual(
      res.keys.map((k) => [k.kid, k.jwk.alg, k.algorithms]),
      [
        ['a', 'PS384', ['PS384']],
        ['b', 'ES256', ['ES256']],
        ['c', 'EdDSA', ['EdDSA', 'Ed25519']],
        ['d', 'Ed25519', ['EdDSA', 'Ed25519']],
      ],
    );
  });

  it('returns a fresh jwk with only public members, never the input object', () => {
    const input: Jwk = {
      ...RSA.jwk,
      kid: 'k1',
      alg: 'RS256',
      use: 'sig',
      key_ops: ['verify'],
      ext: true,
      x5t: 'abc',
      issuer: 'https://login.example.com/{tenantid}/v2.0',
      extra: { nested: 1 },
    };
    const res = validateJwks({ keys: [input] });
    const key = res.keys[0];
    assert.ok(key);
    assert.notEqual(key.jwk, input);
    assert.deepEqual(Object.keys(key.jwk).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.deepEqual({ ...key.jwk }, { kty: 'RSA', kid: 'k1', alg: 'RS256', use: 'sig', n: RSA.jwk.n, e: RSA.jwk.e });
    assert.equal(Object.getPrototypeOf(key.jwk), Object.prototype);
    assert.equal(key.issuer, 'https://login.example.com/{tenantid}/v2.0');
    // Mutating the input afterwards has no effect on the result.
    input.n = 'AQAB';
    assert.equal(key.jwk.n, RSA.jwk.n);

    const ec = validateJwks({ keys: [{ ...P384.jwk, ext: true }] }).keys[0];
    assert.deepEqual(Object.keys(ec?.jwk ?? {}).sort(), ['crv', 'kty', 'x', 'y']);
    const ed = validateJwks({ keys: [{ ...ED.jwk, issuer: 42 }] }).keys[0];
    assert.deepEqual(Object.keys(ed?.jwk ?? {}).sort(), ['crv', 'kty', 'x']);
    assert.equal(ed?.issuer, undefined);
    assert.equal(ed?.kid, undefined);
  });

  it('computes RFC 7638 thumbprints (RFC example vector, and equal to jose for every kty)', async () => {
    // RFC 7638 §3.1.
    const rfc = {
      kty: 'RSA',
      n:
        '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn6' +
        '4tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n9' +
        '1CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    assert.equal(validateJwks({ keys: [rfc] }).keys[0]?.thumbprint, 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');

    for (const k of [RSA, P256, P384, P521, ED]) {
      const v = validateJwks({ keys: [k.jwk] }).keys[0];
      assert.equal(v?.thumbprint, await calculateJwkThumbprint(k.jwk as Parameters<typeof calculateJwkThumbprint>[0], 'sha256'));
    }
  });

  it('canonicalises material: e "AAEAAQ" and a leading zero in n give the canonical jwk and the same thumbprint', () => {
    const padded = { ...RSA.jwk, e: 'AAEAAQ', n: b64u(Buffer.concat([Buffer.alloc(1), fromB64u(RSA.jwk.n)])) };
    const res = validateJwks({ keys: [{ ...RSA.jwk, kid: 'x' }, { ...padded, kid: 'x' }] });
    assert.equal(res.keys.length, 1);
    assert.equal(res.dropped[0]?.reason, 'duplicate');
    const alone = validateJwks({ keys: [padded] }).keys[0];
    assert.equal(alone?.jwk.e, 'AQAB');
    assert.equal(alone?.jwk.n, RSA.jwk.n);
  });

  it('accepts e = 3 and other odd exponents below 2^32', () => {
    assert.equal(reasonOf({ ...RSA.jwk, e: 'Aw' }), 'accepted');
    assert.equal(reasonOf({ ...RSA.jwk, e: b64u(Buffer.from([0xff, 0xff, 0xff, 0xff])) }), 'accepted');
  });

  it('accepts an entry with a null prototype and ignores inherited members', () => {
    const bare = Object.assign(Object.create(null) as object, ED.jwk);
    assert.equal(reasonOf(bare), 'accepted');
    // A polluted Object.prototype must not leak into validation (own members only).
    Object.defineProperty(Object.prototype, 'alg', { value: 'none', configurable: true, writable: true });
    Object.defineProperty(Object.prototype, 'use', { value: 'enc', configurable: true, writable: true });
    try {
      const res = validateJwks({ keys: [{ ...RSA.jwk }] });
      assert.equal(res.keys[0]?.algorithms.length, 6);
      assert.equal(Object.hasOwn(res.keys[0]?.jwk ?? {}, 'alg'), false);
    } finally {
      delete (Object.prototype as Record<string, unknown>).alg;
      delete (Object.prototype as Record<string, unknown>).use;
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Every drop reason
// ---------------------------------------------------------------------------------------------

describe('validateJwks: drop reasons', () => {
  it('not-an-object', () => {
    for (const e of [null, 1, 'x', true, [], [ED.jwk], new Date(0), new Map(), Buffer.from('{}')]) {
      assert.equal(reasonOf(e), 'not-an-object', String(e));
    }
    assert.equal(dropOf(null)?.kid, undefined);
  });

  it('kid-invalid: non-string, empty, too long; kid is sanitised in the drop record', () => {
    for (const kid of [5, null, '', true, ['a'], { a: 1 }, 'k'.repeat(257)]) {
      assert.equal(reasonOf({ ...ED.jwk, kid }), 'kid-invalid', JSON.stringify(kid)?.slice(0, 20));
    }
    assert.equal(reasonOf({ ...ED.jwk, kid: 'k'.repeat(256) }), 'accepted');
    assert.equal(reasonOf({ ...ED.jwk, kid: 'abcdefg' }, { maxKidLength: 6 }), 'kid-invalid');
    const d = dropOf({ ...ED.jwk, kid: `evil\n\u0000${'z'.repeat(300)}` });
    assert.equal(d?.reason, 'kid-invalid');
    assert.ok(d?.kid !== undefined && /^[\x20-\x7e]*…\(\d+\)$/.test(d.kid), d?.kid);
    // Sanitised on ordinary drops too.
    assert.equal(dropOf({ kty: 'oct', kid: 'a\u0007b' })?.kid, 'a?b');
  });

  it('unsupported-kty', () => {
    for (const kty of ['foo', 'rsa', 'ec', '', 5, null, undefined]) {
      const entry: Jwk = { ...RSA.jwk, kty };
      if (kty === undefined) delete entry.kty;
      assert.equal(reasonOf(entry), 'unsupported-kty', String(kty));
    }
  });

  it('symmetric-key (oct without k)', () => {
    assert.equal(reasonOf({ kty: 'oct', kid: 'h', alg: 'HS256', use: 'sig' }), 'symmetric-key');
  });

  it('unsupported-crv: secp256k1, Ed448, X25519, missing or wrong-type crv', () => {
    assert.equal(reasonOf(K256.jwk), 'unsupported-crv');
    assert.equal(reasonOf(ED448.jwk), 'unsupported-crv');
    assert.equal(reasonOf(X25519.jwk), 'unsupported-crv');
    assert.equal(reasonOf({ ...P256.jwk, crv: 'P-224' }), 'unsupported-crv');
    assert.equal(reasonOf({ ...P256.jwk, crv: 'Ed25519' }), 'unsupported-crv');
    assert.equal(reasonOf({ ...ED.jwk, crv: 'P-256' }), 'unsupported-crv');
    const noCrv: Jwk = { ...P256.jwk };
    delete noCrv.crv;
    assert.equal(reasonOf(noCrv), 'unsupported-crv');
    assert.equal(reasonOf({ ...P256.jwk, crv: 256 }), 'unsupported-crv');
  });

  it('use-not-sig', () => {
    for (const use of ['enc', 'SIG', '', null, 1]) assert.equal(reasonOf({ ...RSA.jwk, use }), 'use-not-sig', String(use));
    assert.equal(reasonOf({ ...RSA.jwk, use: 'sig' }), 'accepted');
  });

  it('key-ops-no-verify', () => {
    for (const key_ops of [['sign'], ['encrypt', 'wrapKey'], [], 'verify', null, { 0: 'verify' }]) {
      assert.equal(reasonOf({ ...P256.jwk, key_ops }), 'key-ops-no-verify', JSON.stringify(key_ops));
    }
    assert.equal(reasonOf({ ...P256.jwk, key_ops: ['sign', 'verify'] }), 'accepted');
  });

  it('alg-unsupported: RSA-OAEP, HS256, none, ES224, ES521, non-string', () => {
    for (const alg of ['RSA-OAEP', 'RSA1_5', 'HS256', 'none', 'ES224', 'ES521', 'rs256', '', 256, null]) {
      assert.equal(reasonOf({ ...RSA.jwk, alg }), 'alg-unsupported', String(alg));
    }
  });

  it('alg-mismatch: ES256 on RSA, ES384 on P-256, RS256 on EC, EdDSA on RSA, ES256 on Ed25519', () => {
    assert.equal(reasonOf({ ...RSA.jwk, alg: 'ES256' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...P256.jwk, alg: 'ES384' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...P521.jwk, alg: 'ES256' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...P384.jwk, alg: 'RS256' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...RSA.jwk, alg: 'EdDSA' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...RSA.jwk, alg: 'Ed25519' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...ED.jwk, alg: 'ES256' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...P256.jwk, alg: 'PS256' }), 'alg-mismatch');
  });

  it('rsa-too-small: a real 1024-bit key, and minRsaBits', () => {
    assert.equal(reasonOf(RSA_1024.jwk), 'rsa-too-small');
    assert.equal(reasonOf(RSA_1024.jwk, { minRsaBits: 1024 }), 'accepted');
    assert.equal(reasonOf(RSA.jwk, { minRsaBits: 3072, maxRsaBits: 4096 }), 'rsa-too-small');
    assert.equal(reasonOf({ ...RSA.jwk, n: 'DQ' }), 'rsa-too-small');
  });

  it('rsa-too-large: a 1 MB n is refused cheaply before import; maxRsaBits after import', () => {
    const huge = randomBytes(1 << 20);
    huge[huge.length - 1] = (huge[huge.length - 1] as number) | 1;
    huge[0] = (huge[0] as number) | 0x80;
    const n = b64u(huge);
    // cheaply: by the encoded-length pre-check, before any import (the ANCHOR is the one import)
    const { result: d, imports } = withImportSpy(() => dropOf({ ...RSA.jwk, n }));
    assert.equal(d?.reason, 'rsa-too-large');
    assert.equal(imports.length, 1, 'the 1 MB modulus never reached createPublicKey (only the anchor did)');
    // control: the spy sees an import (a valid 2048-bit key next to the anchor: two imports)
    assert.equal(withImportSpy(() => dropOf({ ...RSA.jwk, kid: 'ok' })).imports.length, 2);
    // 16385 bits: just over the default limit, still caught by the length pre-check.
    const over = randomBytes(2049);
    over[0] = 1;
    assert.equal(reasonOf({ ...RSA.jwk, n: b64u(over) }), 'rsa-too-large');
    // Passes the encoded-length pre-check (1024 bits fit 1016 + one byte), rejected by modulusLength.
    const { result: post, imports: postImports } = withImportSpy(() => dropOf(RSA_1024.jwk, { minRsaBits: 512, maxRsaBits: 1016 }));
    assert.equal(post?.reason, 'rsa-too-large');
    assert.deepEqual(postImports, [{ threw: false }, { threw: false }], 'imported (anchor, then the 1024-bit key), refused on its modulus length');
  });

  it('rsa-bad-exponent: e = 0, 1, 2, even, >= 2^32, absurdly long', () => {
    const cases: Record<string, string> = {
      zero: 'AA',
      one: 'AQ',
      two: 'Ag',
      even: b64u(Buffer.from([0x01, 0x00, 0x00])),
      'two^32+1': b64u(Buffer.from([0x01, 0x00, 0x00, 0x00, 0x01])),
      'two^64+1': b64u(Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 0, 0x01])),
      long: 'A'.repeat(40) + 'AQAB',
    };
    for (const [name, e] of Object.entries(cases)) assert.equal(reasonOf({ ...RSA.jwk, e }), 'rsa-bad-exponent', name);
  });

  it('invalid-key-material: missing/ill-typed/non-base64url members, even modulus, wrong sizes', () => {
    const without = (jwk: Jwk, m: string): Jwk => {
      const c = { ...jwk };
      delete c[m];
      return c;
    };
    const cases: Array<[string, unknown]> = [
      ['RSA without n', without(RSA.jwk, 'n')],
      ['RSA without e', without(RSA.jwk, 'e')],
      ['RSA n number', { ...RSA.jwk, n: 12345 }],
      ['RSA n standard base64', { ...RSA.jwk, n: fromB64u(RSA.jwk.n).toString('base64') }],
      ['RSA n padded', { ...RSA.jwk, n: `${RSA.jwk.n as string}=` }],
      ['RSA n empty', { ...RSA.jwk, n: '' }],
      ['RSA even modulus', { ...RSA.jwk, n: b64u(Buffer.from(fromB64u(RSA.jwk.n).map((b, i, a) => (i === a.length - 1 ? b & 0xfe : b)))) }],
      ['RSA kty with EC members', { ...P256.jwk, kty: 'RSA' }],
      ['EC without y', without(P256.jwk, 'y')],
      ['EC x array', { ...P256.jwk, x: [P256.jwk.x] }],
      ['EC x with space', { ...P256.jwk, x: ` ${P256.jwk.x as string}` }],
      ['EC P-384 crv with P-256 coordinates', { ...P256.jwk, crv: 'P-384' }],
      ['EC P-256 crv with P-521 coordinates', { ...P521.jwk, crv: 'P-256' }],
      ['EC truncated y', { ...P256.jwk, y: b64u(fromB64u(P256.jwk.y).subarray(0, 31)) }],
      ['Ed25519 31-byte x', { ...ED.jwk, x: b64u(fromB64u(ED.jwk.x).subarray(0, 31)) }],
      ['Ed25519 33-byte x', { ...ED.jwk, x: b64u(Buffer.concat([fromB64u(ED.jwk.x), Buffer.alloc(1)])) }],
      ['Ed25519 without x', without(ED.jwk, 'x')],
    ];
    for (const [name, entry] of cases) assert.equal(reasonOf(entry), 'invalid-key-material', name);
  });

  it('invalid-key-material: off-curve EC points and (0,0) are rejected at import by node:crypto (OpenSSL)', () => {
    for (const [name, k, size] of [
      ['P-256', P256, 32],
      ['P-384', P384, 48],
      ['P-521', P521, 66],
    ] as const) {
      const { result: offY, imports } = withImportSpy(() => dropOf({ ...k.jwk, y: flipLowBit(k.jwk.y) }));
      assert.equal(offY?.reason, 'invalid-key-material', `${name} y off curve`);
      assert.deepEqual(imports.at(-1), { threw: true }, `${name}: node:crypto rejected the off-curve point at import`);
      assert.equal(reasonOf({ ...k.jwk, x: flipLowBit(k.jwk.x) }), 'invalid-key-material', `${name} x off curve`);
      const zero = b64u(Buffer.alloc(size));
      assert.equal(reasonOf({ ...k.jwk, x: zero, y: zero }), 'invalid-key-material', `${name} (0,0)`);
      // Control: the negated point (x, p - y) IS on the curve and is accepted, so the rejections
      // above are about curve membership, not about the bytes having been edited.
      const negY = b64u(Buffer.from((FIELD_PRIME[name] - BigInt(`0x${fromB64u(k.jwk.y).toString('hex')}`)).toString(16).padStart(size * 2, '0'), 'hex'));
      assert.notEqual(negY, k.jwk.y);
      assert.equal(reasonOf({ ...k.jwk, y: negY }), 'accepted', `${name} (x, -y)`);
    }
  });

  it('x5c-invalid and x5c-mismatch', () => {
    for (const x5c of [[], 'MIIB', null, [5], ['***'], ['not base64!'], [b64u(randomBytes(30)).replace(/[A-Za-z0-9]/g, '-')]]) {
      assert.equal(reasonOf({ ...RSA.jwk, x5c }), 'x5c-invalid', JSON.stringify(x5c));
    }
    // Valid base64 but not a certificate.
    assert.equal(reasonOf({ ...RSA.jwk, x5c: [randomBytes(64).toString('base64')] }), 'x5c-invalid');
  });

  const haveOpenssl = spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0;
  /** Self-signed DER certificate (base64) for a private key, built with the openssl CLI. */
  function selfSigned(priv: KeyObject): string {
    const dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-x5c-'));
    try {
      writeFileSync(join(dir, 'key.pem'), priv.export({ type: 'pkcs8', format: 'pem' }));
      const r = spawnSync(
        'openssl',
        ['req', '-x509', '-new', '-key', 'key.pem', '-subj', '/CN=jwks-keeper-test', '-days', '2', '-outform', 'DER', '-out', 'cert.der'],
        { cwd: dir, encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return readFileSync(join(dir, 'cert.der')).toString('base64');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('x5c matching the JWK is accepted, a certificate for another key is x5c-mismatch', { skip: haveOpenssl ? false : 'openssl CLI not available' }, () => {
    const rsaCert = selfSigned(RSA.priv);
    const ecCert = selfSigned(P256.priv);
    const edCert = selfSigned(ED.priv);
    const res = validateJwks({
      keys: [
        { ...RSA.jwk, kid: 'r', x5c: [rsaCert] },
        { ...P256.jwk, kid: 'e', x5c: [ecCert, edCert] }, // only the first certificate is compared
        { ...ED.jwk, kid: 'd', x5c: [edCert] },
        { ...RSA_B.jwk, kid: 'wrong-rsa', x5c: [rsaCert] },
        { ...ED_B.jwk, kid: 'wrong-type', x5c: [rsaCert] },
        { ...P256.jwk, kid: 'bad-2nd', x5c: [ecCert, 'MIIB=*'] },
      ],
    });
    assert.deepEqual(res.keys.map((k) => k.kid), ['r', 'e', 'd']);
    assert.deepEqual(
      res.dropped.map((d) => [d.kid, d.reason]),
      [
        ['wrong-rsa', 'x5c-mismatch'],
        ['wrong-type', 'x5c-mismatch'],
        ['bad-2nd', 'x5c-invalid'],
      ],
    );
    // The certificate is not trusted for anything: the jwk carries no x5c, the key is the JWK's.
    assert.equal(Object.hasOwn(res.keys[0]?.jwk ?? {}, 'x5c'), false);
    // base64url (instead of base64) encoding of a certificate is refused.
    const urlCert = Buffer.from(rsaCert, 'base64').toString('base64url');
    if (/[-_]/.test(urlCert)) assert.equal(reasonOf({ ...RSA.jwk, x5c: [urlCert] }), 'x5c-invalid');
  });

  it('the first failing check names the reason (order: object, kid, kty, crv, use, key_ops, alg, material)', () => {
    assert.equal(reasonOf({ kty: 'oct', kid: 7 }), 'kid-invalid');
    assert.equal(reasonOf({ kty: 'foo', use: 'enc' }), 'unsupported-kty');
    assert.equal(reasonOf({ ...K256.jwk, use: 'enc' }), 'unsupported-crv');
    assert.equal(reasonOf({ ...RSA.jwk, use: 'enc', key_ops: ['encrypt'] }), 'use-not-sig');
    assert.equal(reasonOf({ ...RSA.jwk, key_ops: ['encrypt'], alg: 'RSA-OAEP' }), 'key-ops-no-verify');
    assert.equal(reasonOf({ ...RSA_1024.jwk, alg: 'ES256' }), 'alg-mismatch');
    assert.equal(reasonOf({ ...RSA_1024.jwk, x5c: ['garbage'] }), 'rsa-too-small');
  });
});

// ---------------------------------------------------------------------------------------------
// Duplicates, limits
// ---------------------------------------------------------------------------------------------

describe('validateJwks: duplicates and limits', () => {
  it('identical keys are de-duplicated (first wins); same kid with different material keeps both', () => {
    const res = validateJwks({
      keys: [
        { ...RSA.jwk, kid: 'k1', alg: 'RS256' },
        { ...RSA.jwk, kid: 'k1', alg: 'PS256' }, // same kid + material: duplicate, first alg wins
        { ...RSA_B.jwk, kid: 'k1' }, // same kid, different material: kept as a second candidate
        { ...RSA.jwk, kid: 'k2' }, // same material, another kid: a different identity
        { ...ED.jwk },
        { ...ED.jwk, use: 'sig' }, // both without kid, same material: duplicate
        { ...ED.jwk, kid: 'ed' }, // with kid: kept
      ],
    });
    assert.deepEqual(
      res.keys.map((k) => [k.kid, k.algorithms.join(',')]),
      [
        ['k1', 'RS256'],
        ['k1', 'RS256,RS384,RS512,PS256,PS384,PS512'],
        ['k2', 'RS256,RS384,RS512,PS256,PS384,PS512'],
        [undefined, 'EdDSA,Ed25519'],
        ['ed', 'EdDSA,Ed25519'],
      ],
    );
    assert.deepEqual(
      res.dropped.map((d) => [d.index, d.kid, d.reason]),
      [
        [1, 'k1', 'duplicate'],
        [5, undefined, 'duplicate'],
      ],
    );
    assert.notEqual(res.keys[0]?.thumbprint, res.keys[1]?.thumbprint);
    assert.equal(res.keys[0]?.thumbprint, res.keys[2]?.thumbprint);
  });

  it('maxKeys: a 100,000-entry set is cheap; entries beyond maxKeys are only counted, never read', () => {
    let reads = 0;
    const trap: Jwk = {};
    for (const m of ['kty', 'kid', 'n', 'e', 'crv', 'x', 'y', 'alg', 'use']) {
      Object.defineProperty(trap, m, {
        enumerable: true,
        get() {
          reads++;
          return 'RSA';
        },
      });
    }
    const keys: unknown[] = new Array<unknown>(100_000);
    for (let i = 0; i < 100; i++) keys[i] = { ...ED.jwk, kid: 'first' };
    keys.fill(trap, 100);
    // not inspected: no member of the 99,900 entries past maxKeys is ever read (the getters count)
    const res = validateJwks({ keys });
    assert.equal(reads, 0);
    assert.equal(res.keys.length, 1);
    assert.equal(res.dropped.length, 100); // 99 duplicates + one aggregated too-many-keys record
    const last = res.dropped[res.dropped.length - 1];
    assert.deepEqual([last?.index, last?.kid, last?.reason], [100, undefined, 'too-many-keys']);
    assert.match(last?.detail ?? '', /99900 entries/);
  });

  it('maxKeys option: keys past the limit are not accepted even if valid', () => {
    const res = validateJwks({ keys: [{ ...RSA.jwk, kid: 'a' }, { ...ED.jwk, kid: 'b' }, { ...P256.jwk, kid: 'c' }] }, { maxKeys: 2 });
    assert.deepEqual(res.keys.map((k) => k.kid), ['a', 'b']);
    assert.deepEqual(res.dropped, [{ index: 2, kid: undefined, reason: 'too-many-keys', detail: '1 entry from index 2 on not inspected (maxKeys=2)' }]);
    // All entries beyond maxKeys and nothing usable before → no usable keys.
    assertCode(() => validateJwks({ keys: [{ kty: 'oct' }, ED.jwk] }, { maxKeys: 1 }), 'JWKS_NO_USABLE_KEYS', { entries: 2, dropped: { 'symmetric-key': 1, 'too-many-keys': 1 } });
  });

  it('defaults are as documented; invalid options are a ConfigError', () => {
    assert.deepEqual({ ...DEFAULT_VALIDATE_OPTIONS }, { maxKeys: 100, minRsaBits: 2048, maxRsaBits: 16384, maxKidLength: 256 });
    assert.ok(Object.isFrozen(DEFAULT_VALIDATE_OPTIONS) && Object.isFrozen(SUPPORTED_ALGS));
    assert.equal(SUPPORTED_ALGS.length, 11);
    const doc = { keys: [ED.jwk] };
    assert.equal(validateJwks(doc, { maxKeys: undefined }).keys.length, 1);
    for (const bad of [{ maxKeys: 0 }, { maxKeys: 1.5 }, { maxKeys: Number.NaN }, { minRsaBits: -1 }, { maxKidLength: Infinity }, { minRsaBits: 4096, maxRsaBits: 2048 }]) {
      assert.throws(() => validateJwks(doc, bad as Partial<ValidateOptions>), ConfigError, JSON.stringify(bad));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Whole-document failures
// ---------------------------------------------------------------------------------------------

describe('validateJwks: document-level errors', () => {
  it('garbage documents → JWKS_MALFORMED / JWKS_NO_USABLE_KEYS', () => {
    for (const doc of [null, undefined, [], [ED.jwk], 'str', '{"keys":[]}', 5, true, {}, { keys: {} }, { keys: null }, { keys: 'x' }, { Keys: [ED.jwk] }, new Map([['keys', [ED.jwk]]])]) {
      assertCode(() => validateJwks(doc), 'JWKS_MALFORMED');
    }
    assertCode(() => validateJwks({ keys: [] }), 'JWKS_NO_USABLE_KEYS', { entries: 0, dropped: {} });
    assertCode(() => validateJwks({ keys: [null, 1, 'x'] }), 'JWKS_NO_USABLE_KEYS', { entries: 3, dropped: { 'not-an-object': 3 } });
    // Inherited `keys` does not count.
    assertCode(() => validateJwks(Object.create({ keys: [ED.jwk] })), 'JWKS_MALFORMED');
  });

  it('JWKS_NO_USABLE_KEYS lists the drop reasons', () => {
    const err = assertCode(
      () => validateJwks({ keys: [{ kty: 'oct' }, { kty: 'oct' }, { ...RSA.jwk, use: 'enc' }, RSA_1024.jwk] }),
      'JWKS_NO_USABLE_KEYS',
      { entries: 4, dropped: { 'symmetric-key': 2, 'use-not-sig': 1, 'rsa-too-small': 1 } },
    );
    assert.equal(err.httpStatus, 503);
  });

  it('JWKS_PRIVATE_KEY for each private member, on any entry, even one that would be dropped', () => {
    const priv: Jwk = RSA.priv.export({ format: 'jwk' }) as Jwk;
    const octK = { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' };
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) {
      const value = m === 'oth' ? [] : typeof priv[m] === 'string' ? priv[m] : 'AQAB';
      // On a perfectly valid public key.
      assertCode(() => validateJwks({ keys: [ANCHOR, { ...RSA.jwk, kid: 'rsa', [m]: value }] }), 'JWKS_PRIVATE_KEY', { entryIndex: 1, privateMembers: [m], kid: 'rsa' });
      // On an entry that would be dropped anyway (unsupported kty, invalid kid).
      assertCode(() => validateJwks({ keys: [ANCHOR, { kty: 'foo', [m]: value }] }), 'JWKS_PRIVATE_KEY');
      assertCode(() => validateJwks({ keys: [{ kid: 5, [m]: value }, ANCHOR] }), 'JWKS_PRIVATE_KEY');
      // Even with an empty or null value: presence is the leak signal.
      assertCode(() => validateJwks({ keys: [ANCHOR, { ...P256.jwk, [m]: '' }] }), 'JWKS_PRIVATE_KEY');
    }
    assertCode(() => validateJwks({ keys: [ANCHOR, priv] }), 'JWKS_PRIVATE_KEY');
    assertCode(() => validateJwks({ keys: [ANCHOR, P256.priv.export({ format: 'jwk' })] }), 'JWKS_PRIVATE_KEY', { entryIndex: 1, privateMembers: ['d'] });
    assertCode(() => validateJwks({ keys: [ANCHOR, ED.priv.export({ format: 'jwk' })] }), 'JWKS_PRIVATE_KEY');
    // oct key with k: refused as a leak, not merely dropped as symmetric-key.
    assertCode(() => validateJwks({ keys: [ANCHOR, octK] }), 'JWKS_PRIVATE_KEY', { entryIndex: 1, privateMembers: ['k'], kid: 'hmac' });
    // The kid in the details is the sanitised one, like the message's.
    const hostile = assertCode(() => validateJwks({ keys: [ANCHOR, { ...octK, kid: 'a\nb\u0000c' }] }), 'JWKS_PRIVATE_KEY');
    assert.equal(typeof hostile.details?.kid, 'string');
    assert.doesNotMatch(hostile.details!.kid!, /[\u0000-\u001f]/);
    // Beyond maxKeys too (a leak anywhere refuses the document).
    assertCode(() => validateJwks({ keys: [ANCHOR, ED.jwk, { ...P256.jwk, d: 'AA' }] }, { maxKeys: 1 }), 'JWKS_PRIVATE_KEY');
    // The message never contains the secret value.
    const err = assertCode(() => validateJwks({ keys: [{ ...octK, k: 'TOPSECRETVALUE' }] }), 'JWKS_PRIVATE_KEY');
    assert.doesNotMatch(err.message, /TOPSECRETVALUE/);
  });

  it('a member named "d" nested inside another member is not a private member of the key', () => {
    assert.equal(reasonOf({ ...ED.jwk, ext: { d: 'x' } }), 'accepted');
  });
});

// ---------------------------------------------------------------------------------------------
// Prototype safety and robustness
// ---------------------------------------------------------------------------------------------

describe('validateJwks: prototype safety and robustness', () => {
  it('__proto__ / constructor / toString kids are ordinary kids', () => {
    const res = validateJwks({
      keys: [
        { ...ED.jwk, kid: '__proto__' },
        { ...ED.jwk, kid: '__proto__' },
        { ...ED_B.jwk, kid: '__proto__' },
        { ...RSA.jwk, kid: 'constructor' },
        { ...RSA.jwk, kid: 'constructor' },
        { ...P256.jwk, kid: 'toString' },
        { ...P256.jwk, kid: 'hasOwnProperty' },
      ],
    });
    assert.deepEqual(res.keys.map((k) => k.kid), ['__proto__', '__proto__', 'constructor', 'toString', 'hasOwnProperty']);
    assert.deepEqual(res.dropped.map((d) => [d.index, d.reason]), [
      [1, 'duplicate'],
      [4, 'duplicate'],
    ]);
  });

  it('a JSON-parsed document with "__proto__" members does not pollute Object.prototype', () => {
    const key = JSON.stringify(ED.jwk).slice(1, -1);
    const text =
      `{"__proto__":{"polluted":"doc","keys":[]},"keys":[` +
      `{"__proto__":{"polluted":"key","kty":"oct","alg":"none","use":"enc"},${key},"kid":"__proto__"},` +
      `{"constructor":{"prototype":{"polluted":"ctor"}},${JSON.stringify(P256.jwk).slice(1, -1)},"kid":"constructor"},` +
      `{"kty":"RSA","kid":"prototype","__proto__":{"n":"x"}}` +
      `]}`;
    const doc: unknown = JSON.parse(text);
    const res = validateJwks(doc);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    assert.deepEqual(res.keys.map((k) => [k.kid, k.jwk.kty, k.algorithms.join(',')]), [
      ['__proto__', 'OKP', 'EdDSA,Ed25519'],
      ['constructor', 'EC', 'ES256'],
    ]);
    assert.deepEqual(res.dropped.map((d) => [d.kid, d.reason]), [['prototype', 'invalid-key-material']]);
    for (const k of res.keys) {
      assert.equal(Object.getPrototypeOf(k.jwk), Object.prototype);
      assert.equal(Object.hasOwn(k.jwk, '__proto__'), false);
      assert.equal(Object.hasOwn(k.jwk, 'constructor'), false);
    }
  });

  it('never throws anything but KeysUnavailableError for arbitrary JSON values (property)', () => {
    const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
    /** The one code a refused document must get: no keys array → MALFORMED; a private member anywhere → PRIVATE_KEY; else nothing usable. */
    const expectedCode = (doc: unknown): KeysUnavailableCode => {
      const keys = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && Object.hasOwn(doc, 'keys') ? (doc as { keys: unknown }).keys : undefined;
      if (!Array.isArray(keys)) return 'JWKS_MALFORMED';
      if (keys.some((e) => typeof e === 'object' && e !== null && PRIVATE.some((m) => Object.hasOwn(e, m)))) return 'JWKS_PRIVATE_KEY';
      return 'JWKS_NO_USABLE_KEYS';
    };
    const check = (doc: unknown): void => {
      try {
        const res = validateJwks(doc);
        assert.ok(res.keys.length > 0);
      } catch (err) {
        assert.ok(err instanceof KeysUnavailableError, String(err));
        assert.equal(err.code, expectedCode(doc));
      }
    };
    fc.assert(fc.property(fc.jsonValue(), check), { numRuns: 300 });
    fc.assert(fc.property(fc.array(fc.jsonValue(), { maxLength: 8 }), (keys) => check({ keys })), { numRuns: 300 });
    fc.assert(fc.property(fc.array(fc.anything(), { maxLength: 5 }), (keys) => check({ keys })), { numRuns: 200 });
  });

  it('mutating any member of a valid key never crashes, and accepted keys are always usable (property)', () => {
    const bases: Jwk[] = [
      { ...RSA.jwk, kid: 'r', alg: 'RS256', use: 'sig' },
      { ...P256.jwk, kid: 'e', alg: 'ES256' },
      { ...ED.jwk, kid: 'o', alg: 'EdDSA' },
    ];
    const members = ['kty', 'kid', 'alg', 'use', 'key_ops', 'n', 'e', 'crv', 'x', 'y', 'x5c', '__proto__'];
    fc.assert(
      fc.property(fc.constantFrom(...bases), fc.constantFrom(...members), fc.jsonValue(), (base, member, value) => {
        const entry = JSON.parse(JSON.stringify({ ...base, [member]: value })) as unknown;
        try {
          const res = validateJwks({ keys: [entry] });
          for (const k of res.keys) {
            assert.equal(k.keyObject.type, 'public');
            assert.ok(k.algorithms.length > 0);
            assert.ok(k.algorithms.every((a) => SUPPORTED_ALGS.includes(a)));
          }
        } catch (err) {
          assert.ok(err instanceof KeysUnavailableError, String(err));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a throwing getter (non-JSON input) is contained', () => {
    const hostile = {};
    Object.defineProperty(hostile, 'kty', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    assert.equal(reasonOf(hostile), 'invalid-key-material');
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    assertCode(() => validateJwks(revoked.proxy), 'JWKS_MALFORMED');
    assertCode(() => validateJwks({ keys: [revoked.proxy] }), 'JWKS_MALFORMED');
  });

  it('accepts JsonWebKey objects exported by node:crypto unchanged', () => {
    const jwk: JsonWebKey = P521.pub.export({ format: 'jwk' });
    assert.equal(validateJwks({ keys: [jwk] }).keys[0]?.jwk.crv, 'P-521');
  });
});
