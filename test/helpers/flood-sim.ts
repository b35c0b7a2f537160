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

/** Where in the refresh cycle an emergency rotation falls. */
export type RotationPhase = 'after-refresh' | 'mid-cooldown' | 'before-slot';

/** An emergency rotation: `to` published (and `from` removed) and used at once. */
export interface RotationPlan {
  from: SigningKey;
  to: SigningKey;
  /**
   * When: a simulated time (ms from the start), or a phase of the refresh cycle: the first
   * unknown-kid refresh that starts at or after `notBefore` is the reference; `after-refresh`
   * rotates one tick after it, `mid-cooldown` half a cooldown after it, `before-slot` 50 ms
   * before the next budget slot (one cooldown after it).
   */
  at: number | { phase: RotationPhase; notBefore: number; cooldownMs: number };
  /** Keep publishing the old key too (a graceful rotation). Default: false (emergency). */
  keepOld?: boolean;
}

/** One attacker lookup: its kid and, optionally, its clientId. */
export interface AttackLookup {
  kid: string;
  clientId?: string;
}

export interface SimResult {
  upstreamAttempts: number;
  /** Simulated times (ms from the start) of every refresh start, with its reason. */
  refreshStarts: { t: number; reason: string }[];
  /** When the rotation happened (ms from the start), if one was planned. */
  rotatedAt: number | undefined;
  attackLookups: number;
  attackAccepted: number;
  attackOutcomes: Record<string, number>;
  valid: ValidRecord[];
  cache: JwksCache;
  clock: ManualClock;
  idp: FakeIdp;
  /** Simulated ms from the start of the run to its end (including the settling tail). */
  elapsedMs: number;
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
  /** Client id of the i-th valid token (overrides `validClients`), e.g. one proxy address for all. */
  validClientId?: (i: number) => string | undefined;
  /** An emergency rotation (replaces `signer`/`script` for the rotation itself). */
  rotation?: RotationPlan;
  /**
   * The i-th attacker lookup at simulated time `t` (ms from the start); overrides
   * `attackerKid`/`attackerClientId`. For adaptive attackers (repeated fake kids, one fake kid
   * from many clients, fake kids at a real kid's rate).
   */
  attacker?: (i: number, t: number) => AttackLookup;
  /** IdP answer delay in simulated ms (on the injected scheduler). Default: 0. */
  idpLatencyMs?: number;
}

/** Summary of the valid tokens signed with the rotation's new key. */
export interface RotationSummary {
  /** Valid tokens signed with the new key. */
  count: number;
  /** Valid tokens (any key) not accepted. */
  rejected: number;
  /** Wait of the first new-key token that was accepted, from its issue (ms). */
  firstAcceptedWaitMs: number;
  /** Time from the rotation until the first new-key token was accepted (ms). */
  firstAcceptedAfterRotationMs: number;
  p50WaitMs: number;
  p99WaitMs: number;
  maxWaitMs: number;
}

/** Percentile (nearest rank) of a sorted array. */
function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Waits of the new-key tokens of a run with a rotation. */
export function summarizeRotation(r: SimResult, newKid: string): RotationSummary {
  const after = r.valid.filter((v) => v.kid === newKid);
  const waits = after.map((v) => (v.settledAt ?? Infinity) - v.issuedAt).sort((a, b) => a - b);
  const first = after.filter((v) => v.ok).sort((a, b) => a.settledAt! - b.settledAt!)[0];
  const t0 = r.clock.monotonicNow() - r.elapsedMs;
  return {
    count: after.length,
    rejected: r.valid.filter((v) => v.ok !== true).length,
    firstAcceptedWaitMs: first ? first.settledAt! - first.issuedAt : Infinity,
    firstAcceptedAfterRotationMs: first && r.rotatedAt !== undefined ? first.settledAt! - t0 - r.rotatedAt : Infinity,
    p50WaitMs: pct(waits, 50),
    p99WaitMs: pct(waits, 99),
    maxWaitMs: waits.length ? waits[waits.length - 1]! : NaN,
  };
}

export async function runFloodSimulation(o: SimOptions): Promise<SimResult & { removedAccepted: number; removedRejected: number }> {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  const idp = new FakeIdp(...o.initialKeys);
  idp.now = () => clock.monotonicNow();
  const latency = o.idpLatencyMs ?? 0;
  const fetch: typeof idp.fetch =
    latency > 0 ? (url, init) => new Promise((resolve) => clock.setTimeout(() => resolve(idp.fetch(url, init)), latency)) : idp.fetch;
  const cache = createJwksCache({
    jwksUri: 'https://idp.test/.well-known/jwks.json',
    fetch,
    clock,
    scheduler: clock,
    random: () => 0.5,
    ...o.cacheOptions,
  });
  const verifier: Verifier = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
  await cache.ready();
  const t0 = clock.monotonicNow();
  const refreshStarts: { t: number; reason: string }[] = [];
  cache.on('refresh.started', (e) => refreshStarts.push({ t: clock.monotonicNow() - t0, reason: e.reason }));
  const rot = o.rotation;
  let rotatedAt: number | undefined;
  const rotationDue = (t: number): boolean => {
    if (!rot || rotatedAt !== undefined) return false;
    if (typeof rot.at === 'number') return t >= rot.at;
    const { phase, notBefore, cooldownMs } = rot.at;
    const ref = refreshStarts.find((r) => r.t >= notBefore && r.reason === 'unknown-kid');
    if (!ref) return false;
    const offset = phase === 'after-refresh' ? 1 : phase === 'mid-cooldown' ? cooldownMs / 2 : cooldownMs - 50;
    return t >= ref.t + offset;
  };
  const signerAt = (tMs: number): SigningKey | undefined => {
    if (o.signer) return o.signer(tMs);
    if (rot) return rotatedAt !== undefined && tMs >= rotatedAt ? rot.to : rot.from;
    return undefined;
  };
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
    if (rot && rotationDue(t)) {
      rotatedAt = t;
      if (rot.keepOld) idp.publish(rot.from, rot.to);
      else idp.publish(rot.to);
    }
    const n = Math.floor(((i + 1) * o.attackTotal) / ticks) - Math.floor((i * o.attackTotal) / ticks);
    for (let j = 0; j < n; j++) {
      attackLookups++;
      const a: AttackLookup = o.attacker
        ? o.attacker(attackLookups, t)
        : { kid: o.attackerKid ? o.attackerKid(attackLookups) : `r${Math.random().toString(36).slice(2)}`, clientId: o.attackerClientId };
      verifier.verify(attackerToken(a.kid, nowSec), a.clientId !== undefined ? { clientId: a.clientId } : undefined).then(
        () => attackAccepted++,
        (e: { code?: string }) => {
          const c = e.code ?? 'OTHER';
          attackOutcomes[c] = (attackOutcomes[c] ?? 0) + 1;
        },
      );
    }
    while ((o.signer || rot) && nextValid <= t + tick - 1) {
      const at = t0 + nextValid;
      const key = signerAt(nextValid)!;
      const rec: ValidRecord = { kid: key.kid, issuedAt: at, settledAt: undefined, ok: undefined, code: undefined };
      valid.push(rec);
      const token = await tokenFor(key, Math.floor(nextValid / 1000));
      const validClient = o.validClientId ? o.validClientId(valid.length) : `user-${valid.length % (o.validClients ?? 500)}`;
      verifier.verify(token, validClient !== undefined ? { clientId: validClient } : undefined).then(
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
    refreshStarts,
    rotatedAt,
    elapsedMs: clock.monotonicNow() - t0,
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
