/**
 * End to end against a real OpenID Provider (panva's `oidc-provider`, started here on
 * 127.0.0.1): discovery from the issuer alone, JWT access tokens (RFC 9068, client
 * credentials + resource indicators) and ID tokens (authorization code flow) verified, and
 * the provider's key rotation (publish, switch signing key, retire) picked up with zero
 * rejections while tokens keep flowing.
 *
 * oidc-provider 9 prints "Unsupported runtime" on Node 20 but works for these flows.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import { createDiscoveredVerifier } from '../../src/discovery/index.js';
import type { DiscoveredVerifier } from '../../src/discovery/index.js';
import { createVerifier } from '../../src/index.js';
import type { Verifier } from '../../src/index.js';

const RESOURCE = 'api://orders';
const REDIRECT = 'http://127.0.0.1/cb';

function signingJwk(kid: string): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

let server: Server;
let issuer = '';
let provider: Provider;
let handler: (req: IncomingMessage, res: ServerResponse) => void;
const quiet = console.warn;

/** (Re)start the provider with these signing keys (the first one signs), on the same issuer. */
function configure(keys: Record<string, unknown>[]): void {
  provider = new Provider(issuer, {
    jwks: { keys },
    clients: [
      { client_id: 'svc', client_secret: 'svc-secret', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: 'web', client_secret: 'web-secret', grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [REDIRECT] },
    ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'orders:read', audience: RESOURCE, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
      },
    },
    pkce: { required: () => false },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
  });
  const callback = provider.callback();
  handler = (req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      void interact(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
      return;
    }
    callback(req, res);
  };
}

/** The login and consent screens, answered at once for user-1. */
async function interact(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: 'user-1' } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: details.params.client_id as string });
  grant.addOIDCScope('openid');
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
}

before(async () => {
  console.warn = () => {}; // oidc-provider's development warnings
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  console.warn = quiet;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function accessToken(): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('svc:svc-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: RESOURCE, scope: 'orders:read' }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token!;
}

/** Authorization code flow with a tiny cookie jar; returns the ID token. */
async function idToken(): Promise<string> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = `${issuer}/auth?${new URLSearchParams({ client_id: 'web', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, nonce: 'n-1', state: 's-1' })}`;
  for (let hop = 0; hop < 10 && !url.startsWith(REDIRECT); hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: cookie() } });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    await res.arrayBuffer();
    const location = res.headers.get('location');
    assert.ok(location, `hop ${hop}: ${res.status} without location`);
    url = new URL(location, url).href;
  }
  const code = new URL(url).searchParams.get('code');
  assert.ok(code, url);
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from('web:web-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT }),
  });
  const body = (await res.json()) as { id_token?: string };
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.id_token!;
}

const header = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string; typ?: string };

test('discovery, JWT access tokens, ID tokens, and a key rotation with zero rejections', async () => {
  const k1 = signingJwk('k1');
  const k2 = signingJwk('k2');
  configure([k1]);

  // issuer alone: the JWKS URL comes from the provider's discovery document
  const atVerifier: DiscoveredVerifier = createDiscoveredVerifier({ issuer, audience: RESOURCE, typ: 'at+jwt' });
  await atVerifier.ready();
  assert.equal(atVerifier.discovery.current()?.jwksUri, `${issuer}/jwks`);
  const idVerifier: Verifier = createVerifier({ issuer, audience: 'web', keys: atVerifier.keys()! });
  // and createVerifier with issuer + audience only: discovery inside the cache
  const plain = createVerifier({ issuer, audience: RESOURCE, typ: 'at+jwt' });
  assert.equal((await plain.verify(await accessToken())).payload.aud, RESOURCE);

  let verified = 0;
  const rejections: string[] = [];
  const kids = new Set<string>();
  async function round(): Promise<void> {
    for (const [token, v] of [
      [await accessToken(), atVerifier],
      [await idToken(), idVerifier],
    ] as const) {
      kids.add(header(token).kid);
      await v.verify(token).then(
        (r) => {
          verified++;
          assert.equal(r.payload.iss, issuer);
        },
        (e: { code?: string }) => rejections.push(`${header(token).kid}: ${e.code}`),
      );
    }
  }

  const at = await accessToken();
  assert.equal(header(at).typ, 'at+jwt');
  const r = await atVerifier.verify(at);
  assert.equal(r.payload.aud, RESOURCE);
  assert.equal(r.payload.client_id, 'svc');
  const it = await idVerifier.verify(await idToken());
  assert.equal(it.payload.sub, 'user-1');
  assert.equal(it.payload.nonce, 'n-1');

  // rotation, as an operator does it: publish k2, sign with k2, retire k1; tokens keep flowing
  await round();
  configure([k1, k2]); // k2 published, k1 still signs
  await round();
  configure([k2, k1]); // k2 signs: our cache has never seen k2 (its 10 min freshness has not elapsed)
  await round();
  configure([k2]); // k1 retired
  await round();

  assert.deepEqual(rejections, []);
  assert.equal(verified, 8);
  assert.deepEqual([...kids].sort(), ['k1', 'k2']);
  const stats = atVerifier.keys()!.stats();
  assert.ok(stats.fetches <= 3, `JWKS requests: ${stats.fetches}`);
  assert.equal((await plain.verify(await accessToken())).key.kid, 'k2');
  await plain.close();
  await atVerifier.close();
});
