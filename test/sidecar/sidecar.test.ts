/**
 * The sidecar over real sockets on 127.0.0.1: the JWKS mirror used by a JWT library that knows
 * nothing of us (jose's createRemoteJWKSet), POST /verify, rotation reaching an SSE client and
 * a webhook receiver (signature checked) within one refresh, Last-Event-ID resume, an IdP
 * outage, and the limits (body, header size, slow headers, SSE client cap).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createSidecar, verifyWebhookSignature } from '../../src/sidecar/index.js';
import type { Sidecar, SidecarConfig } from '../../src/sidecar/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey, mint } from '../helpers/keys.js';
import { OidcIdp } from '../cli/helpers.js';
import { Receiver, SseClient, send } from './helpers.js';

const SECRET = 'webhook-secret-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'ES256');

async function setup(opts: { config?: Partial<SidecarConfig>; webhook?: boolean; clock?: ManualClock; idp?: FakeIdp } = {}) {
  const idp = await new OidcIdp(opts.idp ?? new FakeIdp(k1)).start();
  cleanups.push(() => idp.stop());
  const receiver = opts.webhook ? await new Receiver().start() : undefined;
  if (receiver) cleanups.push(() => receiver.stop());
  const logs: Record<string, unknown>[] = [];
  const config: SidecarConfig = {
    port: 0,
    issuers: [{ name: 'idp', issuer: idp.base, jwksUri: idp.jwksUrl, audience: 'api', cache: { minRefreshIntervalMs: 0 } }],
    ...(receiver ? { webhooks: [{ url: receiver.url, secret: SECRET }] } : {}),
    ...opts.config,
    limits: { webhookBackoffInitialMs: 5, webhookBackoffMaxMs: 20, shutdownTimeoutMs: 2_000, ...opts.config?.limits },
  };
  const sidecar = createSidecar(config, { log: (l) => logs.push(l), ...(opts.clock ? { cacheOptions: { clock: opts.clock, scheduler: opts.clock, fetch: idp.idp.fetch } } : {}) });
  cleanups.push(() => sidecar.close());
  const url = await sidecar.start();
  await sidecar.caches.get('idp')!.ready();
  return { idp, receiver, sidecar, url, logs };
}

test('the mirror: jose createRemoteJWKSet verifies tokens through it; ETag, Cache-Control, 304; public members only', async () => {
  const { idp, url } = await setup();
  const mirror = `${url}/issuers/idp/jwks.json`;
  const jwks = createRemoteJWKSet(new URL(mirror));
  const token = await mint(k1, { iss: idp.base, aud: 'api' });
  const r = await jwtVerify(token, jwks, { issuer: idp.base, audience: 'api' });
  assert.equal(r.payload.sub, 'user-1');
  const before = idp.idp.requests;
  const first = await send(mirror);
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-type'], 'application/jwk-set+json');
  const maxAge = Number(/max-age=(\d+)/.exec(String(first.headers['cache-control']))?.[1]);
  assert.ok(maxAge > 0 && maxAge <= 300, `max-age ${maxAge}`);
  const body = JSON.parse(first.text) as { keys: Record<string, unknown>[] };
  assert.deepEqual(body.keys.map((k) => k.kid), ['k1']);
  assert.ok(!body.keys.some((k) => 'd' in k), 'no private member');
  const etag = String(first.headers.etag);
  const again = await send(mirror, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  assert.equal(idp.idp.requests, before, 'mirror requests never reach the IdP');
  assert.equal((await send(`${url}/issuers/nope/jwks.json`)).status, 404);
  assert.equal((await send(mirror, { method: 'POST' })).status, 405);
});

test('POST /verify: Bearer or JSON body → 200 with claims; 401 with the code; 400 for bad requests; 405', async () => {
  const { idp, url, sidecar } = await setup();
  const token = await mint(k1, { iss: idp.base, aud: 'api' });
  const bearer = await send(`${url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  assert.equal(bearer.status, 200);
  const ok = JSON.parse(bearer.text) as Record<string, any>;
  assert.equal(ok.valid, true);
  assert.equal(ok.issuer, 'idp');
  assert.equal(ok.claims.sub, 'user-1');
  assert.equal(ok.key.kid, 'k1');
  const body = await send(`${url}/verify`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-client-id': '203.0.113.7' }, body: JSON.stringify({ token, clientId: 'user-42' }) });
  assert.equal(body.status, 200);
  const wrongAud = await send(`${url}/verify`, { method: 'POST', body: JSON.stringify({ token: await mint(k1, { iss: idp.base, aud: 'other' }) }) });
  assert.equal(wrongAud.status, 401);
  assert.equal(JSON.parse(wrongAud.text).code, 'CLAIM_INVALID');
  const clients: (string | undefined)[] = [];
  sidecar.caches.get('idp')!.on('unknownKid', (e) => clients.push(e.clientId));
  const unknownKid = await send(`${url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${await mint(makeKey('ghost'), { iss: idp.base, aud: 'api' })}`, 'x-client-id': 'client-9' } });
  assert.equal(unknownKid.status, 401);
  assert.equal(JSON.parse(unknownKid.text).code, 'KID_NOT_FOUND');
  assert.ok(clients.length > 0 && clients.every((c) => c === 'client-9'), 'x-client-id reaches the unknown-kid defence');
  assert.equal((await send(`${url}/verify`, { method: 'POST' })).status, 400);
  assert.equal((await send(`${url}/verify`, { method: 'POST', body: '{nope' })).status, 400);
  assert.equal((await send(`${url}/verify`, { method: 'POST', body: '{"token": 5}' })).status, 400);
  assert.equal((await send(`${url}/verify`, { method: 'POST', body: '{"token": "x", "issuer": "missing"}' })).status, 401);
  assert.equal((await send(`${url}/verify`)).status, 405);
  const metrics = await send(`${url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers['content-type']!, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.text, /^jwks_keeper_keys\{cache="idp"\} 1$/m);
  assert.match(metrics.text, /^jwks_keeper_verifications_total\{cache="idp",outcome="valid",code="OK"\} 2$/m);
  assert.match(metrics.text, /^jwks_keeper_verifications_total\{cache="idp",outcome="invalid",code="KID_NOT_FOUND"\} 1$/m);
  assert.match(metrics.text, /^jwks_keeper_fetches_total\{cache="idp"\} \d+$/m);
});

test('a rotation at the IdP reaches an SSE client and a webhook (signature checked) within one refresh; Last-Event-ID resumes', async () => {
  const { idp, receiver, sidecar, url } = await setup({ webhook: true });
  const sse = new SseClient(`${url}/events`);
  cleanups.push(() => sse.close());
  await sse.connected;
  assert.equal(sse.status, 200);
  idp.idp.add(k2);
  await sidecar.refresh('idp'); // one refresh
  const changed = await sse.waitFor((e) => e.event === 'keys.changed' && (e.data.added as string[]).includes('k2'));
  assert.equal(changed.data.issuer, 'idp');
  assert.deepEqual(changed.data.removed, []);
  assert.equal(changed.data.generation, 2);

  // the webhook: the initial load (generation 1) and the rotation (generation 2)
  await receiver!.waitForCount(2);
  const hook = receiver!.received.find((r) => JSON.parse(r.body).generation === 2)!;
  assert.equal(hook.headers['x-jwks-keeper-event'], 'keys.changed');
  assert.equal(hook.headers['content-type'], 'application/json');
  const sig = String(hook.headers['x-jwks-keeper-signature']);
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(sig);
  assert.ok(m, sig);
  assert.equal(m[2], createHmac('sha256', SECRET).update(`${m[1]}.${hook.body}`).digest('hex'), 'HMAC-SHA256 over "<t>.<body>"');
  assert.ok(verifyWebhookSignature(SECRET, hook.body, sig));
  assert.ok(!verifyWebhookSignature('another-secret-0123456789', hook.body, sig));
  assert.ok(!verifyWebhookSignature(SECRET, hook.body.replace('k2', 'k3'), sig));
  assert.ok(!verifyWebhookSignature(SECRET, hook.body, sig, { nowSec: Number(m[1]) + 3600 }), 'old deliveries refused');
  assert.deepEqual(JSON.parse(hook.body).added, ['k2']);
  assert.equal(JSON.parse(hook.body).id, Number(changed.id));

  // a token signed by the new key: key.firstUsed reaches the stream
  await send(`${url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${await mint(k2, { iss: idp.base, aud: 'api' })}` } });
  const firstUsed = await sse.waitFor((e) => e.event === 'key.firstUsed' && e.data.kid === 'k2');

  // resume: a client that saw the rotation gets only what followed
  const resumed = new SseClient(`${url}/events`, { 'last-event-id': String(changed.id) });
  cleanups.push(() => resumed.close());
  const replay = await resumed.waitFor((e) => e.event === 'key.firstUsed' && e.data.kid === 'k2');
  assert.equal(replay.id, firstUsed.id);
  assert.ok(resumed.events.every((e) => Number(e.id) > Number(changed.id)), 'nothing at or before Last-Event-ID');
  // a client from an earlier process (id beyond the last) is told about the gap
  const stale = new SseClient(`${url}/events?lastEventId=99999`);
  cleanups.push(() => stale.close());
  await stale.waitFor((e) => e.event === 'gap');
  sse.close();
  resumed.close();
  stale.close();
});

test('webhooks retry with backoff after a failing attempt and never block the refresher', async () => {
  const { receiver, sidecar, idp } = await setup({ webhook: true });
  await receiver!.waitForCount(1); // the initial load
  receiver!.statuses = [500, 503];
  idp.idp.publish(k2);
  const r = await sidecar.refresh('idp');
  void r;
  assert.equal(sidecar.caches.get('idp')!.stats().generation, 2, 'the refresh completed while the webhook fails');
  await receiver!.waitForCount(4);
  const metrics = await send(`${sidecar.url}/metrics`);
  assert.match(metrics.text, /^jwks_keeper_sidecar_webhook_deliveries_total\{webhook="0",result="delivered"\} [12]$/m);
  assert.match(metrics.text, /^jwks_keeper_sidecar_events_total [1-9]\d*$/m);
  const attempts = receiver!.received.slice(1).map((x) => [x.headers['x-jwks-keeper-attempt'], x.headers['x-jwks-keeper-delivery']]);
  assert.deepEqual(attempts.map((a) => a[0]), ['1', '2', '3']);
  assert.equal(new Set(attempts.map((a) => a[1])).size, 1, 'one delivery id across retries');
  await sidecar.close();
  const stats = sidecar.webhookStats()[0]!;
  assert.equal(stats.delivered, 2);
  assert.equal(stats.retries, 2);
  assert.equal(stats.failed, 0);
});

test('IdP outage: the mirror keeps serving the last good set and /readyz stays ready until maxStaleMs', async () => {
  const clock = new ManualClock();
  const { idp, sidecar, url } = await setup({
    clock,
    config: { issuers: [{ name: 'idp', issuer: 'https://idp.test/', jwksUri: 'https://idp.test/jwks.json', audience: 'api', cache: { maxStaleMs: 3_600_000 } }] },
  });
  const sse = new SseClient(`${url}/events`);
  cleanups.push(() => sse.close());
  await sse.connected;
  idp.idp.mode = '503';
  await sidecar.refresh('idp');
  const failed = await sse.waitFor((e) => e.event === 'refresh.failed');
  assert.equal(failed.data.code, 'JWKS_HTTP_STATUS');
  assert.equal((await send(`${url}/readyz`)).status, 200);
  await clock.advance(700_000); // past freshness (max-age=600): stale, still served
  const mirror = await send(`${url}/issuers/idp/jwks.json`);
  assert.equal(mirror.status, 200);
  assert.deepEqual((JSON.parse(mirror.text) as { keys: { kid: string }[] }).keys.map((k) => k.kid), ['k1']);
  assert.match(String(mirror.headers['cache-control']), /max-age=0/);
  const nowSec = () => Math.floor(clock.wallNow() / 1000);
  const staleVerify = await send(`${url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${await mint(k1, { iss: 'https://idp.test/', aud: 'api', nowSec: nowSec() })}` } });
  assert.equal(staleVerify.status, 200, 'stale keys still verify');
  const stale = await sse.waitFor((e) => e.event === 'keys.staleServed');
  assert.equal(stale.data.issuer, 'idp');
  assert.ok((stale.data.staleForMs as number) > 0);
  const ready = await send(`${url}/readyz`);
  assert.equal(ready.status, 200);
  assert.equal(JSON.parse(ready.text).issuers.idp.state, 'degraded');
  await clock.advance(3_600_000); // beyond maxStaleMs
  const notReady = await send(`${url}/readyz`);
  assert.equal(notReady.status, 503);
  assert.equal(JSON.parse(notReady.text).issuers.idp.state, 'failing');
  const verify = await send(`${url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${await mint(k1, { iss: 'https://idp.test/', aud: 'api', nowSec: nowSec() })}` } });
  assert.equal(verify.status, 503);
  assert.ok(Number(verify.headers['retry-after']) >= 1);
  assert.equal((await send(`${url}/healthz`)).status, 200, 'the process itself is up');
  sse.close();
});

test('limits: oversized body → 413, oversized headers → 431, a slow-header client is cut off while others are served', async () => {
  const { url } = await setup({ config: { limits: { maxBodyBytes: 1024, headersTimeoutMs: 300, maxHeaderBytes: 2048 } } });
  const big = await send(`${url}/verify`, { method: 'POST', body: JSON.stringify({ token: 'x'.repeat(5000) }) });
  assert.equal(big.status, 413);
  const chunked = await send(`${url}/verify`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'y'.repeat(5000) });
  assert.equal(chunked.status, 413);
  const headers = await send(`${url}/healthz`, { headers: { 'x-big': 'z'.repeat(4000) } });
  assert.equal(headers.status, 431);
  // slowloris: a request head that never ends
  const { port } = new URL(url);
  const slow = connect(Number(port), '127.0.0.1');
  const cut = new Promise<string>((resolve) => {
    let got = '';
    slow.on('data', (d) => (got += d.toString()));
    slow.on('close', () => resolve(got));
  });
  slow.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n');
  assert.equal((await send(`${url}/healthz`)).status, 200, 'others are served meanwhile');
  const answer = await cut; // the server closes the socket (headersTimeout): no wall-time assertion
  assert.match(answer, /^HTTP\/1\.1 408 /);
});

test('SSE client cap: a few hundred attempts with the cap at 50 → 50 streams, the rest 503, the process keeps answering', async () => {
  const { sidecar, url } = await setup({ config: { limits: { maxSseClients: 50 } } });
  const clients = Array.from({ length: 300 }, () => new SseClient(`${url}/events`));
  cleanups.push(() => clients.forEach((c) => c.close()));
  await Promise.all(clients.map((c) => c.connected));
  const statuses = clients.map((c) => c.status);
  assert.equal(statuses.filter((s) => s === 200).length, 50);
  assert.equal(statuses.filter((s) => s === 503).length, 250);
  assert.equal(sidecar.events.clients, 50);
  assert.match((await send(`${url}/metrics`)).text, /^jwks_keeper_sidecar_sse_clients 50$/m);
  assert.equal((await send(`${url}/healthz`)).status, 200);
  assert.equal((await send(`${url}/readyz`)).status, 200);
  for (const c of clients) c.close();
  await Promise.all(clients.map((c) => c.closed));
  while (sidecar.events.clients > 0) await new Promise((r) => setImmediate(r));
  const again = new SseClient(`${url}/events`);
  cleanups.push(() => again.close());
  await again.connected;
  assert.equal(again.status, 200, 'slots are freed when clients leave');
  again.close();
});

test('close(): SSE streams end with a shutdown event, the port is released, idempotent', async () => {
  const { sidecar, url } = await setup();
  const sse = new SseClient(`${url}/events`);
  await sse.connected;
  const closing = sidecar.close();
  await sse.waitFor((e) => e.event === 'shutdown');
  await sse.closed;
  await closing;
  await sidecar.close();
  await assert.rejects(send(`${url}/healthz`), { code: 'ECONNREFUSED' });
  assert.equal(sidecar.caches.get('idp')!.health().state, 'failing');
});
