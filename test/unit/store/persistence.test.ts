/** Persistence over the shared-store contract (memoryStore, fileStore) and the old `{ load, save }` shape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJwksCache, createVerifier, memoryStore } from '../../../src/index.js';
import type { SharedStore } from '../../../src/index.js';
import { fileStore } from '../../../src/store/file.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../../helpers/keys.js';

const SECRET = 'persistence-unit-secret-0123456789abcdef-01';
const URI = 'https://idp.test/jwks';
const T0 = Date.UTC(2026, 0, 1);

async function roundTrip(store: SharedStore): Promise<void> {
  const k1 = makeKey('k1');
  const clock = new ManualClock(T0);
  const a = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(k1).fetch, clock, scheduler: clock, persistence: { store, secret: SECRET } });
  await a.ready();
  await a.close();
  const saved = await store.get(`jwks-keeper/v1 ${URI}`);
  assert.ok(saved, 'saved under the key derived from the JWKS URL');
  assert.equal(saved.version, T0, 'the record version (HLC: wall ms of the request)');
  // a restart during an outage verifies from the store
  const idp = new FakeIdp(k1);
  idp.mode = 'refuse';
  const clock2 = new ManualClock(T0 + 60_000);
  const b = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock: clock2, scheduler: clock2, persistence: { store, secret: SECRET } });
  const v = createVerifier({ issuer: ISS, audience: AUD, keys: b, clock: clock2 });
  assert.equal((await v.verify(await mint(k1, { nowSec: Math.floor(clock2.wallNow() / 1000) }))).key.kid, 'k1');
  await b.close();
  // an instance whose clock is behind does not overwrite the newer record
  const clock3 = new ManualClock(T0 - 3_600_000);
  const c = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(makeKey('old')).fetch, clock: clock3, scheduler: clock3, persistence: { store, secret: SECRET } });
  await c.ready();
  await c.close();
  assert.equal((await store.get(`jwks-keeper/v1 ${URI}`))?.version, T0);
}

test('persistence through memoryStore(): saved with its version, restored, never overwritten by an older version', async () => {
  await roundTrip(memoryStore());
});

test('persistence through fileStore(dir): the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'jwks-keeper-p-'));
  try {
    await roundTrip(fileStore(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a store with neither shape is a ConfigError', () => {
  assert.throws(
    () => createJwksCache({ jwksUri: URI, persistence: { store: { get: async () => undefined } as never, secret: SECRET } }),
    (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID',
  );
});
