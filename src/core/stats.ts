/** The stats counters, created once per cache and updated in place by its parts. @internal */
import type { JwksCacheStats } from './api.js';
import type { UnknownKidDecision } from '../events.js';

/** Every unknown-kid decision, in the order stats list them. */
export const DECISIONS: readonly UnknownKidDecision[] = ['refetch', 'priority-refetch', 'joined', 'waited', 'negative-hit', 'pregate-reject', 'capacity-reject', 'evicted', 'wait-timeout', 'found', 'not-found'];

/** Zeroed counters. */
export function newStats(): JwksCacheStats {
  return {
    fetches: 0,
    fetchesModified: 0,
    notModified: 0,
    failures: 0,
    consecutiveFailures: 0,
    hits: 0,
    misses: 0,
    staleServes: 0,
    keysDropped: 0,
    unknownKid: Object.fromEntries(DECISIONS.map((d) => [d, 0])) as Record<UnknownKidDecision, number>,
    signatureRefreshes: 0,
    waiters: 0,
    peakWaiters: 0,
    waitingKids: 0,
    waitingClients: 0,
    negativeEntries: 0,
    generation: 0,
    keyCount: 0,
    fleet: undefined,
  };
}
