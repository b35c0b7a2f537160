/**
 * Lifecycle defects (issue 10): a cache whose first call is `refresh()` must still restore
 * the persisted set; the deadline timers of store loads and of `close()` must be cleared;
 * after `close()` no timer or handle of the cache remains (scheduler timers counted with a
 * ManualClock, real handles with `process.getActiveResourcesInfo()` in a child process).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createJwksCache, createVerifier } from '../../../src/index.js';
import type { SnapshotStore } from '../../../src/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../../helpers/keys.js';

const SECRET = 'lifecycle-test-secret-0123456789abcdef-0123';
const URI = 'https://idp.test/jwks';

class MemoryStore implements SnapshotStore {
  saved: string | undefined;
  async load(): Promise<string | undefined> {
    return this.saved;
  }
  async save(record: string): Promise<void> {
    this.saved = record;
  }
}

async function persisted(k: ReturnType<typeof makeKey>): Promise<MemoryStore> {
  const store = new MemoryStore();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const a = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(k).fetch, clock, scheduler: clock, persistence: { store, secret: SECRET } });
  await a.ready();
  await a.close();
  assert.ok(store.saved);
  return store;
}

describe('lifecycle', () => {
  test('a cache whose first call is refresh() still restores the persisted set (IdP down)', async () => {
    const k1 = makeKey('k1');
    const store = await persisted(k1);
    const idp = new FakeIdp(k1);
    idp.mode = 'refuse';
    const clock = new ManualClock(Date.UTC(2026, 0, 1) + 60_000);
    const cache = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, persistence: { store, secret: SECRET } });
    const restored: number[] = [];
    cache.on('persistence.restored', (e) => restored.push(e.generation));
    const r = await cache.refresh();
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'JWKS_NETWORK');
    await clock.advance(1);
    assert.deepEqual(restored, [1]);
    const v = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
    assert.equal((await v.verify(await mint(k1, { nowSec: Math.floor(clock.wallNow() / 1000) }))).key.kid, 'k1');
    await cache.close();
  });

  test('the deadline timer of a store load is cleared once the store answers', async () => {
    const k1 = makeKey('k1');
    const store = await persisted(k1);
    const clock = new ManualClock(Date.UTC(2026, 0, 1) + 60_000);
    const cache = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(k1).fetch, clock, scheduler: clock, persistence: { store, secret: SECRET } });
    await cache.ready();
    await clock.advance(0);
    // what remains: the background refresh only (no deadline of the answered load)
    assert.equal(clock.pendingTimers, 1);
    await cache.close();
    assert.equal(clock.pendingTimers, 0);
  });

  test('the deadline timer of close() (pending saves) is cleared once saves are done', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock();
    const cache = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(makeKey('k1')).fetch, clock, scheduler: clock, persistence: { store, secret: SECRET } });
    await cache.ready();
    await cache.close();
    assert.equal(clock.pendingTimers, 0);
  });

  for (const [label, mode] of [
    ['healthy IdP', 'ok'],
    ['hanging IdP (fetch in flight)', 'hang'],
    ['failing IdP (retry scheduled)', '503'],
  ] as const) {
    test(`after close() no scheduler timer remains: ${label}, with persistence and waiters`, async () => {
      const k1 = makeKey('k1');
      const store = await persisted(k1);
      const idp = new FakeIdp(k1);
      const clock = new ManualClock(Date.UTC(2026, 0, 1) + 60_000);
      const cache = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, persistence: { store, secret: SECRET } });
      await cache.ready();
      idp.mode = mode;
      const pending = [cache.getSigningKey('ghost-1'), cache.getSigningKey('ghost-2'), cache.refresh()].map((p) => Promise.resolve(p).catch((e: unknown) => e));
      for (let i = 0; i < 3; i++) pending.push(cache.getSigningKey(`later-${i}`).catch((e: unknown) => e));
      await clock.advance(10);
      const closing = cache.close();
      await clock.advance(0);
      await closing;
      await Promise.all(pending);
      assert.equal(clock.pendingTimers, 0);
    });
  }

  test('after close() no real timer or handle of the cache remains (child process, getActiveResourcesInfo)', () => {
    const child = fileURLToPath(new URL('./lifecycle-child.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', child], { encoding: 'utf8', timeout: 60_000 });
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { before: string[]; during: string[]; after: string[] };
    assert.ok(r.during.length > r.before.length, `the cache held resources while open: ${JSON.stringify(r)}`);
    assert.deepEqual(r.after, r.before);
  });
});
