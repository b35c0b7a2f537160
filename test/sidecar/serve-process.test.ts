/**
 * `jwks-keeper serve` as a child process (the built binary): flags and a config file, JSON log
 * lines, SIGUSR1 refresh reaching an SSE client, SIGTERM → drain and exit 0, bad config → 2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeIdp } from '../helpers/fake-idp.js';
import { makeKey, mint } from '../helpers/keys.js';
import { OidcIdp, Proc, buildOnce, run } from '../cli/helpers.js';
import { SseClient, send } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-serve-'));
const procs: Proc[] = [];
const servers: OidcIdp[] = [];
before(() => buildOnce());
after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const k1 = makeKey('k1', 'ES256');
const k2 = makeKey('k2', 'ES256');

test('serve with flags: logs JSON lines, mirrors and verifies, SIGUSR1 refresh reaches SSE, SIGTERM exits 0', async () => {
  const idp = await new OidcIdp(new FakeIdp(k1)).start();
  servers.push(idp);
  const p = new Proc(['serve', '--issuer', idp.base, '--name', 'main', '--audience', 'api', '--port', '0', '--min-refresh-interval-ms', '0']);
  procs.push(p);
  const listening = await p.waitForJson('listening');
  assert.equal(listening.level, 'info');
  assert.match(String(listening.time), /^\d{4}-\d\d-\d\dT/);
  const url = String(listening.url);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, 'binds loopback by default');
  await p.waitForJson('discovered jwks_uri');
  await p.waitForJson('keys loaded');
  assert.equal((await send(`${url}/readyz`)).status, 200);
  const v = await send(`${url}/verify`, { method: 'POST', headers: { authorization: `Bearer ${await mint(k1, { iss: idp.base, aud: 'api' })}` } });
  assert.equal(v.status, 200, v.text);
  const sse = new SseClient(`${url}/events`);
  await sse.connected;
  idp.idp.publish(k2);
  p.kill('SIGUSR1');
  const changed = await sse.waitFor((e) => e.event === 'keys.changed' && (e.data.added as string[]).includes('k2'));
  assert.deepEqual(changed.data.removed, ['k1']);
  await p.waitForJson('keys.changed', (o) => o.generation === 2);
  p.kill('SIGTERM');
  await sse.waitFor((e) => e.event === 'shutdown');
  assert.deepEqual(await p.exited, { code: 0, signal: null });
  assert.ok(p.lines.some((l) => l.includes('"msg":"stopped"')));
  for (const l of p.lines) assert.doesNotThrow(() => JSON.parse(l), `log line is JSON: ${l}`);
  sse.close();
});

test('serve --config: several issuers; a bad config exits 2 with the reason; an unreachable discovery exits 3', async () => {
  const a = await new OidcIdp(new FakeIdp(k1)).start();
  const b = await new OidcIdp(new FakeIdp(k2)).start();
  servers.push(a, b);
  const file = join(dir, 'sidecar.json');
  writeFileSync(file, JSON.stringify({ port: 0, issuers: [{ name: 'a', issuer: a.base, audience: 'api' }, { name: 'b', issuer: b.base, jwksUri: b.jwksUrl, audience: ['api'] }], limits: { maxSseClients: 10 } }));
  const p = new Proc(['serve', '--config', file]);
  procs.push(p);
  const url = String((await p.waitForJson('listening')).url);
  await p.waitForJson('keys loaded', (o) => o.issuer === 'a');
  await p.waitForJson('keys loaded', (o) => o.issuer === 'b');
  // routing by the token's iss: each issuer's verifier checks its own tokens
  for (const [srv, key] of [[a, k1], [b, k2]] as const) {
    const r = await send(`${url}/verify`, { method: 'POST', body: JSON.stringify({ token: await mint(key, { iss: srv.base, aud: 'api' }) }) });
    assert.equal(r.status, 200, r.text);
  }
  const list = JSON.parse((await send(`${url}/issuers`)).text) as { issuers: { name: string; mirror: string }[] };
  assert.deepEqual(list.issuers.map((i) => i.name), ['a', 'b']);
  p.kill('SIGTERM');
  assert.deepEqual(await p.exited, { code: 0, signal: null });

  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ issuers: [{ name: 'has space', issuer: 'https://x.test/' }] }));
  const r = await run(['serve', '--config', bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /config: issuers\[0\]\.name must match/);
  const missing = await run(['serve', '--config', join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read the config/);
  const noSecret = await run(['serve', '--issuer', a.base, '--webhook', 'http://127.0.0.1:9/hook']);
  assert.equal(noSecret.code, 2);
  assert.match(noSecret.stderr, /--webhook-secret-env/);
  const nothing = await run(['serve']);
  assert.equal(nothing.code, 2);
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const busy = await run(['serve', '--issuer', a.base, '--jwks-url', a.jwksUrl, '--port', String((taken.address() as AddressInfo).port)]);
  taken.close();
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, /EADDRINUSE/);
  const down = await run(['serve', '--issuer', 'http://127.0.0.1:9', '--port', '0']);
  assert.equal(down.code, 3);
  assert.match(down.stderr, /DISCOVERY_NETWORK/);
});
