/**
 * The unknown-kid defence, as a deterministic simulation with the injected clock: the real
 * cache and verifier against an in-memory IdP; counts, not timings.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache, createVerifier, KeysUnavailableError, TokenInvalidError } from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';
import { FakeIdp } from './helpers/fake-idp.js';
import { runFloodSimulation } from './helpers/flood-sim.js';
import { PRIORITY_DEFAULTS, priorityAttemptsPerWindow } from '../src/policy/priority.js';
import { AUD, ISS, attackerToken, makeKey, mint } from './helpers/keys.js';

const COOLDOWN = 10_000;
const BURST = 2;
/** The documented budget: a burst, then one attempt per cooldown. */
const budget = (ms: number) => BURST + Math.ceil(ms / COOLDOWN);
/** The priority allowance popular kids may spend on top (issue 11): 2 + 3 = 5 in a minute. */
const priority = (ms: number) => priorityAttemptsPerWindow(PRIORITY_DEFAULTS, ms);

describe('unknown-kid defence (simulation)', () => {
  test('1,000,000 random-kid lookups over 60 s: upstream attempts within the budget, memory bounded', async () => {
    const k1 = makeKey('k1');
    const r = await runFloodSimulation({ durationMs: 60_000, attackTotal: 1_000_000, initialKeys: [k1] });
    const s = r.cache.stats();
    console.log(
      `flood 1e6 lookups / 60 s: ${r.upstreamAttempts} upstream attempts (budget ${budget(60_000)}), outcomes ${JSON.stringify(r.attackOutcomes)}, peak waiters ${s.peakWaiters}, negative entries ${s.negativeEntries}`,
    );
    assert.equal(r.attackLookups, 1_000_000);
    assert.equal(r.attackAccepted, 0);
    assert.ok(r.upstreamAttempts <= budget(60_000), `attempts ${r.upstreamAttempts}`);
    assert.ok(r.upstreamAttempts >= 3, 'the flood does get its budgeted refreshes');
    const settled = Object.values(r.attackOutcomes).reduce((a, b) => a + b, 0);
    assert.equal(settled, 1_000_000, 'every lookup settled (no hang)');
    assert.ok(s.peakWaiters <= 4096);
    assert.ok(s.negativeEntries <= 10_000);
    assert.equal(s.waiters, 0);
    await r.cache.close();
  });

  test('emergency rotation at t = 20 s during the flood: 0 valid rejections, waits ≤ cooldown, removed key refused, 0 attacker accepted', async () => {
    const oldKey = makeKey('old');
    const newKey = makeKey('new');
    const r = await runFloodSimulation({
      durationMs: 60_000,
      attackTotal: 1_000_000,
      initialKeys: [oldKey],
      validPerSec: 100,
      signer: (t) => (t < 20_000 ? oldKey : newKey),
      removedSigner: (t) => (t >= 21_000 + COOLDOWN ? oldKey : undefined),
      script: [{ at: 20_000, run: (idp) => idp.publish(newKey) }],
    });
    const after = r.valid.filter((v) => v.kid === 'new');
    const rejected = r.valid.filter((v) => v.ok !== true);
    const waits = after.map((v) => v.settledAt! - v.issuedAt);
    const maxWait = Math.max(...waits);
    const firstAccepted = after.find((v) => v.ok)!;
    console.log(
      `rotation under flood: ${r.valid.length} valid tokens, ${rejected.length} rejected, max wait ${maxWait} ms (cooldown ${COOLDOWN}), first new-key token accepted after ${firstAccepted.settledAt! - firstAccepted.issuedAt} ms, ${r.upstreamAttempts} upstream attempts, removed-key tokens: ${r.removedRejected} rejected / ${r.removedAccepted} accepted`,
    );
    assert.ok(after.length > 3000);
    assert.equal(rejected.length, 0, `rejected: ${JSON.stringify(rejected.slice(0, 3))}`);
    assert.ok(maxWait <= COOLDOWN, `max wait ${maxWait}`);
    assert.equal(r.attackAccepted, 0);
    assert.ok(r.removedRejected > 0);
    assert.equal(r.removedAccepted, 0);
    // the new kid and the removed one (its tokens keep coming) are popular: each may spend the priority allowance once
    assert.ok(r.upstreamAttempts <= budget(60_000) + priority(60_000), `attempts ${r.upstreamAttempts}`);
    // known keys never waited: before the rotation every valid token settled in its own tick
    const before = r.valid.filter((v) => v.kid === 'old');
    assert.ok(before.every((v) => v.settledAt! - v.issuedAt <= 20), 'known-kid tokens never wait');
    await r.cache.close();
  });

  test('IdP failing (503, then refusing) for 30 s of the flood: attempts within budget, known keys verify', async () => {
    const k1 = makeKey('k1');
    const r = await runFloodSimulation({
      durationMs: 60_000,
      attackTotal: 1_000_000,
      initialKeys: [k1],
      validPerSec: 100,
      signer: () => k1,
      script: [
        { at: 10_000, run: (idp) => (idp.mode = '503') },
        { at: 25_000, run: (idp) => (idp.mode = 'refuse') },
        { at: 40_000, run: (idp) => (idp.mode = 'ok') },
      ],
    });
    const rejected = r.valid.filter((v) => v.ok !== true);
    console.log(`flood with IdP outage: ${r.upstreamAttempts} upstream attempts (budget ${budget(60_000)}), ${rejected.length} valid rejected`);
    assert.equal(rejected.length, 0);
    assert.ok(r.upstreamAttempts <= budget(60_000), `attempts ${r.upstreamAttempts}`);
    assert.equal(r.attackAccepted, 0);
    await r.cache.close();
  });

  test('waiting capacity saturated by distinct kids: tokens with the new real kid are still admitted and accepted', async () => {
    const oldKey = makeKey('old');
    const newKey = makeKey('new');
    const r = await runFloodSimulation({
      durationMs: 30_000,
      attackTotal: 300_000,
      initialKeys: [oldKey],
      validPerSec: 100,
      signer: (t) => (t < 5_000 ? oldKey : newKey),
      script: [{ at: 5_000, run: (idp) => idp.publish(newKey) }],
      cacheOptions: { unknownKid: { maxWaiters: 1500 } },
    });
    const s = r.cache.stats();
    const rejected = r.valid.filter((v) => v.ok !== true);
    console.log(`saturated room (1500): peak ${s.peakWaiters}, capacity rejects ${s.unknownKid['capacity-reject']}, evictions ${s.unknownKid.evicted}, valid rejected ${rejected.length}`);
    assert.equal(s.peakWaiters, 1500);
    assert.ok(s.unknownKid['capacity-reject'] + s.unknownKid.evicted > 1000, 'the room really was saturated');
    assert.equal(rejected.length, 0);
    await r.cache.close();
  });

  test('per-client fairness: one client repeating kids cannot occupy the waiting room', async () => {
    // The attacker repeats each kid 200 times, so frequency alone would favour its kids over
    // a real kid used by 10 tokens/s; the per-client cap is what keeps room for the real one.
    const k1 = makeKey('k1');
    const newKey = makeKey('new');
    const run = (perClient: number | undefined) =>
      runFloodSimulation({
        durationMs: 20_000,
        attackTotal: 200_000,
        initialKeys: [k1],
        validPerSec: 10,
        signer: (t) => (t < 3_000 ? k1 : newKey),
        script: [{ at: 3_000, run: (idp) => idp.publish(newKey) }],
        attackerClientId: 'evil',
        attackerKid: (i) => `evil-${Math.floor(i / 200)}`,
        cacheOptions: { unknownKid: { maxWaiters: 128, ...(perClient ? { maxWaitersPerClient: perClient } : { maxWaitersPerClient: 128 }) } },
      });
    const fair = await run(16);
    const s = fair.cache.stats();
    const rejected = fair.valid.filter((v) => v.ok !== true).length;
    const unfair = await run(undefined);
    const rejectedUnfair = unfair.valid.filter((v) => v.ok !== true).length;
    console.log(`fairness: valid rejected ${rejected} with a per-client cap of 16, ${rejectedUnfair} without; attacker capacity rejects ${fair.attackOutcomes.UNKNOWN_KID_CAPACITY}`);
    assert.ok(s.peakWaiters <= 128);
    assert.equal(rejected, 0);
    assert.ok(rejectedUnfair > 0, 'without the cap the repeating attacker does crowd the real kid out (the test can fail)');
    assert.ok((fair.attackOutcomes.UNKNOWN_KID_CAPACITY ?? 0) > 0);
    await fair.cache.close();
    await unfair.cache.close();
  });
});

describe('unknown-kid defence (unit)', () => {
  function setup(opts: Record<string, unknown> = {}) {
    const clock = new ManualClock(Date.now());
    const k1 = makeKey('k1');
    const idp = new FakeIdp(k1);
    const keys = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, clock, scheduler: clock, random: () => 0.5, ...opts });
    const verifier = createVerifier({ issuer: ISS, audience: AUD, keys, clock });
    const nowSec = () => Math.floor(clock.wallNow() / 1000);
    return { clock, k1, idp, keys, verifier, nowSec };
  }

  test('a repeated unknown kid is answered from the negative cache with no fetch', async () => {
    const { clock, idp, keys, verifier, nowSec } = setup();
    await keys.ready();
    const t = attackerToken('ghost', nowSec());
    await assert.rejects(verifier.verify(t), (e: unknown) => e instanceof TokenInvalidError && e.code === 'KID_NOT_FOUND');
    const fetches = idp.requests;
    for (let i = 0; i < 100; i++) {
      await assert.rejects(verifier.verify(t), (e: unknown) => e instanceof TokenInvalidError && e.code === 'KID_NOT_FOUND');
      await clock.advance(1000);
    }
    assert.equal(idp.requests, fetches, 'no fetch for a negative-cached kid');
    assert.equal(keys.stats().unknownKid['negative-hit'], 100);
    await keys.close();
  });

  test('the negative cache expires after negativeTtlMs and is cleared by a new generation', async () => {
    const { clock, idp, keys, verifier, nowSec, k1 } = setup({ unknownKid: { negativeTtlMs: 60_000 } });
    await keys.ready();
    const ghost = makeKey('ghost');
    const t = await mint(ghost, { nowSec: nowSec() });
    await assert.rejects(verifier.verify(t), (e: unknown) => e instanceof TokenInvalidError && e.code === 'KID_NOT_FOUND');
    // the IdP's replica lagged: the key appears later with no other change
    idp.publish(k1, ghost);
    await clock.advance(61_000);
    const r = await verifier.verify(t);
    assert.equal(r.key.kid, 'ghost');
    await keys.close();
  });

  test('a fetch that started before the lookup arrived does not confirm absence', async () => {
    const { clock, idp, keys, verifier, nowSec, k1 } = setup();
    await keys.ready();
    idp.mode = 'hang';
    const inflight = keys.refresh();
    await clock.advance(100);
    const fresh = makeKey('fresh');
    const t = await mint(fresh, { nowSec: nowSec() });
    const p = verifier.verify(t);
    idp.mode = 'ok';
    idp.publish(k1, fresh);
    await clock.advance(5_000); // the hung fetch times out
    await inflight;
    await clock.advance(COOLDOWN);
    assert.equal((await p).key.kid, 'fresh');
    await keys.close();
  });

  test('pre-gated tokens cause 0 fetches and 0 waits', async () => {
    const { idp, keys, verifier, nowSec, k1 } = setup();
    await keys.ready();
    const fetches = idp.requests;
    const h = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const p = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const good = { iss: ISS, aud: AUD, exp: nowSec() + 600 };
    const cases: [string, string][] = [
      ['alg HS256', `${h({ alg: 'HS256', kid: 'x1' })}.${p(good)}.c2ln`],
      ['alg none', `${h({ alg: 'none', kid: 'x2' })}.${p(good)}.`],
      ['alg NoNe', `${h({ alg: 'NoNe', kid: 'x3' })}.${p(good)}.c2ln`],
      ['kid number', `${h({ alg: 'RS256', kid: 5 })}.${p(good)}.c2ln`],
      ['kid object', `${h({ alg: 'RS256', kid: { a: 1 } })}.${p(good)}.c2ln`],
      ['kid too long', `${h({ alg: 'RS256', kid: 'k'.repeat(300) })}.${p(good)}.c2ln`],
      ['two segments', `${h({ alg: 'RS256', kid: 'x4' })}.${p(good)}`],
      ['five segments', `${h({ alg: 'RS256', kid: 'x5' })}.${p(good)}.a.b.c`],
      ['wrong issuer', `${h({ alg: 'RS256', kid: 'x6' })}.${p({ ...good, iss: 'https://evil/' })}.c2ln`],
      ['expired', `${h({ alg: 'RS256', kid: 'x7' })}.${p({ ...good, exp: nowSec() - 3600 })}.c2ln`],
      ['header not JSON', `bm90anNvbg.${p(good)}.c2ln`],
      ['too large', `${h({ alg: 'RS256', kid: 'x8' })}.${'A'.repeat(20_000)}.c2ln`],
    ];
    for (const [label, token] of cases) {
      await assert.rejects(verifier.verify(token), (e: unknown) => e instanceof TokenInvalidError, label);
    }
    const s = keys.stats();
    assert.equal(idp.requests, fetches, 'no fetch');
    assert.equal(s.peakWaiters, 0, 'no wait');
    assert.equal(s.misses, 0);
    assert.equal(s.unknownKid['pregate-reject'], cases.length);
    void k1;
    await keys.close();
  });

  test('budget: a burst, then one attempt per cooldown; a failing IdP costs no more and backs off', async () => {
    const { clock, idp, keys, verifier, nowSec } = setup();
    await keys.ready();
    const start = idp.requests;
    let n = 0;
    const pending: Promise<unknown>[] = [];
    for (let t = 0; t < 120_000; t += 100) {
      for (let i = 0; i < 20; i++) pending.push(verifier.verify(attackerToken(`r${n++}`, nowSec())).catch((e: unknown) => e));
      await clock.advance(100);
    }
    await clock.advance(COOLDOWN);
    await Promise.all(pending);
    const okAttempts = idp.requests - start;
    assert.ok(okAttempts <= budget(120_000) + 1, `attempts ${okAttempts}`);
    idp.mode = '503';
    const failStart = idp.requests;
    for (let t = 0; t < 120_000; t += 100) {
      for (let i = 0; i < 20; i++) pending.push(verifier.verify(attackerToken(`f${n++}`, nowSec())).catch((e: unknown) => e));
      await clock.advance(100);
    }
    await clock.advance(COOLDOWN);
    const errs = await Promise.all(pending);
    const failAttempts = idp.requests - failStart;
    console.log(`budget: ${okAttempts} attempts in 120 s with a healthy IdP, ${failAttempts} with a failing one`);
    assert.ok(failAttempts <= okAttempts, `failing IdP got ${failAttempts} attempts`);
    assert.ok(errs.some((e) => e instanceof KeysUnavailableError && e.code === 'UNKNOWN_KID_WAIT_TIMEOUT'));
    await keys.close();
  });
});
