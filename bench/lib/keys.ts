/**
 * Key material and tokens for the benchmark. The orchestrator generates the key ring once per
 * run of the suite and hands the private keys to every IdP process it starts, so token pools
 * minted once (by an IdP) stay valid for every IdP instance: a library under test cannot tell
 * two instances apart except by their URLs.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';

export type BenchAlg = 'RS256' | 'ES256' | 'EdDSA';
export const BENCH_ALGS: readonly BenchAlg[] = ['RS256', 'ES256', 'EdDSA'];

/** The issuer and audience every token carries (the issuer is a name, not a URL the libraries fetch). */
export const ISSUER = 'https://idp.bench.example/';
export const AUDIENCE = 'api://bench';

/** A key as it travels between processes: its kid, alg and private JWK. */
export interface KeySpec {
  kid: string;
  alg: BenchAlg;
  privateJwk: JsonWebKey;
}

export function generateKeySpec(kid: string, alg: BenchAlg): KeySpec {
  const pair =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('ed25519');
  return { kid, alg, privateJwk: pair.privateKey.export({ format: 'jwk' }) };
}

export interface LoadedKey {
  kid: string;
  alg: BenchAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public JWK as the IdP publishes it: kid, alg, use. */
  publicJwk: Record<string, unknown>;
}

export function loadKey(spec: KeySpec): LoadedKey {
  const privateKey = createPrivateKey({ key: spec.privateJwk, format: 'jwk' });
  const publicKey = createPublicKey(privateKey);
  const publicJwk: Record<string, unknown> = { ...publicKey.export({ format: 'jwk' }), kid: spec.kid, alg: spec.alg, use: 'sig' };
  return { kid: spec.kid, alg: spec.alg, privateKey, publicKey, publicJwk };
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * Attacker tokens: a random `kid`, claims that pass every cheap check (right issuer and
 * audience, not expired) and a signature of the right length that verifies with nothing.
 * Built by string concatenation (about a microsecond each) so the generator costs little CPU
 * in the process under test, and never kept in memory (every token is fresh).
 */
export class AttackerTokens {
  readonly #payload: string;
  readonly #sig: string;
  readonly #prefix: string;
  #n = 0;

  constructor(nowSec = Math.floor(Date.now() / 1000)) {
    this.#payload = b64({ iss: ISSUER, aud: AUDIENCE, sub: 'attacker', iat: nowSec, exp: nowSec + 3 * 86_400 });
    this.#sig = randomBytes(256).toString('base64url');
    this.#prefix = randomBytes(6).toString('base64url');
  }

  next(): string {
    const kid = `${this.#prefix}${(this.#n++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    const header = Buffer.from(`{"alg":"RS256","kid":"${kid}","typ":"JWT"}`).toString('base64url');
    return `${header}.${this.#payload}.${this.#sig}`;
  }

  get count(): number {
    return this.#n;
  }
}
