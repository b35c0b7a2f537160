/**
 * The fleet hooks of the cache: a custom (shared, asynchronous) budget, and the shared-store
 * layer of the pipeline, which may answer with a record another instance published.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache } from '../../../src/index.js';
import type { KeySetRecord, RefreshBudget, SourceLayer } from '../../../src/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { makeKey } from '../../helpers/keys.js';

const URI = 'https://idp.test/jwks';

test('two caches sharing one asynchronous budget of 1 attempt: one unknown-kid refresh in total', async () => {
  const clock = new ManualClock();
  let tokens = 1;
  const shared: RefreshBudget = {
    tryTake: async (now) => (tokens > 0 ? (tokens--, { granted: true }) : { granted: false, readyAt: now + 60_000 }),
    readyAt: (now) => (tokens > 0 ? now : now + 60_000),
  };
  const idp = new FakeIdp(makeKey('k1'));
  const a = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, budget: shared });
  const b = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, budget: shared });
  await Promise.all([a.ready(), b.ready()]);
  const initial = idp.requests;
  const ra = a.getSigningKey('ghost-a').catch((e: unknown) => (e as { code?: string }).code);
  const rb = b.getSigningKey('ghost-b').catch((e: unknown) => (e as { code?: string }).code);
  await clock.advance(20_000);
  assert.equal(idp.requests - initial, 1, 'one budgeted attempt across both caches');
  assert.equal(await ra, 'KID_NOT_FOUND');
  assert.equal(await rb, 'UNKNOWN_KID_WAIT_TIMEOUT', 'the other cache was refused by the shared budget and its waiter timed out');
  await a.close();
  await b.close();
});

test('a shared layer that answers with a record from another instance: installed with no request, aged by its fetchedAt', async () => {
  const clock = new ManualClock();
  const idp = new FakeIdp(makeKey('k1'));
  let peer: KeySetRecord | undefined;
  let asked = 0;
  // first load goes below (the HTTP leaf); later loads answer the peer's record (as a store read would)
  const sharedLayer: SourceLayer = (below) => ({
    async load(current, reason, signal) {
      asked++;
      if (!current) return below.load(current, reason, signal);
      return peer!;
    },
  });
  const c = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, sharedLayer });
  await c.ready();
  const fetched = idp.requests;
  // fabricate the peer's record from our own (same shape), newer and 5 minutes old
  const other = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(makeKey('k2')).fetch, clock, scheduler: clock });
  let captured: KeySetRecord | undefined;
  const capture = createJwksCache({
    jwksUri: URI,
    fetch: new FakeIdp(makeKey('k2')).fetch,
    clock,
    scheduler: clock,
    sharedLayer: (below) => ({ load: async (cur, r, s) => (captured = await below.load(cur, r, s)) }),
  });
  await capture.ready();
  peer = { ...captured!, version: captured!.version + 1, fetchedAt: clock.wallNow() - 300_000, provenance: { kind: 'decoded' } };
  const r = await c.refresh();
  assert.equal(r.ok, true);
  assert.equal(r.changed, true);
  assert.equal(idp.requests, fetched, 'no request: the record came from the store');
  assert.deepEqual(c.snapshot()?.keys.map((k) => k.kid), ['k2']);
  assert.equal(c.snapshot()?.lastSuccessAt, clock.wallNow() - 300_000);
  assert.equal(c.health().lastSuccessAgeMs, 300_000, 'aged by the peer fetch time');
  assert.equal(c.stats().fetchesModified, 1, 'a store read is not a fetch');
  assert.equal(asked, 2);
  await Promise.all([c.close(), other.close(), capture.close()]);
});
