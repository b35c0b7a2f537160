/**
 * A deterministic flood simulation: the real cache and verifier, an in-memory IdP, an
 * injected clock. Counts, not timings.
 */
import { createJwksCache, createVerifier, type JwksCache, type Verifier } from '../../src/index.js';
import type { JwksCacheOptions } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { FakeIdp } from './fake-idp.js';
import { AUD, ISS, attackerToken, mint, type SigningKey } from './keys.js';

export interface ValidRecord {
  kid: string;
  issuedAt: number;
  settledAt: number | undefined;
  ok: boolean | undefined;
  code: string | undefined;
}

export interface SimResult {
  upstreamAttempts: number;
  attackLookups: number;
  attackAccepted: number;
  attackOutcomes: Record<string, number>;
  valid: ValidRecord[];
  cache: JwksCache;
  clock: ManualClock;
  idp: FakeIdp;
}

export interface SimOptions {
  durationMs: number;
  attackTotal: number;
  /** Valid tokens per second and the key that signs them at a given time. */
  validPerSec?: number;
  signer?: (tMs: number) => SigningKey;
  /** Tokens of the key that was removed, to check they are refused after the rotation. */
  removedSigner?: (tMs: number) => SigningKey | undefined;
  /** Things to do at given simulated times (rotation, outage). */
  script?: { at: number; run: (idp: FakeIdp) => void }[];
  initialKeys: SigningKey[];
  cacheOptions?: Partial<JwksCacheOptions>;
  tickMs?: number;
  /** Client id for attacker lookups (fairness tests). */
  attackerClientId?: string;
  /** Kid of the i-th attacker token. Default: random. */
  attackerKid?: (i: number) => string;
  /** Distinct client ids the valid traffic comes from. Default: 500. */
  validClients?: number;
}

export async function runFloodSimulation(o: SimOptions): Promise<SimResult & { removedAccepted: number; removedRejected: number }> {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const idp = new FakeIdp(...o.initialKeys);
  idp.now = () => clock.monotonicNow();
  const cache = createJwksCache({
    jwksUri: 'https://idp.test/.well-known/jwks.json',
    fetch: idp.fetch,
    clock,
    scheduler: clock,
    random: () => 0.5,
    ...o.cacheOptions,
  });
  const verifier: Verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
  await cache.ready();
  const t0 = clock.monotonicNow();
  const nowSec = Math.floor(clock.wallNow() / 1000);
  const tick = o.tickMs ?? 10;
  const ticks = Math.ceil(o.durationMs / tick);

  const attackOutcomes: Record<string, number> = {};
  let attackAccepted = 0;
  let attackLookups = 0;
  const valid: ValidRecord[] = [];
  let removedAccepted = 0;
  let removedRejected = 0;
  const validEvery = o.validPerSec ? 1000 / o.validPerSec : Infinity;
  let nextValid = 0;
  const script = [...(o.script ?? [])].sort((a, b) => a.at - b.at);
  const tokenCache = new Map<string, Promise<string>>();
  const tokenFor = (k: SigningKey, slot: number) => {
    const id = `${k.kid}:${slot}`;
    let t = tokenCache.get(id);
    if (!t) tokenCache.set(id, (t = mint(k, { nowSec, claims: { jti: id } })));
    return t;
  };
  const startAttempts = idp.requests;
  for (let i = 0; i < ticks; i++) {
    const t = clock.monotonicNow() - t0;
    while (script.length && script[0]!.at <= t) script.shift()!.run(idp);
    const n = Math.floor(((i + 1) * o.attackTotal) / ticks) - Math.floor((i * o.attackTotal) / ticks);
    for (let j = 0; j < n; j++) {
      attackLookups++;
      const kid = o.attackerKid ? o.attackerKid(attackLookups) : `r${Math.random().toString(36).slice(2)}`;
      verifier.verify(attackerToken(kid, nowSec), o.attackerClientId ? { clientId: o.attackerClientId } : undefined).then(
        () => attackAccepted++,
        (e: { code?: string }) => {
          const c = e.code ?? 'OTHER';
          attackOutcomes[c] = (attackOutcomes[c] ?? 0) + 1;
        },
      );
    }
    while (o.signer && nextValid <= t + tick - 1) {
      const at = t0 + nextValid;
      const key = o.signer(nextValid);
      const rec: ValidRecord = { kid: key.kid, issuedAt: at, settledAt: undefined, ok: undefined, code: undefined };
      valid.push(rec);
      const token = await tokenFor(key, Math.floor(nextValid / 1000));
      verifier.verify(token, { clientId: `user-${valid.length % (o.validClients ?? 500)}` }).then(
        () => {
          rec.ok = true;
          rec.settledAt = clock.monotonicNow();
        },
        (e: { code?: string }) => {
          rec.ok = false;
          rec.code = e.code;
          rec.settledAt = clock.monotonicNow();
        },
      );
      const removed = o.removedSigner?.(nextValid);
      if (removed) {
        verifier.verify(await tokenFor(removed, Math.floor(nextValid / 1000))).then(
          () => removedAccepted++,
          () => removedRejected++,
        );
      }
      nextValid += validEvery;
    }
    await clock.advance(tick);
  }
  // let the last waiters settle
  await clock.advance(30_000);
  return {
    upstreamAttempts: idp.requests - startAttempts,
    attackLookups,
    attackAccepted,
    attackOutcomes,
    valid,
    cache,
    clock,
    idp,
    removedAccepted,
    removedRejected,
  };
}
