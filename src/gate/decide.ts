/**
 * The unknown-kid gate's decisions, as pure functions of (state, now, configuration). No
 * clock, no timer, no I/O: the gate (`gate.ts`) gathers the state, calls these, and carries
 * out what they say. Tested by tables (test/unit/gate).
 *
 * The priority path for popular kids (issue 11) plugs in here: `ArrivalState.frequency`
 * (how often the kid was asked for recently) is given to {@link decideUnknownKid} and the
 * budget it asks is `ArrivalState.readyAt`; a priority rule is a new branch before `waited`
 * / `wait-timeout` (e.g. a separate, smaller budget for kids above a frequency threshold).
 */

/** Configuration of the decisions. */
export interface GateDecisionConfig {
  /** How long a kid confirmed absent stays rejected without waiting, ms (unless a newer set arrives). */
  readonly negativeTtlMs: number;
  /** Longest a lookup waits for a refresh to start, ms. */
  readonly maxWaitMs: number;
}

/** A negative-cache entry: the kid was confirmed absent from `generation` at monotonic `at`. */
export interface NegativeEntry {
  readonly generation: number;
  readonly at: number;
}

/** What the gate knows when a lookup for a kid absent from the current set arrives. */
export interface ArrivalState {
  /** The negative-cache entry of the kid, if any. */
  readonly negative: NegativeEntry | undefined;
  /** The current local generation. */
  readonly generation: number;
  /**
   * A signature recheck (the kid is known but its material failed): only a load sent after
   * the lookup arrived may answer it, so it skips the negative cache and never joins.
   */
  readonly needsNewFetch: boolean;
  /** The waiting room's answer: `not-asked` until the decision asks for it. */
  readonly admission: 'not-asked' | 'admitted' | 'full';
  /** A load is in flight. */
  readonly inflight: boolean;
  /** The budget the gate asks: monotonic time at which the next budgeted load may start (backoff and bucket). */
  readonly readyAt: number;
  /** How often the kid was asked for recently (seam for the priority path; not used by today's rule). */
  readonly frequency: number;
}

/** What the gate does with the lookup (decision names are those of `UnknownKidDecision`). */
export type GateDecision =
  /** Reject with `KID_NOT_FOUND` at once. */
  | { readonly kind: 'negative-hit' }
  /** Ask the waiting room for a place, then decide again with its answer. */
  | { readonly kind: 'ask-admission' }
  /** Reject with `UNKNOWN_KID_CAPACITY`. */
  | { readonly kind: 'capacity-reject'; readonly retryAfterMs: number }
  /** Wait for the load in flight. */
  | { readonly kind: 'joined' }
  /** Start a budgeted load now and wait for it. */
  | { readonly kind: 'refetch' }
  /** Wait; when `armAt` is set, serve the room at that time (else when the load in flight ends). */
  | { readonly kind: 'waited'; readonly armAt: number | undefined }
  /** Leave the room and reject with `UNKNOWN_KID_WAIT_TIMEOUT`: no load can start before the deadline. */
  | { readonly kind: 'wait-timeout'; readonly retryAfterMs: number };

const NEGATIVE_HIT: GateDecision = Object.freeze({ kind: 'negative-hit' });
const ASK: GateDecision = Object.freeze({ kind: 'ask-admission' });
const JOINED: GateDecision = Object.freeze({ kind: 'joined' });
const REFETCH: GateDecision = Object.freeze({ kind: 'refetch' });
const WAIT_FOR_INFLIGHT: GateDecision = Object.freeze({ kind: 'waited', armAt: undefined });

/** True when the negative cache answers: same generation, younger than the TTL. */
export function negativeHit(entry: NegativeEntry | undefined, generation: number, now: number, cfg: GateDecisionConfig): boolean {
  return entry !== undefined && entry.generation === generation && now - entry.at < cfg.negativeTtlMs;
}

/** The decision for one lookup of an unknown kid (or a signature recheck). */
export function decideUnknownKid(s: ArrivalState, now: number, cfg: GateDecisionConfig): GateDecision {
  if (!s.needsNewFetch && negativeHit(s.negative, s.generation, now, cfg)) return NEGATIVE_HIT;
  if (s.admission === 'not-asked') return ASK;
  if (s.admission === 'full') return { kind: 'capacity-reject', retryAfterMs: Math.max(0, s.readyAt - now) };
  if (s.inflight) return s.needsNewFetch ? WAIT_FOR_INFLIGHT : JOINED;
  if (s.readyAt <= now) return REFETCH;
  if (s.readyAt > now + cfg.maxWaitMs) return { kind: 'wait-timeout', retryAfterMs: s.readyAt - now };
  return { kind: 'waited', armAt: s.readyAt };
}

/** Serving the room: a waiter whose deadline comes before the next permitted load times out now. */
export function waiterTimesOut(deadline: number, readyAt: number): boolean {
  return readyAt > deadline;
}

/** What a waiter noted on arrival. */
export interface WaiterMark {
  /** The greatest record version issued or seen by this process when the waiter arrived. */
  readonly after: number;
  /** Only a load sent after arrival may settle it (signature recheck). */
  readonly needsNewFetch: boolean;
}

/**
 * What a newly installed record means for a waiter, by VERSION: a record newer than every
 * version the waiter could see on arrival (`after`) was requested after it arrived, so it may
 * confirm the kid absent; an older one (the load that was already in flight) may only bring
 * the kid. Records from other processes settle waiters by the same rule.
 */
export function settleWaiter(w: WaiterMark, recordVersion: number, hasKid: boolean): 'keep' | 'found' | 'not-found' {
  const newer = recordVersion > w.after;
  if (w.needsNewFetch && !newer) return 'keep';
  if (hasKid) return 'found';
  return newer ? 'not-found' : 'keep';
}

/** The signature recheck of one generation: opened once, settled by a record newer than its opening. */
export interface RecheckState {
  readonly generation: number;
  /** Version high-water mark when it was opened. */
  readonly after: number;
  readonly settled: boolean;
}

/**
 * After a signature failure on a known kid seen in `seenGeneration`:
 * - `newer-set`: the set changed since: look the kid up there, no refresh;
 * - `done`: this generation's recheck already ran: the failure stands;
 * - `open`: first failure of this generation: open a recheck (counted) and wait for a new load;
 * - `join`: a recheck of this generation is open: wait for the same load.
 */
export function decideRecheck(rec: RecheckState | undefined, seenGeneration: number, currentGeneration: number): 'newer-set' | 'done' | 'open' | 'join' {
  if (currentGeneration !== seenGeneration) return 'newer-set';
  if (rec?.generation !== seenGeneration) return 'open';
  return rec.settled ? 'done' : 'join';
}
