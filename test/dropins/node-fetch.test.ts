/**
 * The jwks-rsa drop-in's node:http transport keeps the cache's hard limits: the total deadline
 * (driven by a ManualClock) and the byte cap end the request and close the socket; a redirect
 * is not followed; gzip bodies are decoded before the cap applies.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { once } from 'node:events';
import { JwksClient } from '../../src/dropins/jwks-rsa/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { makeKey } from '../helpers/keys.js';

const k1 = makeKey('k1', 'ES256');
let server: Server;
let base = '';
const sockets: Socket[] = [];
const routes = new Map<string, (res: ServerResponse) => void>();
const hits: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const r = routes.get(req.url ?? '');
    if (r) r(res);
    else res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.push(s);
    s.on('error', () => {}); // the client resetting a capped body is expected
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

const codes = (e: unknown): string[] => {
  const out: string[] = [];
  for (let x = e as { code?: string; cause?: unknown } | undefined; x && out.length < 5; x = x.cause as typeof x) if (x.code) out.push(x.code);
  return out;
};

test('the total deadline aborts a hanging request and closes its socket', async () => {
  routes.set('/hang', () => {}); // never answers
  const clock = new ManualClock();
  const client = new JwksClient({ jwksUri: `${base}/hang`, timeout: 2000, cacheOptions: { clock, scheduler: clock } });
  const p = client.getSigningKey('k1').catch((e: unknown) => e);
  while (!hits.includes('/hang')) await once(server, 'request');
  const socket = sockets.at(-1)!;
  const closed = once(socket, 'close');
  await clock.advance(2001);
  const err = await p;
  assert.equal((err as Error).name, 'JwksError');
  assert.deepEqual(codes(err).slice(0, 2), ['KEYS_NOT_LOADED', 'JWKS_TIMEOUT']);
  await closed;
  await client.close();
});

test('the byte cap ends a streamed body and closes the socket', async () => {
  routes.set('/big', (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"keys":[');
    const chunk = `${JSON.stringify(k1.jwk)},`.repeat(200);
    for (let i = 0; i < 100; i++) res.write(chunk); // ≈ 3 MiB, no content-length
  });
  const client = new JwksClient({ jwksUri: `${base}/big` });
  const before = sockets.length;
  const err = await client.getSigningKey('k1').catch((e: unknown) => e);
  assert.deepEqual(codes(err).slice(0, 2), ['KEYS_NOT_LOADED', 'JWKS_TOO_LARGE']);
  const socket = sockets[before]!;
  // events.once rejects on 'error' (the reset): wait for 'close' alone
  if (!socket.destroyed) await new Promise((r) => socket.on('close', r));
  await client.close();
});

test('a redirect is not followed', async () => {
  routes.set('/moved', (res) => res.writeHead(302, { location: `${base}/elsewhere` }).end());
  const client = new JwksClient({ jwksUri: `${base}/moved` });
  const err = (await client.getSigningKey('k1').catch((e: unknown) => e)) as Error;
  assert.equal(err.name, 'JwksError');
  assert.equal(err.message, 'Found');
  assert.ok(!hits.includes('/elsewhere'));
  await client.close();
});

test('a gzip body is decoded', async () => {
  routes.set('/gz', (res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(JSON.stringify({ keys: [k1.jwk] }))));
  const client = new JwksClient({ jwksUri: `${base}/gz` });
  assert.equal((await client.getSigningKey('k1')).kid, 'k1');
  await client.close();
});
