/**
 * The hostile-token generator: one list of forged, malformed and edge-case tokens covering every
 * token-side item of threats.md sections A–E, built from the keys a verifier trusts and "now".
 *
 * Used by test/adversarial/tokens.test.ts (each case against a real verifier over HTTP, with the
 * expected error codes) and by test/fast-path-differential.test.ts (each case through the Node
 * fast path and through jose, which must agree). Every case names the threat it exercises.
 *
 * The expectations assume a verifier configured with defaults (clock tolerance 30 s, `exp`
 * required, every asymmetric algorithm allowed) for `opts.iss` / `opts.aud`, whose JWKS
 * publishes exactly `keys.rsa` (JWK alg RS256), `keys.ec` (ES256) and `keys.ed` (EdDSA), and
 * not `keys.foreign` (a key of another issuer). A token whose kid the set lacks is expected to
 * be `KID_NOT_FOUND`: the verifier under test must have unknown-kid budget for them (the
 * budget itself is exercised separately).
 *
 * Decisions recorded here (threats.md D3, A4/A5):
 * - Duplicate JSON member names (D3): the pre-check, the fast path and jose all parse with
 *   `JSON.parse`, so the LAST occurrence wins everywhere; the member that routes the token
 *   (alg, kid) is the member that verifies it. No strict mode exists. Since the signature covers
 *   the exact header bytes, only the key holder can produce such a header; a duplicate-member
 *   token signed by the IdP key therefore verifies, and one whose last `alg` is `none`, or whose
 *   last `kid` is unknown, is refused.
 * - ECDSA high-s (A4/A5): `(r, n - s)` is a second valid signature of the same message. OpenSSL
 *   and WebCrypto accept it (ECDSA as standardised has no low-s rule), so the malleated token
 *   verifies with the same claims; the library never keys anything on the raw token string.
 */
import { createHmac, generateKeyPairSync, sign as cryptoSign, constants as cryptoConstants, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import type { SigningKey, TestAlg } from './keys.js';

export type Expect = 'reject' | 'accept';

/** One hostile (or boundary) token and what a default verifier must do with it. */
export interface HostileCase {
  /** Unique, stable id (`<threat>-<what>`). */
  id: string;
  /** threats.md item, e.g. `A1`, `D6`. */
  threat: string;
  token: string;
  expect: Expect;
  /** Acceptable `TokenInvalidError` codes when rejected. */
  codes?: string[];
  /** Why, when the expectation is not obvious. */
  note?: string;
}

/** The keys a verifier trusts, plus one it must not. */
export interface HostileKeys {
  /** Published RSA key, JWK alg RS256. */
  rsa: SigningKey;
  /** Published P-256 key, JWK alg ES256. */
  ec: SigningKey;
  /** Published Ed25519 key, JWK alg EdDSA. */
  ed: SigningKey;
  /** A key published by another issuer (never in this verifier's set). Default: a fresh ES256 key. */
  foreign?: SigningKey;
}

export interface HostileOptions {
  /** The verifier's exact issuer. */
  iss: string;
  /** An audience the verifier accepts. */
  aud: string;
  /** The other issuer (`keys.foreign`'s). Default `https://idp-b.test/`. */
  foreignIss?: string;
  /** Base URL of a loopback listener used as `jku`/`x5u` (it must receive 0 requests). */
  loopbackUrl: string;
  /** Attacker keys; default: generated once per process. */
  attacker?: AttackerKeys;
}

export interface AttackerKeys {
  rsa: SigningKey;
  ec: SigningKey;
  ed: SigningKey;
}

// ---------------------------------------------------------------------------------------------
// Signing primitives (any alg, raw header/payload text)
// ---------------------------------------------------------------------------------------------

export type AnyAlg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519';

const b64u = (v: string | Buffer): string => Buffer.from(v).toString('base64url');

/** Sign `input` (the JWS signing input) with `alg`, raw r‖s for ECDSA. */
export function signInput(alg: AnyAlg, privateKey: KeyObject, input: string, dsaEncoding: 'ieee-p1363' | 'der' = 'ieee-p1363'): Buffer {
  const data = Buffer.from(input);
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
      return cryptoSign(`sha${alg.slice(2)}`, data, privateKey);
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return cryptoSign(`sha${alg.slice(2)}`, data, { key: privateKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST });
    case 'ES256':
    case 'ES384':
    case 'ES512':
      return cryptoSign(`sha${alg.slice(2)}`, data, { key: privateKey, dsaEncoding });
    case 'EdDSA':
    case 'Ed25519':
      return cryptoSign(null, data, privateKey);
  }
}

/** A JSON text for a header or payload: objects are stringified, strings are used verbatim (raw JSON). */
type Json = Record<string, unknown> | string;
const text = (v: Json): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * A compact JWS of exactly these header/payload texts, signed with `key`'s private key using
 * `sigAlg` (default: the key's own alg), whatever the header says.
 */
export function signTexts(key: SigningKey, header: Json, payload: Json, sigAlg: AnyAlg = key.alg): string {
  const input = `${b64u(text(header))}.${b64u(text(payload))}`;
  return `${input}.${b64u(signInput(sigAlg, key.privateKey, input))}`;
}

/** Header `{alg, kid, ...extra}` with alg defaulting to the key's; `kid: undefined` in extra removes it. */
function hdr(key: SigningKey, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const h: Record<string, unknown> = { alg: key.alg, kid: key.kid, ...extra };
  for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
  return h;
}

/** HMAC-SHA2 JWS with an arbitrary secret. */
export function hmacToken(alg: 'HS256' | 'HS384' | 'HS512', secret: Buffer | string, header: Record<string, unknown>, payload: Json): string {
  const input = `${b64u(JSON.stringify({ ...header, alg }))}.${b64u(text(payload))}`;
  return `${input}.${createHmac(`sha${alg.slice(2)}`, secret).update(input).digest('base64url')}`;
}

/** The byte forms of a public key an HS/RS confusion attack would use as an HMAC secret (A2). */
export function publicKeySecrets(key: SigningKey): { form: string; secret: Buffer | string }[] {
  const pub = key.publicKey;
  const forms: { form: string; secret: Buffer | string }[] = [
    { form: 'spki-der', secret: pub.export({ type: 'spki', format: 'der' }) },
    { form: 'spki-pem', secret: pub.export({ type: 'spki', format: 'pem' }) as string },
    { form: 'spki-pem-trimmed', secret: (pub.export({ type: 'spki', format: 'pem' }) as string).trim() },
    { form: 'jwk-json-published', secret: JSON.stringify(key.jwk) },
    { form: 'jwk-json-canonical', secret: JSON.stringify(pub.export({ format: 'jwk' })) },
  ];
  const jwk = pub.export({ format: 'jwk' });
  if (pub.asymmetricKeyType === 'rsa') {
    forms.push({ form: 'pkcs1-der', secret: pub.export({ type: 'pkcs1', format: 'der' }) });
    forms.push({ form: 'pkcs1-pem', secret: pub.export({ type: 'pkcs1', format: 'pem' }) as string });
    forms.push({ form: 'modulus-raw', secret: Buffer.from(jwk.n ?? '', 'base64url') });
  } else if (pub.asymmetricKeyType === 'ec') {
    forms.push({ form: 'point-uncompressed', secret: Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]) });
  } else {
    forms.push({ form: 'raw-32', secret: Buffer.from(jwk.x ?? '', 'base64url') });
  }
  return forms;
}

// ---------------------------------------------------------------------------------------------
// ECDSA / EdDSA signature malleations (A4, A5)
// ---------------------------------------------------------------------------------------------

/** Order of the P-256 group. */
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
/** Order of the Ed25519 base point. */
export const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

const toBig = (b: Buffer): bigint => BigInt(`0x${b.toString('hex') || '0'}`);
function fromBig(v: bigint, len: number): Buffer {
  const hex = v.toString(16).padStart(len * 2, '0');
  if (hex.length > len * 2) throw new Error('value does not fit');
  return Buffer.from(hex, 'hex');
}

/** `(r, n - s)`: the other valid ECDSA signature of the same message (P-256, raw r‖s). */
export function highS(sig: Buffer): Buffer {
  const r = sig.subarray(0, 32);
  const s = toBig(sig.subarray(32));
  return Buffer.concat([r, fromBig(P256_N - s, 32)]);
}

/** Ed25519 `S + L` (non-canonical S, the RFC 8032 malleability check). */
export function ed25519SPlusL(sig: Buffer): Buffer {
  const sLe = Buffer.from(sig.subarray(32)).reverse();
  const s = toBig(sLe) + ED25519_L;
  return Buffer.concat([sig.subarray(0, 32), fromBig(s, 32).reverse()]);
}

/** Replace a token's signature segment. */
export function withSig(token: string, sig: Buffer | string): string {
  const i = token.lastIndexOf('.');
  return `${token.slice(0, i + 1)}${typeof sig === 'string' ? sig : b64u(sig)}`;
}

const sigOf = (token: string): Buffer => Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');

// ---------------------------------------------------------------------------------------------
// Attacker keys
// ---------------------------------------------------------------------------------------------

function attackerKey(kid: string, alg: TestAlg): SigningKey {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk: Record<string, unknown> = { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, jwk };
}

let attackerMemo: AttackerKeys | undefined;
/** The attacker's own keys (generated once per process; never published by any IdP). */
export function attackerKeys(): AttackerKeys {
  attackerMemo ??= { rsa: attackerKey('attacker-rsa', 'RS256'), ec: attackerKey('attacker-ec', 'ES256'), ed: attackerKey('attacker-ed', 'EdDSA') };
  return attackerMemo;
}

/** The attacker's JWKS, as a `jku`/`x5u` listener would serve it. */
export function attackerJwks(a: AttackerKeys = attackerKeys()): { keys: Record<string, unknown>[] } {
  return { keys: [a.rsa.jwk, a.ec.jwk, a.ed.jwk] };
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/** Hostile kid payloads (B5) that are strings within the length cap: ordinary unknown kids. */
export const HOSTILE_KID_STRINGS: readonly string[] = [
  '../../dev/null',
  '../../../../../../etc/passwd',
  "' OR 1=1 --",
  '"; DROP TABLE keys; --',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'kid\u0000nul',
  'line\r\nInjected-Header: yes\u001b[31m',
  '${jndi:ldap://127.0.0.1/x}',
  '%00%2e%2e%2f',
];

/**
 * Every hostile case for a default verifier of `opts.iss`/`opts.aud` trusting `keys.rsa`,
 * `keys.ec`, `keys.ed`, at wall time `nowSec`.
 */
export function hostileTokens(keys: HostileKeys, nowSec: number, opts: HostileOptions): HostileCase[] {
  const { rsa, ec, ed } = keys;
  const foreign = keys.foreign ?? attackerKey('idp-b-es', 'ES256');
  const foreignIss = opts.foreignIss ?? 'https://idp-b.test/';
  const atk = opts.attacker ?? attackerKeys();
  const { iss, aud } = opts;
  const now = nowSec;
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const c: Record<string, unknown> = { iss, aud, sub: 'user-1', iat: now, exp: now + 600, ...extra };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  /** Raw claim-set JSON text with `members` spliced in verbatim after the good claims. */
  const rawClaims = (members: string, base: Record<string, unknown> = claims()): string => {
    const t = JSON.stringify(base);
    return members ? `${t.slice(0, -1)},${members}}` : t;
  };
  const cases: HostileCase[] = [];
  const add = (threat: string, what: string, token: string, expect: Expect, codes?: string[], note?: string): void => {
    const c: HostileCase = { id: `${threat}-${what}`, threat, token, expect };
    if (codes) c.codes = codes;
    if (note) c.note = note;
    cases.push(c);
  };
  const good = (key: SigningKey, extraClaims: Record<string, unknown> = {}, extraHeader: Record<string, unknown> = {}) => signTexts(key, hdr(key, extraHeader), claims(extraClaims));

  // -- baseline: the published keys verify (so every rejection below is about the attack) ----
  add('baseline', 'rs256', good(rsa), 'accept');
  add('baseline', 'es256', good(ec), 'accept');
  add('baseline', 'eddsa', good(ed), 'accept');

  // -- A1: alg none, every casing, empty and non-empty signature -------------------------------
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    for (const key of [rsa, ec]) {
      const input = `${b64u(JSON.stringify({ alg, kid: key.kid, typ: 'JWT' }))}.${b64u(JSON.stringify(claims()))}`;
      add('A1', `${alg}-${key.kid}-empty-sig`, `${input}.`, 'reject', ['TOKEN_MALFORMED']);
      add('A1', `${alg}-${key.kid}-garbage-sig`, `${input}.${b64u('signature')}`, 'reject', ['ALG_NOT_ALLOWED']);
      add('A1', `${alg}-${key.kid}-real-sig`, `${input}.${b64u(signInput(key.alg, key.privateKey, input))}`, 'reject', ['ALG_NOT_ALLOWED']);
    }
  }
  for (const [what, alg] of [
    ['missing', undefined],
    ['empty', ''],
    ['null', null],
    ['array', ['RS256']],
    ['object', { name: 'RS256' }],
    ['lowercase', 'rs256'],
    ['padded', ' RS256'],
    ['nul-suffix', 'RS256\u0000'],
    ['HS256', 'HS256'],
    ['ES256K', 'ES256K'],
  ] as const) {
    add('A1', `alg-${what}`, signTexts(rsa, hdr(rsa, { alg }), claims(), 'RS256'), 'reject', ['ALG_NOT_ALLOWED']);
  }

  // -- A2: HS/RS confusion, the public key's bytes as the HMAC secret -----------------------------
  for (const key of [rsa, ec, ed]) {
    for (const { form, secret } of publicKeySecrets(key)) {
      for (const alg of ['HS256', 'HS384', 'HS512'] as const) {
        add('A2', `${alg}-${key.alg}-${form}`, hmacToken(alg, secret, { kid: key.kid, typ: 'JWT' }, claims()), 'reject', ['ALG_NOT_ALLOWED']);
      }
    }
    add('A2', `HS256-${key.alg}-no-kid-spki-pem`, hmacToken('HS256', key.publicKey.export({ type: 'spki', format: 'pem' }) as string, { typ: 'JWT' }, claims()), 'reject', ['ALG_NOT_ALLOWED']);
  }

  // -- A3: the algorithm is pinned per key, never taken from the header --------------------------
  add('A3', 'PS256-on-RS256-pinned-key', signTexts(rsa, hdr(rsa, { alg: 'PS256' }), claims(), 'PS256'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'RS384-on-RS256-pinned-key', signTexts(rsa, hdr(rsa, { alg: 'RS384' }), claims(), 'RS384'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'RS512-on-RS256-pinned-key', signTexts(rsa, hdr(rsa, { alg: 'RS512' }), claims(), 'RS512'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'ES256-header-on-rsa-kid', signTexts(ec, hdr(rsa, { alg: 'ES256' }), claims(), 'ES256'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'EdDSA-header-on-ec-kid', signTexts(ed, hdr(ec, { alg: 'EdDSA' }), claims(), 'EdDSA'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'ES384-header-on-P256-kid', signTexts(ec, hdr(ec, { alg: 'ES384' }), claims(), 'ES256'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'RS256-header-on-ed-kid', signTexts(rsa, hdr(ed, { alg: 'RS256' }), claims(), 'RS256'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'PS256-header-on-ec-kid', signTexts(rsa, hdr(ec, { alg: 'PS256' }), claims(), 'PS256'), 'reject', ['KEY_ALG_MISMATCH']);
  add('A3', 'Ed25519-name-on-EdDSA-key', signTexts(ed, hdr(ed, { alg: 'Ed25519' }), claims(), 'Ed25519'), 'accept', undefined, 'Ed25519 (RFC 9864) and EdDSA are one scheme for an Ed25519 key');

  // -- A4: ECDSA / EdDSA / RSA signature forms ---------------------------------------------------
  const es = good(ec);
  const esSig = sigOf(es);
  const zero32 = Buffer.alloc(32);
  const nBytes = fromBig(P256_N, 32);
  add('A4', 'ecdsa-all-zero-sig', withSig(es, Buffer.alloc(64)), 'reject', ['SIGNATURE_INVALID'], 'psychic signature, CVE-2022-21449');
  add('A4', 'ecdsa-r0', withSig(es, Buffer.concat([zero32, esSig.subarray(32)])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-s0', withSig(es, Buffer.concat([esSig.subarray(0, 32), zero32])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-r-n-s-n', withSig(es, Buffer.concat([nBytes, nBytes])), 'reject', ['SIGNATURE_INVALID'], 'r, s out of range');
  add('A4', 'ecdsa-s-plus-n-overflow', withSig(es, Buffer.concat([esSig.subarray(0, 32), Buffer.alloc(32, 0xff)])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-63-bytes', withSig(es, esSig.subarray(0, 63)), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-65-bytes', withSig(es, Buffer.concat([esSig, Buffer.from([0])])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-leading-zero', withSig(es, Buffer.concat([Buffer.from([0]), esSig])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-doubled', withSig(es, Buffer.concat([esSig, esSig])), 'reject', ['SIGNATURE_INVALID']);
  const esInput = es.slice(0, es.lastIndexOf('.'));
  add('A4', 'ecdsa-der-encoded', withSig(es, signInput('ES256', ec.privateKey, esInput, 'der')), 'reject', ['SIGNATURE_INVALID'], 'DER instead of raw r‖s');
  add('A4', 'ecdsa-sig-of-other-payload', withSig(es, sigOf(good(ec, { sub: 'someone-else' }))), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ecdsa-high-s', withSig(es, highS(esSig)), 'accept', undefined, 'high-s (r, n-s) is a valid ECDSA signature for OpenSSL and WebCrypto: malleable, hence A5');
  const eds = good(ed);
  const edSig = sigOf(eds);
  add('A4', 'ed25519-s-plus-l', withSig(eds, ed25519SPlusL(edSig)), 'reject', ['SIGNATURE_INVALID'], 'non-canonical S (RFC 8032 §5.1.7)');
  add('A4', 'ed25519-all-zero', withSig(eds, Buffer.alloc(64)), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ed25519-63-bytes', withSig(eds, edSig.subarray(0, 63)), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'ed25519-r-flipped', withSig(eds, Buffer.concat([Buffer.from([(edSig[0] ?? 0) ^ 1]), edSig.subarray(1)])), 'reject', ['SIGNATURE_INVALID']);
  const rs = good(rsa);
  const rsSig = sigOf(rs);
  add('A4', 'rsa-zero-sig', withSig(rs, Buffer.alloc(rsSig.length)), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'rsa-leading-zero', withSig(rs, Buffer.concat([Buffer.from([0]), rsSig])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'rsa-truncated', withSig(rs, rsSig.subarray(1)), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'rsa-one', withSig(rs, Buffer.concat([Buffer.alloc(rsSig.length - 1), Buffer.from([1])])), 'reject', ['SIGNATURE_INVALID']);
  add('A4', 'rsa-pss-sig-as-rs256', withSig(rs, signInput('PS256', rsa.privateKey, rs.slice(0, rs.lastIndexOf('.')))), 'reject', ['SIGNATURE_INVALID']);

  // -- A5: two encodings of one valid token ----------------------------------------------------
  add('A5', 'ecdsa-high-s-same-claims', withSig(good(ec, { jti: 'a5' }), highS(sigOf(good(ec, { jti: 'a5' })))), 'accept', undefined, 'see A4 high-s');
  add('A5', 'flipped-last-sig-bits', (() => {
    // the last base64url character of a 64-byte signature carries 4 unused bits: changing
    // them changes the string but not the decoded bytes (non-canonical base64url)
    const t = good(ec, { jti: 'a5-bits' });
    const last = t.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const v = alphabet.indexOf(last);
    return `${t.slice(0, -1)}${alphabet[(v & ~0xf) | ((v + 1) & 0xf)] ?? last}`;
  })(), 'accept', undefined, 'non-canonical base64url of the same signature bytes; both paths decode leniently');

  // -- A8: compact JWS only ----------------------------------------------------------------------
  const [gh = '', gp = '', gs = ''] = rs.split('.');
  add('A8', 'two-segments', `${gh}.${gp}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'one-segment', gh, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'empty-string', '', 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'dots-only', '..', 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'four-segments', `${rs}.${gs}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'four-segments-empty-last', `${rs}.`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'empty-payload', `${gh}..${gs}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'empty-header', `.${gp}.${gs}`, 'reject', ['TOKEN_MALFORMED']);
  const jweHeader = b64u(JSON.stringify({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: rsa.kid }));
  add('A8', 'jwe-five-segments', `${jweHeader}.${b64u('k'.repeat(256))}.${b64u('iv-123456789')}.${gp}.${b64u('tag-0123456789ab')}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'jwe-dir-empty-key', `${b64u(JSON.stringify({ alg: 'dir', enc: 'A128GCM' }))}..${b64u('iv')}.${gp}.${b64u('tag')}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'json-flattened', JSON.stringify({ protected: gh, payload: gp, signature: gs }), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'json-general', JSON.stringify({ payload: gp, signatures: [{ protected: gh, signature: gs }] }), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'leading-space', ` ${rs}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'trailing-newline', `${rs}\n`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'bearer-prefix', `Bearer ${rs}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'padded-signature', `${rs}==`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'std-base64-signature', `${gh}.${gp}.${rsSig.toString('base64').replace(/=+$/, '')}${/[+/]/.test(rsSig.toString('base64')) ? '' : '+/'}`, 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'header-not-json', signTexts(rsa, 'not json', claims()), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'header-array', signTexts(rsa, `[${JSON.stringify(hdr(rsa))}]`, claims()), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'header-invalid-utf8', (() => {
    const h = Buffer.concat([Buffer.from(`{"alg":"RS256","kid":"${rsa.kid}","x":"`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const input = `${b64u(h)}.${b64u(JSON.stringify(claims()))}`;
    return `${input}.${b64u(signInput('RS256', rsa.privateKey, input))}`;
  })(), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'payload-not-json', signTexts(rsa, hdr(rsa), 'not json'), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'payload-array', signTexts(rsa, hdr(rsa), `[${JSON.stringify(claims())}]`), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'payload-string', signTexts(rsa, hdr(rsa), JSON.stringify(JSON.stringify(claims()))), 'reject', ['TOKEN_MALFORMED']);
  add('A8', 'payload-null', signTexts(rsa, hdr(rsa), 'null'), 'reject', ['TOKEN_MALFORMED']);

  // -- D5: size caps before decoding -------------------------------------------------------------
  const sized = (bytes: number): string => {
    // largest/smallest padding so the token is just above or at 16 KiB
    let pad = Math.max(0, Math.floor(((bytes - 600) * 3) / 4));
    let t = good(ed, { pad: 'x'.repeat(pad) });
    while (t.length < bytes) t = good(ed, { pad: 'x'.repeat(++pad) });
    while (t.length > bytes) t = good(ed, { pad: 'x'.repeat(--pad) });
    return t;
  };
  const atCap = sized(16_384);
  add('D5', 'token-at-16KiB', atCap, atCap.length <= 16_384 ? 'accept' : 'reject', atCap.length <= 16_384 ? undefined : ['TOKEN_TOO_LARGE']);
  let over = atCap;
  for (let pad = 1; over.length <= 16_384; pad++) over = good(ed, { pad: `${'x'.repeat(Math.floor(((16_384 - 600) * 3) / 4))}${'y'.repeat(pad)}` });
  add('D5', 'token-16KiB-plus', over, 'reject', ['TOKEN_TOO_LARGE'], `${over.length} characters`);
  add('D5', 'token-1MiB', `${gh}.${'A'.repeat(1 << 20)}.${gs}`, 'reject', ['TOKEN_TOO_LARGE']);
  const headerOf = (bytes: number): Record<string, unknown> => {
    const base = JSON.stringify(hdr(ed, { x: '' }));
    return hdr(ed, { x: 'h'.repeat(bytes - base.length) });
  };
  add('D5', 'header-4096-bytes', signTexts(ed, headerOf(4096), claims()), 'accept', undefined, 'exactly maxHeaderBytes');
  add('D5', 'header-4097-bytes', signTexts(ed, headerOf(4097), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D5', 'header-12KiB', signTexts(ed, headerOf(12_000), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D5', 'deep-nesting-in-claims', signTexts(ed, hdr(ed), rawClaims(`"deep":${'['.repeat(4000)}${']'.repeat(4000)}`)), 'accept', undefined, 'nesting is bounded by the 16 KiB cap; JSON.parse handles it');
  add('D5', 'deep-nesting-in-header', signTexts(ed, `${JSON.stringify(hdr(ed)).slice(0, -1)},"deep":${'['.repeat(1500)}${']'.repeat(1500)}}`, claims()), 'accept', undefined, 'within the 4 KiB header cap');

  // -- B1: embedded jwk ------------------------------------------------------------------------
  add('B1', 'jwk-attacker-ec-published-kid', signTexts(atk.ec, hdr(ec, { jwk: atk.ec.jwk }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B1', 'jwk-attacker-ec-no-kid', signTexts(atk.ec, hdr(ec, { kid: undefined, jwk: { ...atk.ec.jwk, kid: undefined } }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B1', 'jwk-attacker-ec-own-kid', signTexts(atk.ec, hdr(atk.ec, { jwk: atk.ec.jwk }), claims()), 'reject', ['KID_NOT_FOUND']);
  add('B1', 'jwk-attacker-rsa-published-kid', signTexts(atk.rsa, hdr(rsa, { jwk: atk.rsa.jwk }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B1', 'jwk-attacker-ed-published-kid', signTexts(atk.ed, hdr(ed, { jwk: atk.ed.jwk }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B1', 'jwk-published-key-attacker-sig', signTexts(atk.ec, hdr(ec, { jwk: ec.jwk }), claims()), 'reject', ['SIGNATURE_INVALID'], 'the header repeats the real public key');

  // -- B2: jku / x5u at a loopback listener ---------------------------------------------------------
  const jku = `${opts.loopbackUrl}/jwks.json`;
  const x5u = `${opts.loopbackUrl}/cert.pem`;
  add('B2', 'jku-attacker-kid', signTexts(atk.ec, hdr(atk.ec, { jku }), claims()), 'reject', ['KID_NOT_FOUND']);
  add('B2', 'jku-published-kid', signTexts(atk.ec, hdr(ec, { jku }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B2', 'jku-no-kid', signTexts(atk.rsa, hdr(rsa, { kid: undefined, jku }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B2', 'jku-plus-jwk', signTexts(atk.ed, hdr(ed, { jku, jwk: atk.ed.jwk }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B2', 'x5u-attacker-kid', signTexts(atk.rsa, hdr(atk.rsa, { x5u }), claims()), 'reject', ['KID_NOT_FOUND']);
  add('B2', 'x5u-published-kid', signTexts(atk.rsa, hdr(rsa, { x5u }), claims()), 'reject', ['SIGNATURE_INVALID']);

  // -- B4: the JWKS URL never comes from the token's iss ------------------------------------------
  const loopIss = `${opts.loopbackUrl}/`;
  add('B4', 'iss-loopback-unknown-kid', signTexts(atk.ec, hdr(atk.ec), claims({ iss: loopIss })), 'reject', ['ISSUER_NOT_ALLOWED'], 'no discovery from iss: pre-gated, nothing fetched');
  add('B4', 'iss-loopback-published-kid', signTexts(atk.ec, hdr(ec), claims({ iss: loopIss })), 'reject', ['SIGNATURE_INVALID']);
  add('B4', 'iss-loopback-kid-less', signTexts(atk.ed, hdr(atk.ed, { kid: undefined }), claims({ iss: loopIss })), 'reject', ['SIGNATURE_INVALID']);

  // -- B3: x5c / x5t -------------------------------------------------------------------------------
  const garbageChain = [b64u('not a certificate').replace(/-/g, '+').replace(/_/g, '/'), 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', ''];
  add('B3', 'x5c-garbage-published-kid', signTexts(atk.ec, hdr(ec, { x5c: garbageChain }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B3', 'x5c-garbage-no-kid', signTexts(atk.rsa, hdr(rsa, { kid: undefined, x5c: garbageChain }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B3', 'x5c-not-array', signTexts(atk.ec, hdr(ec, { x5c: 'MIIB' }), claims()), 'reject', ['SIGNATURE_INVALID']);
  add('B3', 'x5c-attacker-kid', signTexts(atk.ec, hdr(atk.ec, { x5c: garbageChain }), claims()), 'reject', ['KID_NOT_FOUND']);
  add('B3', 'x5t-garbage', signTexts(atk.ec, hdr(ec, { x5t: b64u('x'.repeat(20)), 'x5t#S256': b64u('y'.repeat(32)) }), claims()), 'reject', ['SIGNATURE_INVALID']);

  // -- B5: kid payloads ----------------------------------------------------------------------------
  for (const kid of HOSTILE_KID_STRINGS) {
    add('B5', `kid-${JSON.stringify(kid).replace(/[^\x21-\x7e]/g, '?')}`, signTexts(rsa, hdr(rsa, { kid }), claims()), 'reject', ['KID_NOT_FOUND']);
  }
  add('B5', 'kid-case-variant', signTexts(rsa, hdr(rsa, { kid: rsa.kid.toUpperCase() === rsa.kid ? rsa.kid.toLowerCase() : rsa.kid.toUpperCase() }), claims()), 'reject', ['KID_NOT_FOUND']);
  add('B5', 'kid-trailing-space', signTexts(rsa, hdr(rsa, { kid: `${rsa.kid} ` }), claims()), 'reject', ['KID_NOT_FOUND']);
  add('B5', 'kid-10KB', signTexts(rsa, hdr(rsa, { kid: 'k'.repeat(10_240) }), claims()), 'reject', ['TOKEN_MALFORMED'], 'the header cap (4 KiB) refuses it before the kid cap');
  add('B5', 'kid-257', signTexts(rsa, hdr(rsa, { kid: 'k'.repeat(257) }), claims()), 'reject', ['KID_INVALID']);
  add('B5', 'kid-256-unknown', signTexts(rsa, hdr(rsa, { kid: 'k'.repeat(256) }), claims()), 'reject', ['KID_NOT_FOUND']);
  for (const [what, kid] of [
    ['empty', ''],
    ['number', 1],
    ['zero', 0],
    ['object', { kid: rsa.kid }],
    ['array', [rsa.kid]],
    ['null', null],
    ['true', true],
    ['false', false],
  ] as const) {
    add('B5', `kid-${what}`, signTexts(rsa, hdr(rsa, { kid }), claims()), 'reject', ['KID_INVALID']);
  }

  // -- D1 / D2: crit and b64 ---------------------------------------------------------------------
  add('D1', 'crit-unknown-name', signTexts(rsa, hdr(rsa, { crit: ['foo'], foo: 1 }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-absent-name', signTexts(rsa, hdr(rsa, { crit: ['bar'] }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-registered-name-exp', signTexts(rsa, hdr(rsa, { crit: ['exp'], exp: now + 600 }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-empty-array', signTexts(rsa, hdr(rsa, { crit: [] }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-string', signTexts(rsa, hdr(rsa, { crit: 'foo', foo: 1 }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-number', signTexts(rsa, hdr(rsa, { crit: 1 }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-null', signTexts(rsa, hdr(rsa, { crit: null }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-non-string-member', signTexts(rsa, hdr(rsa, { crit: [1] }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-empty-string-member', signTexts(rsa, hdr(rsa, { crit: [''] }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-proto', signTexts(rsa, `${JSON.stringify(hdr(rsa, { crit: ['__proto__'] })).slice(0, -1)},"__proto__":{}}`, claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D1', 'crit-control-chars', signTexts(rsa, hdr(rsa, { crit: ['x\r\nInjected: yes\u0000'], 'x\r\nInjected: yes\u0000': 1 }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D2', 'crit-b64-false', signTexts(rsa, hdr(rsa, { crit: ['b64'], b64: false }), claims()), 'reject', ['TOKEN_MALFORMED'], 'RFC 7797 unencoded payload; JWTs must not use it');
  add('D2', 'crit-b64-string', signTexts(rsa, hdr(rsa, { crit: ['b64'], b64: 'false' }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D2', 'crit-b64-true', signTexts(rsa, hdr(rsa, { crit: ['b64'], b64: true }), claims()), 'accept', undefined, 'b64 is a recognised extension and true is the ordinary encoding');
  add('D2', 'b64-false-without-crit', signTexts(rsa, hdr(rsa, { b64: false }), claims()), 'reject', ['TOKEN_MALFORMED'], 'threats.md D2: b64:false rejected (jose alone would ignore b64 without crit)');
  add('D2', 'b64-string-without-crit', signTexts(rsa, hdr(rsa, { b64: 'false' }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D2', 'b64-zero-without-crit', signTexts(rsa, hdr(rsa, { b64: 0 }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D2', 'b64-null-without-crit', signTexts(rsa, hdr(rsa, { b64: null }), claims()), 'reject', ['TOKEN_MALFORMED']);
  add('D2', 'b64-true-without-crit', signTexts(rsa, hdr(rsa, { b64: true }), claims()), 'accept', undefined, 'the ordinary encoding');

  // -- D3: duplicate member names (last wins everywhere; see the module comment) --------------------
  const hText = (members: string): string => `{${members}}`;
  add('D3', 'alg-none-then-RS256', signTexts(rsa, hText(`"alg":"none","alg":"RS256","kid":${JSON.stringify(rsa.kid)}`), claims()), 'accept', undefined, 'last wins: RS256, signed by the IdP key');
  add('D3', 'alg-RS256-then-none', signTexts(rsa, hText(`"alg":"RS256","alg":"none","kid":${JSON.stringify(rsa.kid)}`), claims()), 'reject', ['ALG_NOT_ALLOWED']);
  add('D3', 'alg-HS256-then-RS256', signTexts(rsa, hText(`"alg":"HS256","alg":"RS256","kid":${JSON.stringify(rsa.kid)}`), claims()), 'accept', undefined, 'last wins');
  add('D3', 'alg-RS256-then-HS256-hmac', hmacToken('HS256', rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string, {}, claims()).replace(/^[^.]+/, b64u(hText(`"alg":"RS256","kid":${JSON.stringify(rsa.kid)},"alg":"HS256"`))), 'reject', ['ALG_NOT_ALLOWED']);
  add('D3', 'alg-RS256-then-PS256', signTexts(rsa, hText(`"alg":"RS256","alg":"PS256","kid":${JSON.stringify(rsa.kid)}`), claims(), 'PS256'), 'reject', ['KEY_ALG_MISMATCH']);
  add('D3', 'kid-unknown-then-published', signTexts(rsa, hText(`"alg":"RS256","kid":"dup-unknown","kid":${JSON.stringify(rsa.kid)}`), claims()), 'accept', undefined, 'last wins');
  add('D3', 'kid-published-then-unknown', signTexts(rsa, hText(`"alg":"RS256","kid":${JSON.stringify(rsa.kid)},"kid":"dup-unknown-2"`), claims()), 'reject', ['KID_NOT_FOUND']);
  add('D3', 'kid-published-then-number', signTexts(rsa, hText(`"alg":"RS256","kid":${JSON.stringify(rsa.kid)},"kid":7`), claims()), 'reject', ['KID_INVALID']);
  add('D3', 'iss-evil-then-good', signTexts(rsa, hdr(rsa), `{"iss":"https://evil.example/",${rawClaims('').slice(1)}`), 'accept', undefined, 'last wins in the claims too');
  add('D3', 'iss-good-then-evil', signTexts(rsa, hdr(rsa), rawClaims('"iss":"https://evil.example/"')), 'reject', ['CLAIM_INVALID']);
  add('D3', 'exp-past-then-future', signTexts(rsa, hdr(rsa), `{"exp":${now - 3600},${rawClaims('').slice(1)}`), 'accept', undefined, 'last wins');
  add('D3', 'exp-future-then-past', signTexts(rsa, hdr(rsa), rawClaims(`"exp":${now - 3600}`)), 'reject', ['TOKEN_EXPIRED']);
  add('D3', 'crit-twice-last-unknown', signTexts(rsa, hText(`"alg":"RS256","kid":${JSON.stringify(rsa.kid)},"crit":["b64"],"b64":true,"crit":["zzz"]`), claims()), 'reject', ['TOKEN_MALFORMED']);

  // -- D4: prototype pollution -----------------------------------------------------------------------
  const hJson = JSON.stringify(hdr(rsa)).slice(0, -1);
  add('D4', 'header-proto', signTexts(rsa, `${hJson},"__proto__":{"polluted":"header","alg":"none","admin":true}}`, claims()), 'accept', undefined, 'an own member named __proto__ is inert');
  add('D4', 'header-constructor-prototype', signTexts(rsa, `${hJson},"constructor":{"prototype":{"polluted":"header"}}}`, claims()), 'accept');
  add('D4', 'header-only-in-proto', signTexts(rsa, `{"__proto__":{"alg":"RS256","kid":${JSON.stringify(rsa.kid)}}}`, claims()), 'reject', ['ALG_NOT_ALLOWED'], 'inherited members are never read');
  add('D4', 'claims-proto', signTexts(rsa, hdr(rsa), rawClaims('"__proto__":{"polluted":"claims","admin":true,"iss":"https://evil.example/"}')), 'accept');
  add('D4', 'claims-constructor-prototype', signTexts(rsa, hdr(rsa), rawClaims('"constructor":{"prototype":{"polluted":"claims"}}')), 'accept');
  add('D4', 'claims-only-in-proto', signTexts(rsa, hdr(rsa), `{"__proto__":${JSON.stringify(claims())}}`), 'reject', ['CLAIM_INVALID']);
  add('D4', 'claims-proto-aud', signTexts(rsa, hdr(rsa), `{"iss":${JSON.stringify(iss)},"exp":${now + 600},"__proto__":{"aud":${JSON.stringify(aud)}}}`), 'reject', ['CLAIM_INVALID']);
  add('D4', 'claims-proto-unknown-kid', signTexts(rsa, hdr(rsa, { kid: 'proto-unknown' }), `{"__proto__":${JSON.stringify(claims())}}`), 'reject', ['ISSUER_NOT_ALLOWED'], 'the unknown-kid pre-gate reads own members only');

  // -- D6: NumericDates ------------------------------------------------------------------------------
  const rawDate = (claim: 'exp' | 'nbf' | 'iat', value: string): string => {
    const base = claims();
    delete base[claim];
    return rawClaims(`"${claim}":${value}`, base);
  };
  const d6: [string, string, Expect, string[]?][] = [
    ['exp-string', rawDate('exp', JSON.stringify(String(now + 600))), 'reject', ['CLAIM_INVALID']],
    ['exp-1e400', rawDate('exp', '1e400'), 'reject', ['CLAIM_INVALID']],
    ['exp-minus-1e400', rawDate('exp', '-1e400'), 'reject', ['TOKEN_EXPIRED']], // JSON.parse gives -Infinity: a date in the past
    ['exp-minus-1', rawDate('exp', '-1'), 'reject', ['TOKEN_EXPIRED']],
    ['exp-253402300800', rawDate('exp', '253402300800'), 'reject', ['CLAIM_INVALID']],
    ['exp-253402300799', rawDate('exp', '253402300799'), 'accept'],
    ['exp-1e21', rawDate('exp', '1e21'), 'reject', ['CLAIM_INVALID']],
    ['exp-NaN-string', rawDate('exp', '"NaN"'), 'reject', ['CLAIM_INVALID']],
    ['exp-null', rawDate('exp', 'null'), 'reject', ['CLAIM_INVALID']],
    ['exp-true', rawDate('exp', 'true'), 'reject', ['CLAIM_INVALID']],
    ['exp-object', rawDate('exp', `{"valueOf":${now + 600}}`), 'reject', ['CLAIM_INVALID']],
    ['exp-nested', rawDate('exp', `{"$date":{"$numberLong":"${now + 600}"}}`), 'reject', ['CLAIM_INVALID']],
    ['exp-array', rawDate('exp', `[${now + 600}]`), 'reject', ['CLAIM_INVALID']],
    ['exp-fraction', rawDate('exp', `${now + 600}.5`), 'accept'],
    ['exp-exponent-form', rawDate('exp', `${(now + 600) / 1000}e3`), 'accept'],
    ['exp-missing', JSON.stringify(claims({ exp: undefined })), 'reject', ['CLAIM_INVALID']],
    ['iat-1e400', rawDate('iat', '1e400'), 'reject', ['CLAIM_INVALID']],
    ['iat-minus-1', rawDate('iat', '-1'), 'reject', ['CLAIM_INVALID']],
    ['iat-string', rawDate('iat', `"${now}"`), 'reject', ['CLAIM_INVALID']],
    ['iat-far-future', rawDate('iat', String(now + 10 * 365 * 86_400)), 'reject', ['CLAIM_INVALID']],
    ['iat-253402300800', rawDate('iat', '253402300800'), 'reject', ['CLAIM_INVALID']],
    ['nbf-1e400', rawDate('nbf', '1e400'), 'reject', ['CLAIM_INVALID']],
    ['nbf-minus-5', rawDate('nbf', '-5'), 'reject', ['CLAIM_INVALID']],
    ['nbf-string', rawDate('nbf', `"${now}"`), 'reject', ['CLAIM_INVALID']],
    ['nbf-object', rawDate('nbf', '{}'), 'reject', ['CLAIM_INVALID']],
  ];
  for (const [what, payload, expect, codes] of d6) add('D6', what, signTexts(ec, hdr(ec), payload), expect, codes);

  // -- E1: exp required, tolerance, nbf/iat in the future --------------------------------------------
  add('E1', 'exp-29s-ago', good(ec, { iat: now - 600, exp: now - 29 }), 'accept', undefined, 'within the 30 s default tolerance');
  add('E1', 'exp-30s-ago', good(ec, { iat: now - 600, exp: now - 30 }), 'reject', ['TOKEN_EXPIRED'], 'jose: exp <= now - tolerance is expired');
  add('E1', 'exp-31s-ago', good(ec, { iat: now - 600, exp: now - 31 }), 'reject', ['TOKEN_EXPIRED']);
  add('E1', 'exp-1y-ago', good(ec, { iat: now - 2 * 365 * 86_400, exp: now - 365 * 86_400 }), 'reject', ['TOKEN_EXPIRED']);
  add('E1', 'exp-missing', good(ec, { exp: undefined }), 'reject', ['CLAIM_INVALID']);
  add('E1', 'nbf-29s-ahead', good(ec, { nbf: now + 29 }), 'accept');
  add('E1', 'nbf-31s-ahead', good(ec, { nbf: now + 31 }), 'reject', ['CLAIM_INVALID']);
  add('E1', 'nbf-1h-ahead', good(ec, { nbf: now + 3600, exp: now + 7200 }), 'reject', ['CLAIM_INVALID']);
  add('E1', 'iat-29s-ahead', good(ec, { iat: now + 29 }), 'accept');
  add('E1', 'iat-31s-ahead', good(ec, { iat: now + 31 }), 'reject', ['CLAIM_INVALID']);
  add('E1', 'iat-missing', good(ec, { iat: undefined }), 'accept', undefined, 'iat is optional unless maxTokenAgeSec is set');
  add('E1', 'exp-expired-unknown-kid', good(ec, { exp: now - 3600, iat: now - 7200 }, { kid: 'expired-unknown' }), 'reject', ['TOKEN_EXPIRED'], 'pre-gated before any lookup');

  // -- E2: iss exact, aud required and intersecting ------------------------------------------------
  const bare = iss.replace(/\/+$/, '');
  const issVariants: [string, unknown][] = [
    ['no-trailing-slash', bare],
    ['double-trailing-slash', `${bare}//`],
    ['uppercase', iss.toUpperCase()],
    ['uppercase-host-only', iss.replace(/^https:\/\/([^/]+)/, (_m, h: string) => `https://${h.toUpperCase()}`)],
    ['startsWith-trap-dot-evil', `${bare}.evil/`],
    ['startsWith-trap-suffix', `${iss}evil`],
    ['startsWith-trap-path', `${iss}../evil`],
    ['userinfo-trap', iss.replace('https://', 'https://evil.example@')],
    ['http-scheme', iss.replace('https://', 'http://')],
    ['leading-space', ` ${iss}`],
    ['trailing-nul', `${iss}\u0000`],
    ['array', [iss]],
    ['null', null],
    ['number', 1],
    ['foreign-issuer', foreignIss],
  ];
  for (const [what, v] of issVariants) add('E2', `iss-${what}`, good(ec, { iss: v }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'iss-missing', good(ec, { iss: undefined }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'iss-wrong-unknown-kid', good(ec, { iss: `${bare}.evil/` }, { kid: 'iss-unknown' }), 'reject', ['ISSUER_NOT_ALLOWED'], 'pre-gated before any lookup');
  add('E2', 'aud-missing', good(ec, { aud: undefined }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-mismatch', good(ec, { aud: 'api://not-this-one' }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-case', good(ec, { aud: aud.toUpperCase() === aud ? aud.toLowerCase() : aud.toUpperCase() }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-prefix', good(ec, { aud: `${aud}x` }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-empty-array', good(ec, { aud: [] }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-array-no-intersect', good(ec, { aud: ['a', 'b'] }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-object', good(ec, { aud: { [aud]: true } }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-null', good(ec, { aud: null }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-nested-array', good(ec, { aud: [[aud]] }), 'reject', ['CLAIM_INVALID']);
  add('E2', 'aud-array-intersect', good(ec, { aud: ['api://other-service', aud] }), 'accept');
  add('E2', 'aud-array-single', good(ec, { aud: [aud] }), 'accept');

  // -- E5: keys never shared across issuers ------------------------------------------------------------
  add('E5', 'foreign-token-foreign-key', signTexts(foreign, hdr(foreign), claims({ iss: foreignIss })), 'reject', ['ISSUER_NOT_ALLOWED'], "issuer B's genuine token, unknown kid: pre-gated");
  add('E5', 'our-iss-foreign-key-foreign-kid', signTexts(foreign, hdr(foreign), claims()), 'reject', ['KID_NOT_FOUND']);
  add('E5', 'our-iss-foreign-key-our-kid', signTexts(foreign, hdr(ec, { alg: foreign.alg }), claims(), foreign.alg), 'reject', foreign.alg === ec.alg ? ['SIGNATURE_INVALID'] : ['KEY_ALG_MISMATCH']);
  add('E5', 'our-iss-foreign-key-no-kid', signTexts(foreign, hdr(foreign, { kid: undefined }), claims()), 'reject', foreign.alg === 'ES256' ? ['SIGNATURE_INVALID'] : ['KID_REQUIRED']);
  add('E5', 'foreign-iss-our-key', good(ec, { iss: foreignIss }), 'reject', ['CLAIM_INVALID'], 'our own key, but the token names issuer B');

  // ids are unique
  const seen = new Set<string>();
  for (const c of cases) {
    if (seen.has(c.id)) throw new Error(`duplicate hostile case id ${c.id}`);
    seen.add(c.id);
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Property-based token corpus (props-precheck.test.ts, fast-path-differential.test.ts)
// ---------------------------------------------------------------------------------------------

/** One generated token and the key/alg it was built from. */
export interface GeneratedToken {
  token: string;
  /** Index into the `keys` passed to {@link tokenArbitrary}. */
  keyIndex: number;
  header: string;
  payload: string;
}

/** Arbitrary JSON values, including the awkward ones (NaN and ±Infinity become null in JSON). */
const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Arbitrary claim sets around the expected values (so a good share verifies). */
export function claimsArbitrary(nowSec: number, iss: string, aud: string): fc.Arbitrary<string> {
  /** A NumericDate-ish value: mostly a plausible integer in [lo, hi], sometimes anything. */
  const date = (lo: number, hi: number) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.integer({ min: nowSec + lo, max: nowSec + hi }) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(0, -1, 253_402_300_799, 253_402_300_800, 1e21, nowSec + 0.5, nowSec - 30, nowSec + 30, nowSec - 31, nowSec + 31) },
      { weight: 1, arbitrary: fc.double() },
      { weight: 1, arbitrary: anyJson },
      { weight: 1, arbitrary: fc.constantFrom('\u0000raw:1e400', '\u0000raw:-1e400', `\u0000raw:${nowSec + 60}.0e0`) },
    );
  const opt = <T>(a: fc.Arbitrary<T>, wPresent: number): fc.Arbitrary<T | undefined> => fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: wPresent, arbitrary: a });
  const issA = fc.oneof({ weight: 8, arbitrary: fc.constant<unknown>(iss) }, { weight: 1, arbitrary: fc.constantFrom<unknown>(iss.replace(/\/$/, ''), `${iss}x`, iss.toUpperCase()) }, { weight: 1, arbitrary: anyJson });
  const audA = fc.oneof(
    { weight: 6, arbitrary: fc.constant<unknown>(aud) },
    { weight: 2, arbitrary: fc.array(fc.oneof(fc.constant<unknown>(aud), fc.string({ maxLength: 4 }), anyJson), { maxLength: 3 }) },
    { weight: 1, arbitrary: anyJson },
  );
  const extra = fc.dictionary(fc.constantFrom('sub', 'jti', 'tid', 'scope', '__proto__', 'constructor', 'toString', 'x'), anyJson, { maxKeys: 3 });
  return fc
    .record({ iss: opt(issA, 10), aud: opt(audA, 10), exp: opt(date(-45, 3600), 12), nbf: opt(date(-3600, 45), 1), iat: opt(date(-400, 45), 3), extra })
    .map(({ extra: ex, ...c }) => {
      const pairs: string[] = [];
      for (const [k, v] of Object.entries(ex)) pairs.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
      for (const [k, v] of Object.entries(c)) {
        if (v === undefined) continue;
        if (typeof v === 'string' && v.startsWith('\u0000raw:')) pairs.push(`${JSON.stringify(k)}:${v.slice(5)}`);
        else pairs.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
      }
      return `{${pairs.join(',')}}`;
    });
}

/** Arbitrary protected headers for a key: mostly right, sometimes hostile. */
export function headerArbitrary(key: SigningKey): fc.Arbitrary<string> {
  const alg = fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>(key.alg) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('none', 'HS256', 'RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519', key.alg.toLowerCase()) },
    { weight: 1, arbitrary: anyJson },
  );
  const kid = fc.oneof(
    { weight: 12, arbitrary: fc.constant<unknown>(key.kid) },
    { weight: 1, arbitrary: fc.constant<unknown>(undefined) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>('', 'k'.repeat(257), '__proto__', 'toString', `${key.kid} `) },
    { weight: 1, arbitrary: anyJson },
  );
  const optional = (a: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });
  return fc
    .record({
      alg,
      kid,
      typ: optional(fc.oneof(fc.constantFrom('JWT', 'jwt', 'at+jwt', 'application/at+jwt', 'AT+JWT', 'application/jwt', ''), anyJson)),
      crit: optional(fc.oneof(fc.constantFrom<unknown>(['b64'], ['exp'], [], ['x'], 'b64'), anyJson)),
      b64: optional(fc.oneof(fc.boolean(), anyJson)),
      jku: optional(fc.constant('http://127.0.0.1:9/jwks.json')),
      extra: fc.dictionary(fc.constantFrom('cty', 'x5t', 'zip', '__proto__', 'x'), anyJson, { maxKeys: 2 }),
    })
    .map(({ extra, ...h }) => {
      const pairs: string[] = [];
      for (const [k, v] of Object.entries(h)) if (v !== undefined) pairs.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
      for (const [k, v] of Object.entries(extra)) pairs.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
      return `{${pairs.join(',')}}`;
    });
}

/**
 * Tokens signed by one of `keys` (with the key's own algorithm, whatever the header says), with
 * arbitrary headers and claim sets, and sometimes a mutated string.
 */
export function tokenArbitrary(keys: readonly SigningKey[], nowSec: number, iss: string, aud: string): fc.Arbitrary<GeneratedToken> {
  const claims = claimsArbitrary(nowSec, iss, aud);
  return fc
    .nat({ max: keys.length - 1 })
    .chain((keyIndex) => fc.tuple(fc.constant(keyIndex), headerArbitrary(keys[keyIndex]!), claims, fc.nat({ max: 11 }), fc.nat()))
    .map(([keyIndex, header, payload, mutation, pos]) => {
      const key = keys[keyIndex]!;
      let token = signTexts(key, header, payload);
      if (mutation === 9) {
        const i = pos % token.length;
        if (token[i] !== '.') token = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
      } else if (mutation === 10) {
        token = token.slice(0, token.length - 1 - (pos % 6));
      } else if (mutation === 11) {
        token = withSig(token, Buffer.alloc(sigOf(token).length));
      }
      return { token, keyIndex, header, payload };
    });
}

/** A seeded corpus of `n` generated tokens (deterministic for a given seed). */
export function tokenCorpus(keys: readonly SigningKey[], nowSec: number, iss: string, aud: string, n: number, seed = 42): GeneratedToken[] {
  return fc.sample(tokenArbitrary(keys, nowSec, iss, aud), { seed, numRuns: n });
}
