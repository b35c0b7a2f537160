/**
 * The orchestrator: generates the key ring, has an IdP mint the token pools once, then runs
 * each (library, scenario) pair as a library process talking to an IdP process of its own.
 *
 * Process layout: orchestrator (idle while a run is going) → one IdP process per run (or one
 * shared IdP for the throughput scenarios, whose key set never changes) → one library process
 * per run, which also generates that run's traffic. Throughput scenarios (hot path, flood) run
 * one at a time; the paced scenarios (rotation, announced rotation, outage, stampede) run a
 * few at a time, since each uses a small, fixed share of the CPU.
 */
import type { ChildProcess } from 'node:child_process';
import { ADAPTERS, adapterVersions, ALL_ADAPTERS, REMOTE_ADAPTERS, type AdapterId } from './adapters.js';
import { generateKeySpec, type BenchAlg, type KeySpec } from './keys.js';
import { forkTs, startIdp, stopChild, waitForMessage, type IdpHandle } from './procs.js';
import type { ChildMessage, ParamsOf, ResultOf, RotationPhase, RunRequest, ScenarioId } from './types.js';

export type Mode = 'full' | 'quick' | 'smoke';

export const SCENARIOS: ScenarioId[] = ['hot', 'flood', 'rotation', 'announced', 'outage', 'stampede'];

export interface SuiteConfig {
  mode: Mode;
  hot: ParamsOf['hot'];
  flood: ParamsOf['flood'];
  rotation: Omit<ParamsOf['rotation'], 'phase'>;
  phases: RotationPhase[];
  announced: ParamsOf['announced'];
  outage: ParamsOf['outage'];
  stampede: ParamsOf['stampede'];
  poolSizes: { hot: number; old: number; new: number };
  /** Paced runs executed at once. */
  parallel: number;
}

const OLD = 'rot-1';
const NEW = 'rot-2';

export function suiteConfig(mode: Mode): SuiteConfig {
  const algs: BenchAlg[] = ['RS256', 'ES256', 'EdDSA'];
  const base = { validPerSec: 100, floodConcurrency: 64, floodPerSec: 500, oldKid: OLD, newKid: NEW };
  if (mode === 'full') {
    return {
      mode,
      hot: { algs, trials: 3, trialMs: 700 },
      flood: { durationMs: 30_000, maxInflight: 10_000, drainMs: 10_000 },
      rotation: { ...base, preMs: 30_000, postMs: 60_000, maxWaitForFetchMs: 40_000, drainMs: 15_000 },
      phases: [
        { kind: 'after-fetch', delayMs: 0 },
        { kind: 'after-fetch', delayMs: 5_000 },
        { kind: 'after-fetch', delayMs: 9_500 },
        { kind: 'fixed' },
      ],
      announced: { publishAtMs: 5_000, useAtMs: 15_000, endMs: 45_000, validPerSec: 100, oldKid: OLD, newKid: NEW },
      outage: { hours: 24, checkpointsHours: [2, 24], stepMs: 60_000 },
      stampede: { concurrent: 1000, slowMs: 1000 },
      poolSizes: { hot: 2000, old: 1000, new: 500 },
      parallel: 6,
    };
  }
  if (mode === 'quick') {
    return {
      mode,
      hot: { algs, trials: 3, trialMs: 150 },
      flood: { durationMs: 3_000, maxInflight: 10_000, drainMs: 500 },
      rotation: { ...base, preMs: 5_000, postMs: 10_000, maxWaitForFetchMs: 6_000, drainMs: 3_000 },
      phases: [{ kind: 'after-fetch', delayMs: 0 }],
      announced: { publishAtMs: 1_000, useAtMs: 3_000, endMs: 8_000, validPerSec: 100, oldKid: OLD, newKid: NEW },
      outage: { hours: 24, checkpointsHours: [2, 24], stepMs: 300_000 },
      stampede: { concurrent: 1000, slowMs: 1000 },
      poolSizes: { hot: 300, old: 300, new: 300 },
      parallel: 6,
    };
  }
  return {
    mode,
    hot: { algs, trials: 1, trialMs: 100 },
    flood: { durationMs: 2_000, maxInflight: 2_000, drainMs: 200 },
    rotation: { ...base, floodPerSec: 200, preMs: 3_000, postMs: 5_000, maxWaitForFetchMs: 1, drainMs: 12_000 },
    phases: [{ kind: 'fixed' }],
    announced: { publishAtMs: 1_000, useAtMs: 2_000, endMs: 4_000, validPerSec: 50, oldKid: OLD, newKid: NEW },
    outage: { hours: 3, checkpointsHours: [2], stepMs: 600_000 },
    stampede: { concurrent: 200, slowMs: 300 },
    poolSizes: { hot: 100, old: 100, new: 100 },
    parallel: 2,
  };
}

export interface KeyRing {
  keys: KeySpec[];
  /** Kids published for the hot path. */
  hotKids: string[];
}

export function makeKeyRing(): KeyRing {
  const keys = [generateKeySpec(OLD, 'RS256'), generateKeySpec(NEW, 'RS256')];
  const hotKids: string[] = [];
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    keys.push(generateKeySpec(`hot-${alg}`, alg));
    hotKids.push(`hot-${alg}`);
  }
  return { keys, hotKids };
}

export type Pools = Record<string, string[]>;

/** Have an IdP mint every token pool once (tokens are valid for 3 days). */
export async function mintPools(ring: KeyRing, sizes: SuiteConfig['poolSizes'], withHot: boolean): Promise<Pools> {
  const idp = await startIdp(ring.keys, [OLD]);
  try {
    const pools: Pools = {};
    pools.old = await idp.control.mint({ kid: OLD, n: sizes.old });
    pools.new = await idp.control.mint({ kid: NEW, n: sizes.new });
    if (withHot) for (const kid of ring.hotKids) pools[kid] = await idp.control.mint({ kid, n: sizes.hot });
    return pools;
  } finally {
    await idp.stop();
  }
}

export interface RunOutcome<S extends ScenarioId = ScenarioId> {
  adapter: AdapterId;
  scenario: S;
  label: string;
  result?: ResultOf[S];
  error?: string;
  wallMs: number;
}

const TIMEOUT_MS: Record<ScenarioId, number> = {
  hot: 120_000,
  flood: 120_000,
  rotation: 240_000,
  announced: 120_000,
  outage: 180_000,
  stampede: 90_000,
};

/** Run one scenario for one adapter in a fresh library process (and a fresh IdP unless given). */
export async function runOne<S extends ScenarioId>(
  ring: KeyRing,
  adapter: AdapterId,
  scenario: S,
  params: ParamsOf[S],
  pools: Pools,
  opts: { idp?: IdpHandle; published?: string[]; label?: string } = {},
): Promise<RunOutcome<S>> {
  const started = Date.now();
  const idp = opts.idp ?? (await startIdp(ring.keys, opts.published ?? [OLD]));
  let child: ChildProcess | undefined;
  const label = opts.label ?? scenario;
  try {
    child = forkTs('./child.ts');
    const need = scenario === 'hot' ? ring.hotKids : ['old', 'new'];
    const sub: Pools = {};
    for (const k of need) if (pools[k]) sub[k] = pools[k]!;
    const req: RunRequest<S> = { type: 'run', adapter, scenario, params, idp: { jwksUrl: idp.jwksUrl, baseUrl: idp.baseUrl, controlUrl: idp.controlUrl }, pools: sub };
    child.send(req);
    const msg = await waitForMessage<Extract<ChildMessage, { type: 'result' }>>(child, 'result', TIMEOUT_MS[scenario]);
    return { adapter, scenario, label, result: msg.result as ResultOf[S], wallMs: Date.now() - started };
  } catch (err) {
    return { adapter, scenario, label, error: err instanceof Error ? err.message : String(err), wallMs: Date.now() - started };
  } finally {
    if (child) await stopChild(child);
    if (!opts.idp) await idp.stop();
  }
}

/** Run tasks with at most `limit` at once, in order. */
export async function inPool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

export function phaseLabel(p: RotationPhase): string {
  if (p.kind === 'fixed') return 'at a fixed time (t = 30 s, whatever the library last did)';
  if (p.delayMs === 0) return 'right after a refetch';
  if (p.delayMs === 9_500) return '9.5 s after a refetch (right before the next 10 s slot)';
  return `${p.delayMs / 1000} s after a refetch`;
}

export interface SuiteResult {
  config: SuiteConfig;
  adapters: AdapterId[];
  scenarios: ScenarioId[];
  versions: Record<string, string>;
  hot: RunOutcome<'hot'>[];
  flood: RunOutcome<'flood'>[];
  rotation: { phase: RotationPhase; runs: RunOutcome<'rotation'>[] }[];
  announced: RunOutcome<'announced'>[];
  outage: RunOutcome<'outage'>[];
  stampede: RunOutcome<'stampede'>[];
  startedAt: string;
  durationMs: number;
  scenarioMs: Partial<Record<ScenarioId, number>>;
}

export interface SuiteOptions {
  mode: Mode;
  adapters?: AdapterId[];
  scenarios?: ScenarioId[];
  parallel?: number;
  log?: (line: string) => void;
}

export async function runSuite(opts: SuiteOptions): Promise<SuiteResult> {
  const config = suiteConfig(opts.mode);
  if (opts.parallel) config.parallel = opts.parallel;
  const log = opts.log ?? (() => {});
  const adapters = opts.adapters ?? ALL_ADAPTERS;
  const scenarios = opts.scenarios ?? SCENARIOS;
  const remote = adapters.filter((a) => REMOTE_ADAPTERS.includes(a));
  const started = Date.now();
  const ring = makeKeyRing();
  log(`minting token pools (${config.mode})...`);
  const pools = await mintPools(ring, config.poolSizes, scenarios.includes('hot'));
  const res: SuiteResult = {
    config,
    adapters,
    scenarios,
    versions: Object.fromEntries(adapters.map((a) => [a, adapterVersions(a)])),
    hot: [],
    flood: [],
    rotation: [],
    announced: [],
    outage: [],
    stampede: [],
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    scenarioMs: {},
  };
  const done = (o: RunOutcome): void => {
    log(`  ${o.scenario.padEnd(9)} ${o.label.padEnd(24)} ${ADAPTERS[o.adapter].label.padEnd(24)} ${o.error ? `ERROR ${o.error.split('\n')[0]}` : 'ok'} (${(o.wallMs / 1000).toFixed(1)} s)`);
  };
  const timed = async (s: ScenarioId, f: () => Promise<void>): Promise<void> => {
    if (!scenarios.includes(s)) return;
    const t = Date.now();
    log(`scenario ${s}...`);
    await f();
    res.scenarioMs[s] = Date.now() - t;
  };

  // throughput scenarios: one library at a time, against one shared (idle) IdP
  await timed('hot', async () => {
    const idp = await startIdp(ring.keys, ring.hotKids);
    try {
      for (const a of adapters) {
        const o = await runOne(ring, a, 'hot', config.hot, pools, { idp });
        done(o);
        res.hot.push(o);
      }
    } finally {
      await idp.stop();
    }
  });
  await timed('flood', async () => {
    // the key set never changes here; each run resets the counters after its warm-up
    const idp = await startIdp(ring.keys, [OLD]);
    try {
      for (const a of remote) {
        const o = await runOne(ring, a, 'flood', config.flood, pools, { idp });
        done(o);
        res.flood.push(o);
      }
    } finally {
      await idp.stop();
    }
  });
  // paced scenarios: a few at a time, each with its own IdP
  await timed('rotation', async () => {
    const tasks = config.phases.flatMap((phase) =>
      remote.map((a) => async () => {
        const o = await runOne(ring, a, 'rotation', { ...config.rotation, phase }, pools, { label: phaseLabel(phase) });
        done(o);
        return { phase, o };
      }),
    );
    const all = await inPool(tasks, config.parallel);
    res.rotation = config.phases.map((phase) => ({ phase, runs: all.filter((x) => x.phase === phase).map((x) => x.o) }));
  });
  await timed('announced', async () => {
    res.announced = await inPool(
      remote.map((a) => async () => {
        const o = await runOne(ring, a, 'announced', config.announced, pools);
        done(o);
        return o;
      }),
      config.parallel,
    );
  });
  await timed('outage', async () => {
    res.outage = await inPool(
      remote.map((a) => async () => {
        const o = await runOne(ring, a, 'outage', config.outage, pools);
        done(o);
        return o;
      }),
      config.parallel,
    );
  });
  await timed('stampede', async () => {
    res.stampede = await inPool(
      remote.map((a) => async () => {
        const o = await runOne(ring, a, 'stampede', config.stampede, pools);
        done(o);
        return o;
      }),
      config.parallel,
    );
  });
  res.durationMs = Date.now() - started;
  return res;
}
