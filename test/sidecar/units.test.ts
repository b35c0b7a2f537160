/** Sidecar pieces in isolation: the event ring buffer, the webhook queue bound, config validation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventHub } from '../../src/sidecar/hub.js';
import { WebhookDispatcher } from '../../src/sidecar/webhooks.js';
import { validateConfig, SidecarConfigError } from '../../src/sidecar/config.js';
import { redactRedisUrl } from '../../src/sidecar/fleet.js';
import { Receiver } from './helpers.js';

test('event ring buffer: resume returns what is left after Last-Event-ID and reports evicted events as a gap', () => {
  const hub = new EventHub(3, 10, 60_000);
  try {
    for (let i = 0; i < 5; i++) hub.publish('keys.changed', { issuer: 'a', n: i });
    assert.equal(hub.lastId, 5);
    assert.deepEqual(hub.since(3).events.map((e) => e.id), [4, 5]);
    assert.equal(hub.since(3).gap, false);
    const old = hub.since(0); // 1 and 2 were evicted
    assert.deepEqual(old.events.map((e) => e.id), [3, 4, 5]);
    assert.equal(old.gap, true);
    assert.deepEqual(hub.since(5), { events: [], gap: false });
    assert.equal(hub.since(42).gap, true, 'an id from an earlier process');
    assert.equal(hub.since(2).gap, false, 'nothing lost after 2');
  } finally {
    hub.close();
  }
});

test('a subscriber that throws does not stop publication', () => {
  const hub = new EventHub(10, 10, 60_000);
  const seen: number[] = [];
  hub.subscribe(() => {
    throw new Error('broken');
  });
  hub.subscribe((e) => seen.push(e.id));
  hub.publish('refresh.failed', { issuer: 'a' });
  assert.deepEqual(seen, [1]);
  hub.close();
});

test('webhook queue: bounded, the oldest waiting delivery is dropped, the one in flight is kept', async () => {
  const receiver = await new Receiver().start();
  try {
    const d = new WebhookDispatcher([{ url: receiver.url, secret: 's'.repeat(16) }], { queueSize: 2, maxAttempts: 1, backoffInitialMs: 1, backoffMaxMs: 1, timeoutMs: 5_000 });
    const hub = new EventHub(100, 0, 60_000);
    hub.subscribe((e) => d.enqueue(e));
    for (let i = 0; i < 6; i++) hub.publish('keys.changed', { issuer: 'a', n: i });
    // event 1 is in flight; 2..6 competed for 2 queue slots: 5 and 6 remain
    await receiver.waitForCount(3);
    await d.drain(5_000);
    assert.deepEqual(receiver.received.map((r) => (JSON.parse(r.body) as { id: number }).id), [1, 5, 6]);
    const s = d.stats()[0]!;
    assert.equal(s.dropped, 3);
    assert.equal(s.delivered, 3);
    hub.close();
  } finally {
    await receiver.stop();
  }
});

test('config validation: typed errors for bad configs, defaults for good ones', () => {
  const ok = validateConfig({ issuers: [{ name: 'a', issuer: 'https://a.test/' }] }, {});
  assert.equal(ok.host, '127.0.0.1');
  assert.equal(ok.port, 8787);
  assert.equal(ok.limits.maxSseClients, 256);
  assert.equal(ok.limits.maxBodyBytes, 32_768);
  const env = { HOOK_SECRET: 'x'.repeat(20) };
  const withHook = validateConfig({ issuers: [{ name: 'a', issuer: 'https://a.test/' }], webhooks: [{ url: 'https://h.test/x', secretEnv: 'HOOK_SECRET' }] }, env);
  assert.equal(withHook.webhooks[0]!.secret, env.HOOK_SECRET);
  const bad: [unknown, RegExp][] = [
    [null, /JSON object/],
    [{ issuers: [] }, /non-empty/],
    [{ issuers: [{ name: 'a b', issuer: 'x' }] }, /name must match/],
    [{ issuers: [{ name: 'a', issuer: 'x' }, { name: 'a', issuer: 'y' }] }, /used twice/],
    [{ issuers: [{ name: 'a' }] }, /issuer is required/],
    [{ issuers: [{ name: 'a', issuer: 'x', audience: [] }] }, /audience/],
    [{ issuers: [{ name: 'a', issuer: 'x' }], port: 70_000 }, /port/],
    [{ issuers: [{ name: 'a', issuer: 'x' }], bogus: 1 }, /unknown config key "bogus"/],
    [{ issuers: [{ name: 'a', issuer: 'x' }], limits: { maxBodyBytes: 1 } }, /limits\.maxBodyBytes/],
    [{ issuers: [{ name: 'a', issuer: 'x' }], webhooks: [{ url: 'http://hooks.example.com/', secret: 'x'.repeat(16) }] }, /https/],
    [{ issuers: [{ name: 'a', issuer: 'x' }], webhooks: [{ url: 'https://h.test/', secret: 'short' }] }, /at least 16/],
    [{ issuers: [{ name: 'a', issuer: 'x' }], webhooks: [{ url: 'https://h.test/', secretEnv: 'MISSING' }] }, /secret/],
  ];
  for (const [raw, message] of bad) assert.throws(() => validateConfig(raw, {}), (err: unknown) => err instanceof SidecarConfigError && message.test(err.message), JSON.stringify(raw));
});

test('config validation: the fleet entry (url or urlEnv, secret or secretEnv of ≥ 32 bytes, keyPrefix)', () => {
  const issuers = [{ name: 'a', issuer: 'https://a.test/' }];
  const secret = 's'.repeat(32);
  const env = { REDIS_URL: 'redis://:pw@redis.internal:6379/2', FLEET_SECRET: secret, SHORT: 's'.repeat(31) };
  assert.equal(validateConfig({ issuers }, env).fleet, undefined, 'no fleet entry: no fleet mode');
  assert.deepEqual(validateConfig({ issuers, fleet: { url: 'redis://127.0.0.1:6379', secret } }, env).fleet, { url: 'redis://127.0.0.1:6379', keyPrefix: undefined, secret });
  assert.deepEqual(validateConfig({ issuers, fleet: { urlEnv: 'REDIS_URL', secretEnv: 'FLEET_SECRET', keyPrefix: 'prod:' } }, env).fleet, { url: env.REDIS_URL, keyPrefix: 'prod:', secret });
  assert.equal(validateConfig({ issuers, fleet: { url: 'rediss://r.test', secret: 'é'.repeat(16) } }, env).fleet?.secret.length, 16, 'the secret is counted in UTF-8 bytes');
  const bad: [unknown, RegExp][] = [
    [[], /fleet must be an object/],
    [null, /fleet must be an object/],
    [{ url: 'redis://r', secret, password: 'x' }, /unknown key "fleet\.password"/],
    [{ secret }, /redis:\/\/ or rediss:\/\/ URL/],
    [{ url: 'http://r.test', secret }, /redis:\/\/ or rediss:\/\/ URL/],
    [{ url: 'redis://r.test/ x', secret }, /redis:\/\/ or rediss:\/\/ URL/],
    [{ urlEnv: 'UNSET', secret }, /redis:\/\/ or rediss:\/\/ URL/],
    [{ url: 'redis://r', urlEnv: 'REDIS_URL', secret }, /url or urlEnv, not both/],
    [{ urlEnv: '', secret }, /urlEnv must be the name/],
    [{ url: 'redis://r' }, /at least 32 bytes/],
    [{ url: 'redis://r', secretEnv: 'SHORT' }, /at least 32 bytes/],
    [{ url: 'redis://r', secretEnv: 'UNSET' }, /at least 32 bytes/],
    [{ url: 'redis://r', secret: 's'.repeat(31) }, /at least 32 bytes/],
    [{ url: 'redis://r', secret, secretEnv: 'FLEET_SECRET' }, /secret or secretEnv, not both/],
    [{ url: 'redis://r', secret, keyPrefix: 'has space' }, /keyPrefix/],
    [{ url: 'redis://r', secret, keyPrefix: 'a{b}' }, /keyPrefix/],
    [{ url: 'redis://r', secret, keyPrefix: 'p'.repeat(201) }, /keyPrefix/],
    [{ url: 'redis://r', secret, keyPrefix: 7 }, /keyPrefix/],
  ];
  for (const [fleet, message] of bad) {
    assert.throws(() => validateConfig({ issuers, fleet }, env), (err: unknown) => err instanceof SidecarConfigError && message.test(err.message), JSON.stringify(fleet));
  }
});

test('redactRedisUrl: logs show the Redis host, never its password', () => {
  assert.equal(redactRedisUrl('redis://:hunter2@redis.internal:6379/2'), 'redis://redis.internal:6379/2');
  assert.equal(redactRedisUrl('rediss://user:pw@r.test'), 'rediss://r.test');
  assert.equal(redactRedisUrl('not a url'), '(unparsable)');
});
