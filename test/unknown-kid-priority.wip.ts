/**
 * Issue 11: a real new key accepted within well under a second under a random-kid flood, with
 * zero rejections and bounded IdP traffic; adaptive attackers against the priority path.
 * Deterministic simulations (injected clock, the real cache and verifier, an in-memory IdP)
 * through the public API only; counts and simulated times, never wall time.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PRIORITY_DEFAULTS, priorityAttemptsPerWindow } from '../src/policy/priority.js';
import { runFloodSimulation, summarizeRotation, type RotationPhase } from './helpers/flood-sim.js';
import { makeKey } from './helpers/keys.js';

const COOLDOWN = 10_000;
const BURST = 2;
const MINUTE = 60_000;
/** The shared budget over `ms`: a burst, then one attempt per cooldown. */
const mainBudget = (ms: number) => BURST + Math.ceil(ms / COOLDOWN);
/** The priority allowance over `ms` (documented: 2 + 3 = 5 a minute with the defaults). */
const priorityBudget = (ms: number) => priorityAttemptsPerWindow(PRIORITY_DEFAULTS, ms);
/** The `priority-refetch` decision count (a decision the gate gains with the priority path). */
const priorityRefetches = (d: object): number => (d as Record<string, number>)['priority-refetch'] ?? 0;
/** The documented total for a 60 s flood: 8 + 5 = 13. */
const TOTAL_60S = mainBudget(MINUTE) + priorityBudget(MINUTE);

describe('rotation under a random-kid flood, at every phase of the refresh cycle (issue 11)', () => {
  const phases: RotationPhase[] = ['after-refresh', 'mid-cooldown', 'before-slot'];
  for (const phase of phases) {
    test(`1,000,000 random-kid lookups over 60 s, rotation ${phase}: 0 valid rejected, first new-key token accepted within 1 s, attempts within ${TOTAL_60S}`, async () => {
      const oldKey = makeKey('old');
      const newKey = makeKey('new');
      const r = await runFloodSimulation({
        durationMs: MINUTE,
        attackTotal: 1_000_000,
        initialKeys: [oldKey],
        validPerSec: 100,
        rotation: { from: oldKey, to: newKey, at: { phase, notBefore: 20_000, cooldownMs: COOLDOWN } },
      });
      const s = summarizeRotation(r, 'new');
      const decisions = r.cache.stats().unknownKid;
      console.log(
        `rotation ${phase} (t = ${r.rotatedAt} ms, refreshes at ${r.refreshStarts.map((x) => x.t).join(', ')}): ${s.count} new-key tokens, ${s.rejected} valid rejected, first accepted ${s.firstAcceptedAfterRotationMs} ms after the rotation, waits p50 ${s.p50WaitMs} / p99 ${s.p99WaitMs} / max ${s.maxWaitMs} ms; ${r.upstreamAttempts} upstream attempts (budget ${mainBudget(MINUTE)} + priority ${priorityBudget(MINUTE)} = ${TOTAL_60S}); decisions ${JSON.stringify(decisions)}`,
      );
      assert.ok(r.rotatedAt !== undefined && r.rotatedAt >= 20_000, 'the rotation happened');
      assert.ok(s.count > 3000);
      assert.equal(s.rejected, 0);
      assert.ok(s.firstAcceptedAfterRotationMs <= 1_000, `first accepted after ${s.firstAcceptedAfterRotationMs} ms`);
      assert.ok(s.maxWaitMs <= 1_000, `max wait ${s.maxWaitMs} ms`);
      assert.ok(r.upstreamAttempts <= TOTAL_60S, `attempts ${r.upstreamAttempts}`);
      assert.equal(r.attackAccepted, 0);
      await r.cache.close();
    });
  }
});

describe('adaptive attackers against the priority path (issue 11)', () => {
  const oldKey = makeKey('old');
  const newKey = makeKey('new');
  const run = (attacker: (i: number, t: number) => { kid: string; clientId?: string }) =>
    runFloodSimulation({
      durationMs: MINUTE,
      attackTotal: 300_000,
      initialKeys: [oldKey],
      validPerSec: 100,
      attacker,
      rotation: { from: oldKey, to: newKey, at: { phase: 'after-refresh', notBefore: 20_000, cooldownMs: COOLDOWN } },
    });
  const report = (name: string, r: Awaited<ReturnType<typeof run>>) => {
    const s = summarizeRotation(r, 'new');
    const d = r.cache.stats().unknownKid;
    console.log(
      `adaptive attacker "${name}": ${r.upstreamAttempts} upstream attempts (bound ${TOTAL_60S}), valid new-key tokens: ${s.rejected} rejected, first accepted ${s.firstAcceptedAfterRotationMs} ms after the rotation, worst wait ${s.maxWaitMs} ms (bound ${COOLDOWN}); decisions ${JSON.stringify(d)}`,
    );
    return s;
  };

  test('repeated fake kids (each 50 times, anonymous, so popular by sightings): the allowance is spent, never more; real kid waits at most one cooldown', async () => {
    const r = await run((i) => ({ kid: `fake-${Math.floor(i / 50)}` }));
    const s = report('repeated fake kids', r);
    assert.equal(s.rejected, 0);
    assert.ok(s.maxWaitMs <= COOLDOWN, `worst wait ${s.maxWaitMs}`);
    assert.ok(r.upstreamAttempts <= TOTAL_60S, `attempts ${r.upstreamAttempts}`);
    assert.ok(priorityRefetches(r.cache.stats().unknownKid) >= 1, 'the attacker did reach the priority path (the test can fail)');
    assert.equal(r.attackAccepted, 0);
    await r.cache.close();
  });

  test('one fake kid from 10,000 clientIds (among random kids): one priority refresh per key set, then negative-cached; the real kid still gets its fast path', async () => {
    const r = await run((i) => (i % 2 === 0 ? { kid: 'fake-popular', clientId: `bot-${i % 10_000}` } : { kid: `r${i}`, clientId: `bot-${i % 10_000}` }));
    const s = report('one fake kid, many clients', r);
    const d = r.cache.stats().unknownKid;
    assert.equal(s.rejected, 0);
    assert.ok(s.firstAcceptedAfterRotationMs <= 1_000, `first accepted after ${s.firstAcceptedAfterRotationMs} ms`);
    assert.ok(d['negative-hit'] > 100_000, 'repeating the confirmed-absent kid buys nothing');
    assert.ok(r.upstreamAttempts <= mainBudget(MINUTE) + 3, `attempts ${r.upstreamAttempts}`);
    assert.equal(r.attackAccepted, 0);
    await r.cache.close();
  });

  test('fake kids mimicking a real kid (a new one each second, 5,000 lookups each from 500 clients): extra attempts at most the allowance; real kid waits at most one cooldown', async () => {
    const r = await run((i, t) => ({ kid: `mimic-${Math.floor(t / 1000)}`, clientId: `user-${i % 500}` }));
    const s = report('fake kids at a real kid rate', r);
    assert.equal(s.rejected, 0);
    assert.ok(s.maxWaitMs <= COOLDOWN, `worst wait ${s.maxWaitMs}`);
    assert.ok(r.upstreamAttempts <= TOTAL_60S, `attempts ${r.upstreamAttempts}`);
    assert.ok(priorityRefetches(r.cache.stats().unknownKid) >= 3, 'the attacker did spend the allowance (the test can fail)');
    assert.equal(r.attackAccepted, 0);
    await r.cache.close();
  });
});
