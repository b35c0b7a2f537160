/**
 * Issue 11 point 5, through the public API: behind a proxy every request carries the same
 * `clientId`; the per-client cap limits distinct kids a client holds waiting, not how many
 * lookups wait for one kid. Injected clock, the real cache and verifier, an in-memory IdP.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache, createVerifier } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';
import { FakeIdp } from './helpers/fake-idp.js';
import { runFloodSimulation, summarizeRotation } from './helpers/flood-sim.js';
import { AUD, ISS, makeKey, mint } from './helpers/keys.js';

const COOLDOWN = 10_000;

describe('behind a proxy (issue 11 point 5)', () => {
  test('700 valid tokens for an unannounced new key, all from one clientId: all accepted, none refused for capacity', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const oldKey = makeKey('old');
    const newKey = makeKey('new');
    const idp = new FakeIdp(oldKey);
    const keys = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, clock, scheduler: clock, random: () => 0.5 });
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys, clock });
    await keys.ready();
    idp.publish(newKey);
    const nowSec = Math.floor(clock.wallNow() / 1000);
    const tokens = await Promise.all(Array.from({ length: 700 }, (_, i) => mint(newKey, { nowSec, claims: { jti: `t${i}` } })));
    const pending = tokens.map((t) => verifier.verify(t, { clientId: '10.0.0.1' }).then(() => 'ok', (e: { code?: string }) => e.code ?? 'OTHER'));
    await clock.advance(COOLDOWN);
    const outcomes = await Promise.all(pending);
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
    console.log(`proxy burst: ${JSON.stringify(counts)}, capacity rejects ${keys.stats().unknownKid['capacity-reject']}`);
    assert.deepEqual(counts, { ok: 700 });
    assert.equal(keys.stats().unknownKid['capacity-reject'], 0);
    await keys.close();
  });

  test('a random-kid flood and a rotation, everything through one proxy address: 0 valid rejected, the flood held to the distinct-kid cap', async () => {
    const oldKey = makeKey('old');
    const newKey = makeKey('new');
    const r = await runFloodSimulation({
      durationMs: 20_000,
      attackTotal: 200_000,
      initialKeys: [oldKey],
      validPerSec: 100,
      attackerClientId: '10.0.0.1',
      validClientId: () => '10.0.0.1',
      rotation: { from: oldKey, to: newKey, at: 5_000 },
    });
    const s = summarizeRotation(r, 'new');
    const st = r.cache.stats();
    console.log(
      `proxy flood: ${s.count} new-key tokens, ${s.rejected} valid rejected, worst wait ${s.maxWaitMs} ms, peak waiters ${st.peakWaiters}, attacker outcomes ${JSON.stringify(r.attackOutcomes)}`,
    );
    assert.ok(s.count > 1000);
    assert.equal(s.rejected, 0);
    assert.ok(s.maxWaitMs <= COOLDOWN);
    assert.ok(st.peakWaiters <= 512 + s.count, 'one-off kids held to the cap of 512 distinct kids');
    assert.ok((r.attackOutcomes.UNKNOWN_KID_CAPACITY ?? 0) > 100_000, 'the distinct-kid cap held the flood back');
    assert.equal(r.attackAccepted, 0);
    await r.cache.close();
  });
});
