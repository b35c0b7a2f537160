/**
 * One small adapter per library under test. Each is used with its documented defaults; the
 * only departures are listed in `notes` and in docs/benchmarks.md. Libraries are imported
 * lazily inside `create`, so a library process loads only the library it measures (peak RSS
 * compares like with like).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ManualClock } from '../../src/testing/index.js';
import { AUDIENCE, ISSUER, type BenchAlg } from './keys.js';

export type AdapterId =
  | 'jwks-keeper'
  | 'jose'
  | 'jwks-rsa'
  | 'jwks-rsa-ratelimit'
  | 'aws-jwt-verify'
  | 'get-jwks'
  | 'jose-static'
  | 'node-crypto';

export interface AdapterContext {
  jwksUrl: string;
  /** Base URL of the IdP's public port (what get-jwks calls the "domain"). */
  baseUrl: string;
  /** jwks-keeper only: an injected clock and scheduler (simulated time). */
  manualClock?: ManualClock;
  /** Options merged over the library's defaults (the demo shortens cache lifetimes). */
  overrides?: Record<string, unknown>;
  /** jwks-keeper only: receives its events (demo). */
  onEvent?: (name: string, payload: unknown) => void;
}

export interface AdapterInstance {
  /** Resolves when the token is accepted, rejects when it is not. */
  verify(token: string): Promise<unknown>;
  close(): Promise<void>;
}

export interface AdapterSpec {
  id: AdapterId;
  /** Display name in tables. */
  label: string;
  /** npm packages whose versions are reported. */
  packages: string[];
  /** Algorithms it can verify from a JWKS (others are reported n/a). */
  algs: readonly BenchAlg[];
  /** Fetches keys from the IdP (false: baselines with keys given at start). */
  remote: boolean;
  /** How time is simulated for the long-outage scenario. */
  timeSimulation: 'manual-clock' | 'fake-date' | 'none';
  /** Configuration beyond the defaults, and why. */
  notes: string;
  create(ctx: AdapterContext): Promise<AdapterInstance>;
}

const ALL_ALGS: readonly BenchAlg[] = ['RS256', 'ES256', 'EdDSA'];

async function fetchJwks(url: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`JWKS ${res.status}`);
  return ((await res.json()) as { keys: Record<string, unknown>[] }).keys;
}

/** The short code of an error, for rejection breakdowns. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; name?: unknown; originalError?: unknown; constructor?: { name?: string } };
    const base = typeof e.code === 'string' ? e.code : typeof e.name === 'string' && e.name !== 'Error' ? e.name : (e.constructor?.name ?? 'Error');
    if (base === 'FAST_JWT_KEY_FETCHING_ERROR' && e.originalError) return `${base}/${errorCode(e.originalError)}`;
    return base;
  }
  return typeof err;
}

export const ADAPTERS: Record<AdapterId, AdapterSpec> = {
  'jwks-keeper': {
    id: 'jwks-keeper',
    label: 'jwks-keeper',
    packages: ['jwks-keeper'],
    algs: ALL_ALGS,
    remote: true,
    timeSimulation: 'manual-clock',
    notes: 'createVerifier({ issuer, audience, jwksUri }); no clientId passed (the attacker and the users are not told apart).',
    async create(ctx) {
      const { createVerifier } = await import('../../src/index.js');
      const cacheOptions: Record<string, unknown> = { ...(ctx.overrides ?? {}) };
      if (ctx.manualClock) {
        cacheOptions.clock = ctx.manualClock;
        cacheOptions.scheduler = ctx.manualClock;
      }
      const v = createVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: ctx.jwksUrl, cacheOptions });
      if (ctx.onEvent) {
        const on = ctx.onEvent;
        for (const name of ['keys.changed', 'key.firstUsed', 'refresh.failed', 'keys.staleServed', 'refresh.succeeded'] as const) {
          v.keys.on(name, (e: unknown) => on(name, e));
        }
      }
      return { verify: (t) => v.verify(t), close: () => v.close() };
    },
  },
  jose: {
    id: 'jose',
    label: 'jose remote',
    packages: ['jose'],
    algs: ALL_ALGS,
    remote: true,
    timeSimulation: 'fake-date',
    notes: 'createRemoteJWKSet(url) + jwtVerify(token, JWKS, { issuer, audience }).',
    async create(ctx) {
      const { createRemoteJWKSet, jwtVerify } = await import('jose');
      const jwks = createRemoteJWKSet(new URL(ctx.jwksUrl), { ...(ctx.overrides ?? {}) });
      return { verify: (t) => jwtVerify(t, jwks, { issuer: ISSUER, audience: AUDIENCE }), close: async () => {} };
    },
  },
  'jwks-rsa': {
    id: 'jwks-rsa',
    label: 'jwks-rsa',
    packages: ['jwks-rsa', 'jsonwebtoken'],
    algs: ['RS256', 'ES256'],
    remote: true,
    timeSimulation: 'fake-date',
    notes: "jwksClient({ jwksUri }) with jsonwebtoken's verify(token, getKey, { issuer, audience }, cb), as in its README. jsonwebtoken has no EdDSA.",
    async create(ctx) {
      return jwksRsa(ctx, {});
    },
  },
  'jwks-rsa-ratelimit': {
    id: 'jwks-rsa-ratelimit',
    label: 'jwks-rsa rateLimit',
    packages: ['jwks-rsa', 'jsonwebtoken'],
    algs: ['RS256', 'ES256'],
    remote: true,
    timeSimulation: 'fake-date',
    notes: 'As jwks-rsa, with rateLimit: true (jwksRequestsPerMinute default 10), as its README recommends.',
    async create(ctx) {
      return jwksRsa(ctx, { rateLimit: true });
    },
  },
  'aws-jwt-verify': {
    id: 'aws-jwt-verify',
    label: 'aws-jwt-verify',
    packages: ['aws-jwt-verify'],
    algs: ALL_ALGS,
    remote: true,
    timeSimulation: 'fake-date',
    notes:
      'JwtVerifier.create({ issuer, audience, jwksUri }). Its fetcher uses https.request only, so the default SimpleJwksCache/SimpleFetcher get an http keep-alive agent (the only change; penalty box and caching are the defaults).',
    async create(ctx) {
      const http = await import('node:http');
      const { JwtVerifier } = await import('aws-jwt-verify');
      const { SimpleJwksCache } = await import('aws-jwt-verify/jwk');
      const { SimpleFetcher } = await import('aws-jwt-verify/https');
      const agent = new http.Agent({ keepAlive: true });
      const jwksCache = new SimpleJwksCache({ fetcher: new SimpleFetcher({ defaultRequestOptions: { agent } }) });
      const v = JwtVerifier.create({ issuer: ISSUER, audience: AUDIENCE, jwksUri: ctx.jwksUrl }, { jwksCache });
      return {
        verify: (t) => v.verify(t),
        close: async () => agent.destroy(),
      };
    },
  },
  'get-jwks': {
    id: 'get-jwks',
    label: 'get-jwks + fast-jwt',
    packages: ['get-jwks', 'fast-jwt'],
    algs: ['RS256', 'ES256'],
    remote: true,
    timeSimulation: 'fake-date',
    notes:
      "buildGetJwks({ issuersWhitelist: [domain] }) + fast-jwt createVerifier({ key: ({ header }) => getJwks.getPublicKey({ kid, alg, domain }), allowedIss, allowedAud }), as in get-jwks' README. jwk-to-pem has no OKP, so no EdDSA.",
    async create(ctx) {
      const { default: buildGetJwks } = await import('get-jwks');
      const { createVerifier } = await import('fast-jwt');
      const domain = `${ctx.baseUrl}/`;
      const getJwks = buildGetJwks({ issuersWhitelist: [domain], ...(ctx.overrides ?? {}) });
      const verify = createVerifier({
        key: async ({ header }: { header: { kid?: string; alg?: string } }) => getJwks.getPublicKey({ kid: header.kid, alg: header.alg, domain }),
        allowedIss: ISSUER,
        allowedAud: AUDIENCE,
      });
      return { verify: (t) => verify(t) as Promise<unknown>, close: async () => {} };
    },
  },
  'jose-static': {
    id: 'jose-static',
    label: 'baseline: jose static key',
    packages: ['jose'],
    algs: ALL_ALGS,
    remote: false,
    timeSimulation: 'none',
    notes: 'jwtVerify(token, getter returning a pre-imported KeyObject by kid, { issuer, audience }): the floor any jose-based verifier pays.',
    async create(ctx) {
      const { importJWK, jwtVerify } = await import('jose');
      const keys = new Map<string, unknown>();
      for (const jwk of await fetchJwks(ctx.jwksUrl)) keys.set(String(jwk.kid), await importJWK(jwk as never, String(jwk.alg)));
      const getter = (h: { kid?: string }) => {
        const k = keys.get(h.kid ?? '');
        if (!k) throw new Error('no key');
        return k as never;
      };
      return { verify: (t) => jwtVerify(t, getter, { issuer: ISSUER, audience: AUDIENCE }), close: async () => {} };
    },
  },
  'node-crypto': {
    id: 'node-crypto',
    label: 'baseline: node:crypto',
    packages: [],
    algs: ALL_ALGS,
    remote: false,
    timeSimulation: 'none',
    notes: 'Split, JSON-parse header and payload, crypto.verify with a prepared KeyObject; no claim checks. The ceiling.',
    async create(ctx) {
      const crypto = await import('node:crypto');
      const keys = new Map<string, { key: import('node:crypto').KeyObject; alg: string }>();
      for (const jwk of await fetchJwks(ctx.jwksUrl)) {
        keys.set(String(jwk.kid), { key: crypto.createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }), alg: String(jwk.alg) });
      }
      const verify = async (token: string): Promise<unknown> => {
        const a = token.indexOf('.');
        const b = token.indexOf('.', a + 1);
        const header = JSON.parse(Buffer.from(token.slice(0, a), 'base64url').toString()) as { kid?: string; alg?: string };
        const payload = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString()) as unknown;
        const k = keys.get(header.kid ?? '');
        if (!k || k.alg !== header.alg) throw new Error('no key');
        const data = Buffer.from(token.slice(0, b));
        const sig = Buffer.from(token.slice(b + 1), 'base64url');
        const ok =
          k.alg === 'EdDSA'
            ? crypto.verify(null, data, k.key, sig)
            : crypto.verify('sha256', data, k.alg === 'ES256' ? { key: k.key, dsaEncoding: 'ieee-p1363' } : k.key, sig);
        if (!ok) throw new Error('bad signature');
        return payload;
      };
      return { verify, close: async () => {} };
    },
  },
};

async function jwksRsa(ctx: AdapterContext, extra: Record<string, unknown>): Promise<AdapterInstance> {
  const { default: jwksClient } = await import('jwks-rsa');
  const { default: jwt } = await import('jsonwebtoken');
  const client = jwksClient({ jwksUri: ctx.jwksUrl, ...extra, ...(ctx.overrides ?? {}) });
  const getKey: import('jsonwebtoken').GetPublicKeyOrSecret = (header, callback) => {
    client.getSigningKey(header.kid, (err, key) => {
      if (err || !key) return callback(err ?? new Error('no key'));
      callback(null, 'publicKey' in key ? key.publicKey : key.rsaPublicKey);
    });
  };
  return {
    verify: (token) =>
      new Promise((resolve, reject) => {
        jwt.verify(token, getKey, { issuer: ISSUER, audience: AUDIENCE }, (err, decoded) => (err ? reject(err) : resolve(decoded)));
      }),
    close: async () => {},
  };
}

export const REMOTE_ADAPTERS: AdapterId[] = ['jwks-keeper', 'jose', 'jwks-rsa', 'jwks-rsa-ratelimit', 'aws-jwt-verify', 'get-jwks'];
export const ALL_ADAPTERS: AdapterId[] = [...REMOTE_ADAPTERS, 'jose-static', 'node-crypto'];

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Installed versions of an adapter's packages, e.g. `jwks-rsa 4.1.0 + jsonwebtoken 9.0.3`. */
export function adapterVersions(id: AdapterId): string {
  const spec = ADAPTERS[id];
  if (spec.packages.length === 0) return `node ${process.versions.node}`;
  return spec.packages
    .map((p) => {
      const file = p === 'jwks-keeper' ? `${root}package.json` : `${root}node_modules/${p}/package.json`;
      try {
        return `${p} ${(JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version}`;
      } catch {
        return `${p} ?`;
      }
    })
    .join(' + ');
}
