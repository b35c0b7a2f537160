import { generateKeyPairSync, sign as cryptoSign, constants as cryptoConstants, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

export type TestAlg = 'RS256' | 'PS256' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: TestAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Public JWK as an IdP would publish it (with kid, alg, use). */
  jwk: Record<string, unknown>;
}

const cache = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();

function pair(alg: TestAlg, fresh: boolean): { privateKey: KeyObject; publicKey: KeyObject } {
  if (!fresh && cache.has(alg)) return cache.get(alg)!;
  let p: { privateKey: KeyObject; publicKey: KeyObject };
  switch (alg) {
    case 'RS256':
    case 'PS256':
      p = generateKeyPairSync('rsa', { modulusLength: 2048 });
      break;
    case 'ES256':
      p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      break;
    case 'ES384':
      p = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      break;
    case 'ES512':
      p = generateKeyPairSync('ec', { namedCurve: 'P-521' });
      break;
    case 'EdDSA':
      p = generateKeyPairSync('ed25519');
      break;
  }
  if (!fresh) cache.set(alg, p);
  return p;
}

/**
 * A signing key. Keys are generated once per algorithm and process unless `fresh` is set
 * (RSA generation is slow); give distinct kids to distinct logical keys that need distinct
 * material.
 */
export function makeKey(kid: string, alg: TestAlg = 'ES256', opts: { fresh?: boolean; withAlg?: boolean } = {}): SigningKey {
  const { privateKey, publicKey } = pair(alg, opts.fresh ?? true);
  const jwk: Record<string, unknown> = { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' };
  if (opts.withAlg ?? true) jwk.alg = alg;
  return { kid, alg, privateKey, publicKey, jwk };
}

export interface MintOptions {
  iss?: string;
  aud?: string | string[];
  expSec?: number;
  nowSec?: number;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  kid?: string | null;
}

export const ISS = 'https://idp.test/';
export const AUD = 'api://test';

/** Mint a JWT with sane defaults (iss ISS, aud AUD, exp in 10 min). */
export async function mint(key: SigningKey, o: MintOptions = {}): Promise<string> {
  const now = o.nowSec ?? Math.floor(Date.now() / 1000);
  const header: Record<string, unknown> = { alg: key.alg, typ: 'JWT', ...o.header };
  if (o.kid !== null) header.kid = o.kid ?? key.kid;
  const jwt = new SignJWT({ sub: 'user-1', ...o.claims })
    .setProtectedHeader(header as { alg: string })
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expSec ?? 600));
  if (o.iss !== undefined || !('iss' in (o.claims ?? {}))) jwt.setIssuer(o.iss ?? ISS);
  if (o.aud !== undefined || !('aud' in (o.claims ?? {}))) jwt.setAudience(o.aud ?? AUD);
  return jwt.sign(key.privateKey);
}

/** A token with a random kid and valid-looking claims, signed with a key nobody publishes. */
export function attackerToken(kid: string, nowSec: number, sig = 'c2lnbmF0dXJl'): string {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' })).toString('base64url');
  const p = Buffer.from(JSON.stringify({ iss: ISS, aud: AUD, sub: 'x', iat: nowSec, exp: nowSec + 600 })).toString('base64url');
  return `${h}.${p}.${sig}`;
}

/**
 * Sign arbitrary header/payload JSON text by hand with node:crypto (SignJWT refuses odd claim
 * sets, and hostile tests need exactly the bytes they describe).
 */
export function signRaw(key: SigningKey, header: Record<string, unknown> | string, payload: Record<string, unknown> | string): string {
  const enc = (v: Record<string, unknown> | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const input = `${enc(typeof header === 'string' ? header : { alg: key.alg, kid: key.kid, ...header })}.${enc(payload)}`;
  const data = Buffer.from(input);
  let sig: Buffer;
  switch (key.alg) {
    case 'ES256':
      sig = cryptoSign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'ES384':
      sig = cryptoSign('sha384', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'ES512':
      sig = cryptoSign('sha512', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'PS256':
      sig = cryptoSign('sha256', data, { key: key.privateKey, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: cryptoConstants.RSA_PSS_SALTLEN_DIGEST });
      break;
    case 'EdDSA':
      sig = cryptoSign(null, data, key.privateKey);
      break;
    default:
      sig = cryptoSign('sha256', data, key.privateKey);
  }
  return `${input}.${sig.toString('base64url')}`;
}
