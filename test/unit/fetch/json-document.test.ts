/**
 * fetchJsonDocument: the transport for any bounded JSON document. Failures are reported by
 * neutral kind and mapped to codes by the DocumentResource (JWKS_RESOURCE → JWKS_* codes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeysUnavailableError } from '../../../src/errors.js';
import type { DocumentFailure, DocumentResource, FetchLike } from '../../../src/fetch/transport.js';
import { fetchJsonDocument, fetchJwksDocument, JWKS_RESOURCE } from '../../../src/fetch/transport.js';
import { ManualClock } from '../../../src/testing/index.js';

const limits = { timeoutMs: 1_000, maxResponseBytes: 1_024, allowRedirects: false, allowInsecureHttp: false, acceptAnyContentType: false };
const url = new URL('https://idp.test/.well-known/openid-configuration');

function answer(status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const seen: Record<string, string>[] = [];
  const fetch: FetchLike = async (_u, init) => {
    seen.push(init.headers);
    return new Response(status === 304 ? null : body, { status, headers });
  };
  return { fetch, seen };
}

test('a discovery-like resource: its accept header is sent and each failure kind reaches its mapper', async () => {
  const kinds: DocumentFailure[] = [];
  const discovery: DocumentResource = {
    label: 'discovery document',
    urlName: 'issuer',
    accept: 'application/json',
    fail: (kind, message, options) => (kinds.push(kind), new KeysUnavailableError('JWKS_HTTP_STATUS', message, options)),
  };
  const clock = new ManualClock();
  const ok = answer(200, '{"jwks_uri":"https://idp.test/jwks"}');
  const r = await fetchJsonDocument(url, {}, limits, { fetch: ok.fetch, clock, scheduler: clock }, discovery);
  assert.equal(r.kind, 'modified');
  assert.deepEqual(r.kind === 'modified' && r.body, { jwks_uri: 'https://idp.test/jwks' });
  assert.equal(ok.seen[0]?.accept, 'application/json');
  const cases: [ReturnType<typeof answer>, DocumentFailure][] = [
    [answer(500, 'x'), 'http-status'],
    [answer(200, 'not json'), 'malformed'],
    [answer(200, '<html>', { 'content-type': 'text/html' }), 'malformed'],
    [answer(200, 'x'.repeat(2_000)), 'too-large'],
    [answer(302, '', { location: 'https://elsewhere.test/' }), 'redirect'],
  ];
  for (const [a, kind] of cases) {
    kinds.length = 0;
    await assert.rejects(fetchJsonDocument(url, {}, limits, { fetch: a.fetch, clock, scheduler: clock }, discovery), KeysUnavailableError);
    assert.deepEqual(kinds, [kind]);
  }
});

test('JWKS_RESOURCE maps the kinds to the public JWKS_* codes; fetchJwksDocument uses it', async () => {
  const table: [DocumentFailure, string][] = [
    ['timeout', 'JWKS_TIMEOUT'],
    ['too-large', 'JWKS_TOO_LARGE'],
    ['redirect', 'JWKS_REDIRECT'],
    ['http-status', 'JWKS_HTTP_STATUS'],
    ['network', 'JWKS_NETWORK'],
    ['malformed', 'JWKS_MALFORMED'],
  ];
  for (const [kind, code] of table) assert.equal(JWKS_RESOURCE.fail(kind, 'm').code, code);
  const clock = new ManualClock();
  const a = answer(503, 'down');
  await assert.rejects(fetchJwksDocument(url, {}, limits, { fetch: a.fetch, clock, scheduler: clock }), (e: unknown) => (e as { code?: string }).code === 'JWKS_HTTP_STATUS');
  assert.equal(a.seen[0]?.accept, 'application/jwk-set+json, application/json');
});
