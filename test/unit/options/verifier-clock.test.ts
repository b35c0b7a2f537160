/** The verifier's claim clock defaults to the cache's clock, including for a cache given as keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache, createVerifier } from '../../../src/index.js';
import { ManualClock } from '../../../src/testing/index.js';
import { FakeIdp } from '../../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../../helpers/keys.js';
import { URI } from './helpers.js';

// ten years ahead of any real clock: a token minted "now" on this clock is not yet valid on the process clock
const FUTURE = Date.UTC(2036, 0, 1);

test('keys: a cache with a manual clock; no verifier clock: claims are checked on the cache clock', async () => {
  const k1 = makeKey('k1');
  const clock = new ManualClock(FUTURE);
  const keys = createJwksCache({ jwksUri: URI, fetch: new FakeIdp(k1).fetch, clock, scheduler: clock });
  const v = createVerifier({ issuer: ISS, audience: AUD, keys });
  const token = await mint(k1, { nowSec: Math.floor(FUTURE / 1000) });
  assert.equal((await v.verify(token)).key.kid, 'k1');
  await keys.close();
});

test('jwksUri with cacheOptions.clock: the same; an explicit verifier clock wins', async () => {
  const k1 = makeKey('k1');
  const clock = new ManualClock(FUTURE);
  const v = createVerifier({ issuer: ISS, audience: AUD, jwksUri: URI, cacheOptions: { fetch: new FakeIdp(k1).fetch, clock, scheduler: clock } });
  const token = await mint(k1, { nowSec: Math.floor(FUTURE / 1000) });
  assert.equal((await v.verify(token)).key.kid, 'k1');
  const real = createVerifier({ issuer: ISS, audience: AUD, keys: v.keys, clock: { monotonicNow: () => performance.now(), wallNow: () => Date.now() } });
  await assert.rejects(real.verify(token), (e: unknown) => (e as { code?: string }).code === 'CLAIM_INVALID');
  await v.close();
});
