/** The HTTP leaf alone: a record per answer (200 → new snapshot, identical body → same snapshot, 304 → same keys, new version), drops reported. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VersionClock } from '../../../src/core/record.js';
import type { DroppedKey } from '../../../src/jwks/validate.js';
import { httpLeaf } from '../../../src/source/http-leaf.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { makeKey } from '../../helpers/keys.js';

function setup(idp: FakeIdp) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const versions = new VersionClock();
  const requests: string[] = [];
  const dropped: DroppedKey[] = [];
  const leaf = httpLeaf({
    jwksUri: new URL('https://idp.test/jwks'),
    transport: { timeoutMs: 1_000, maxResponseBytes: 65_536, allowRedirects: false, allowInsecureHttp: false, acceptAnyContentType: false },
    validation: { maxKeys: 10, minRsaBits: 2048, maxRsaBits: 16_384, maxKidLength: 64 },
    freshness: { minRefreshIntervalMs: 60_000, maxRefreshIntervalMs: 3_600_000, defaultRefreshIntervalMs: 600_000 },
    fetch: idp.fetch,
    clock,
    scheduler: clock,
    versions,
    observer: { request: (r) => requests.push(r), dropped: (d) => dropped.push(d) },
  });
  return { clock, leaf, requests, dropped, versions };
}
const signal = new AbortController().signal;

test('200, identical 200, 304 and a changed 200: versions increase, snapshots reused when the material is the same', async () => {
  const k1 = makeKey('k1');
  const idp = new FakeIdp(k1);
  const { clock, leaf, requests, versions } = setup(idp);
  const a = await leaf.load(undefined, 'initial', signal);
  assert.equal(a.version, clock.wallNow(), 'stamped with the wall clock when sent');
  assert.equal(a.provenance.kind, 'modified');
  assert.equal(a.freshForMs, 600_000, 'max-age=600');
  assert.deepEqual(a.snapshot.keys.map((k) => k.kid), ['k1']);
  const b = await leaf.load(undefined, 'manual', signal); // unconditional: a 200 with the same body
  assert.ok(b.version > a.version);
  const c = await leaf.load(a, 'scheduled', signal); // conditional: a 304
  assert.equal(c.provenance.kind, 'not-modified');
  assert.equal(c.snapshot, a.snapshot, 'a 304 keeps the keys');
  assert.ok(c.version > b.version, 'a 304 is a new record');
  idp.add(makeKey('k2'));
  const d = await leaf.load(c, 'unknown-kid', signal);
  assert.notEqual(d.snapshot, c.snapshot);
  assert.equal(d.snapshot.generation, c.snapshot.generation + 1);
  assert.equal(d.snapshot.keys[0], c.snapshot.keys[0], 'unchanged keys reuse their objects');
  assert.deepEqual(requests, ['initial', 'manual', 'scheduled', 'unknown-kid']);
  assert.equal(versions.last, d.version);
});

test('dropped keys are reported; a transport failure rejects with its code', async () => {
  const idp = new FakeIdp(makeKey('k1'));
  idp.keys = [...idp.keys, { kty: 'oct', k: 'AAAA', kid: 'sym' }];
  const { leaf, dropped } = setup(idp);
  await assert.rejects(leaf.load(undefined, 'initial', signal), (e: unknown) => (e as { code?: string }).code === 'JWKS_PRIVATE_KEY');
  idp.keys = idp.keys.slice(0, 1).concat([{ kty: 'RSA', kid: 'tiny', n: 'AQAB', e: 'AQAB' }]);
  const r = await leaf.load(undefined, 'initial', signal);
  assert.equal(r.snapshot.keys.length, 1);
  assert.deepEqual(dropped.map((d) => d.kid), ['tiny']);
  idp.mode = '503';
  await assert.rejects(leaf.load(r, 'retry', signal), (e: unknown) => (e as { code?: string }).code === 'JWKS_HTTP_STATUS');
});
