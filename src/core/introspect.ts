/**
 * Introspection derived from state, never kept beside it: the public snapshot view and the
 * health verdict are pure functions of the holder, the backoff state and the fleet status.
 */
import type { JwksCacheHealth, SnapshotView } from './api.js';
import type { KeyHolder } from './holder.js';

/** The public view of the current record, or `undefined` before the first load. */
export function snapshotView(h: KeyHolder, monoNow: number, wallNow: number): SnapshotView | undefined {
  const s = h.snapshot;
  const rec = h.record;
  if (!s || !rec) return undefined;
  return {
    generation: s.generation,
    keys: s.keys.map((k) => ({ kid: k.kid, kty: k.jwk.kty, crv: k.jwk.crv, alg: k.jwk.alg, algorithms: k.algorithms, thumbprint: k.thumbprint })),
    status: h.usability(monoNow),
    lastSuccessAt: rec.fetchedAt,
    freshUntil: wallNow + (h.freshUntil - monoNow),
  };
}

/** What health is derived from. */
export interface HealthInputs {
  closed: boolean;
  consecutiveFailures: number;
  lastErrorCode: string | undefined;
  fleetDegraded: boolean;
}

/**
 * `failing` when closed, not loaded or expired; `degraded` when serving stale keys, while
 * refreshes fail, or while fleet mode runs local-only; `healthy` otherwise.
 */
export function deriveHealth(h: KeyHolder, now: number, x: HealthInputs): JwksCacheHealth {
  const reasons: string[] = [];
  let state: JwksCacheHealth['state'] = 'healthy';
  if (x.closed) {
    state = 'failing';
    reasons.push('closed');
  } else if (!h.snapshot) {
    state = 'failing';
    reasons.push('not-loaded');
  } else {
    const u = h.usability(now);
    if (u === 'expired') {
      state = 'failing';
      reasons.push('expired');
    } else if (u === 'stale') {
      state = 'degraded';
      reasons.push('stale');
    }
  }
  if (x.consecutiveFailures > 0) {
    if (state === 'healthy') state = 'degraded';
    reasons.push('refresh-failing');
  }
  if (x.fleetDegraded && !x.closed) {
    if (state === 'healthy') state = 'degraded';
    reasons.push('fleet-degraded');
  }
  return { state, reasons, lastSuccessAgeMs: h.lastSuccessAt === undefined ? undefined : now - h.lastSuccessAt, lastErrorCode: x.lastErrorCode };
}
