/**
 * Cross-option defaults: a default derived from another option follows it. defaultRefreshIntervalMs
 * is clamped into [min, max]; unknownKid.maxWaitMs defaults to cooldownMs; maxWaitersPerClient to
 * maxWaiters / 8. Observed through behaviour (schedule and admission), with a manual clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache } from '../../../src/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { makeKey } from '../../helpers/keys.js';
import { URI } from './helpers.js';

test('defaultRefreshIntervalMs follows a max below 10 min: freshness is the max', async () => {
  const idp = new FakeIdp(makeKey('k1'));
  idp.cacheControl = undefined;
  const clock = new ManualClock();
  const c = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, minRefreshIntervalMs: 1_000, maxRefreshIntervalMs: 120_000 });
  let fresh = 0;
  c.on('refresh.succeeded', (e) => (fresh = e.freshForMs));
  await c.ready();
  assert.equal(fresh, 120_000);
  await c.close();
});

test('maxWaitMs defaults to cooldownMs: a waiter is served by the next permitted refresh, not timed out', async () => {
  const idp = new FakeIdp(makeKey('k1'));
  const clock = new ManualClock();
  const c = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, random: () => 0.5, unknownKid: { burst: 1, cooldownMs: 4_000 } });
  await c.ready();
  await assert.rejects(c.getSigningKey('a'), (e: unknown) => (e as { code?: string }).code === 'KID_NOT_FOUND'); // spends the token
  idp.add(makeKey('b'));
  const p = c.getSigningKey('b');
  await clock.advance(4_000);
  assert.equal((await p).kid, 'b');
  assert.equal(c.stats().unknownKid['wait-timeout'], 0);
  await c.close();
});

test('maxWaitersPerClient defaults to maxWaiters / 8', async () => {
  const idp = new FakeIdp(makeKey('k1'));
  const clock = new ManualClock();
  const c = createJwksCache({ jwksUri: URI, fetch: idp.fetch, clock, scheduler: clock, unknownKid: { maxWaiters: 16, burst: 1, cooldownMs: 60_000 } });
  await c.ready();
  idp.mode = 'hang';
  const lookups = Array.from({ length: 3 }, (_, i) => c.getSigningKey(`x${i}`, { clientId: 'one' }).catch((e: unknown) => (e as { code?: string }).code));
  const codes = await Promise.race([Promise.all(lookups.slice(2)), clock.advance(0).then(() => ['pending'])]);
  assert.deepEqual(codes, ['UNKNOWN_KID_CAPACITY'], 'the third lookup of one client exceeds 16 / 8 = 2');
  await c.close();
  await Promise.all(lookups);
});
