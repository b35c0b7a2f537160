/** Messages between the orchestrator and a library process, and the results they carry. */
import type { AdapterId } from './adapters.js';
import type { IdpEndpoints } from './idp-client.js';
import type { BenchAlg } from './keys.js';

export type ScenarioId = 'hot' | 'flood' | 'rotation' | 'announced' | 'outage' | 'stampede';

export interface HotParams {
  algs: BenchAlg[];
  trials: number;
  trialMs: number;
}
export interface FloodParams {
  durationMs: number;
  maxInflight: number;
  /** How long to wait for pending attacker lookups after the window. */
  drainMs: number;
}
export type RotationPhase = { kind: 'fixed' } | { kind: 'after-fetch'; delayMs: number };
export interface RotationParams {
  preMs: number;
  postMs: number;
  validPerSec: number;
  floodConcurrency: number;
  floodPerSec: number;
  phase: RotationPhase;
  /** Longest wait for the library's next JWKS request before rotating anyway. */
  maxWaitForFetchMs: number;
  /** How long to wait for pending verifications after the run. */
  drainMs: number;
  oldKid: string;
  newKid: string;
}
export interface AnnouncedParams {
  publishAtMs: number;
  useAtMs: number;
  endMs: number;
  validPerSec: number;
  oldKid: string;
  newKid: string;
}
export interface OutageParams {
  hours: number;
  checkpointsHours: number[];
  stepMs: number;
}
export interface StampedeParams {
  concurrent: number;
  slowMs: number;
}

export interface ParamsOf {
  hot: HotParams;
  flood: FloodParams;
  rotation: RotationParams;
  announced: AnnouncedParams;
  outage: OutageParams;
  stampede: StampedeParams;
}

export interface RunRequest<S extends ScenarioId = ScenarioId> {
  type: 'run';
  adapter: AdapterId;
  scenario: S;
  params: ParamsOf[S];
  idp: IdpEndpoints;
  /** Pre-minted valid tokens by pool name. */
  pools: Record<string, string[]>;
}

export interface HotResult {
  /** Median verifies/s per alg; null: not supported (see `errors`). */
  opsPerSec: Partial<Record<BenchAlg, number | null>>;
  trials: Partial<Record<BenchAlg, number[]>>;
  errors: Partial<Record<BenchAlg, string>>;
}

export interface FloodResult {
  durationMs: number;
  sent: number;
  settledInWindow: number;
  settled: number;
  accepted: number;
  codes: Record<string, number>;
  peakInflight: number;
  pendingAtEnd: number;
  upstream: number;
  peakRssMb: number;
  cpuMs: number;
}

export interface Series {
  /** Seconds relative to the event of interest (rotation): index 0 is `fromSec`. */
  fromSec: number;
  validOk: number[];
  validRejected: number[];
  upstream: number[];
  attack: number[];
}

export interface RotationResult {
  phase: RotationPhase;
  /** Rotation time, s from the start of the traffic. */
  rotatedAtSec: number;
  /** ms between the library's JWKS request and the rotation (after-fetch phases). */
  fetchToRotationMs: number | null;
  sawFetch: boolean;
  valid: number;
  validAccepted: number;
  rejected: number;
  rejectedNew: number;
  rejectedOld: number;
  rejectCodes: Record<string, number>;
  /** ms from the rotation to the first accepted new-key token (settle time). */
  firstNewAcceptMs: number | null;
  /** ms from the rotation to the last rejected valid token (settle time); null: none. */
  lastRejectMs: number | null;
  p50Ms: number;
  p99Ms: number;
  p99NewMs: number;
  /** p50 latency of the valid requests sent from the rotation on (ms; unsettled ones count as the drain). */
  p50AfterMs: number;
  /** p99 latency of the valid requests sent from the rotation on (ms). */
  p99AfterMs: number;
  /** Valid requests sent from the rotation on that took more than 1 s (or never settled). */
  over1sAfter: number;
  unsettled: number;
  upstream: number;
  upstreamAfterRotation: number;
  attackSent: number;
  attackAccepted: number;
  attackCodes: Record<string, number>;
  peakRssMb: number;
  cpuMs: number;
  wallMs: number;
  series: Series;
}

export interface AnnouncedResult {
  valid: number;
  rejected: number;
  rejectCodes: Record<string, number>;
  firstNewAcceptMs: number | null;
  lastRejectMs: number | null;
  p50Ms: number;
  p99Ms: number;
  upstream: number;
  upstreamBeforeUse: number;
}

export interface OutageResult {
  timeSimulation: string;
  /** Whether the check at each checkpoint (hours) verified. */
  verifiesAt: Record<string, boolean>;
  /** Upstream requests from the outage start to each checkpoint. */
  upstreamAt: Record<string, number>;
  /** Last simulated minute that verified, and the first that did not (null: never failed). */
  lastOkMinute: number;
  firstFailMinute: number | null;
  failCode: string | null;
  realMs: number;
}

export interface StampedeResult {
  concurrent: number;
  accepted: number;
  rejected: number;
  codes: Record<string, number>;
  upstream: number;
  settleMs: number;
}

export interface ResultOf {
  hot: HotResult;
  flood: FloodResult;
  rotation: RotationResult;
  announced: AnnouncedResult;
  outage: OutageResult;
  stampede: StampedeResult;
}

export type ChildMessage = { type: 'result'; result: ResultOf[ScenarioId] } | { type: 'error'; message: string } | { type: 'progress'; text: string };
