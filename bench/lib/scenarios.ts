/**
 * The scenarios, as they run inside a library's process: the traffic is generated here (no
 * IPC per token) and the IdP is steered through its control port. Each returns plain numbers;
 * the orchestrator turns them into tables and charts.
 */
import { ADAPTERS, errorCode, type AdapterContext, type AdapterInstance } from './adapters.js';
import { buckets, cpuMsSince, MaxFlood, nowMs, PacedFlood, percentile, RssSampler, sleep, ValidStream, type ValidRecord } from './drivers.js';
import { IdpControl } from './idp-client.js';
import { AttackerTokens, type BenchAlg } from './keys.js';
import type {
  AnnouncedResult,
  FloodResult,
  HotResult,
  OutageResult,
  ResultOf,
  RotationResult,
  RunRequest,
  ScenarioId,
  StampedeResult,
} from './types.js';

function baseContext(req: RunRequest): AdapterContext {
  return { jwksUrl: req.idp.jwksUrl, baseUrl: req.idp.baseUrl };
}

function pool(req: RunRequest, name: string): string[] {
  const p = req.pools[name];
  if (!p || p.length === 0) throw new Error(`token pool ${name} missing`);
  return p;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Scenario 1: sequential verifies of distinct valid tokens, median of several trials. */
async function hot(req: RunRequest<'hot'>): Promise<HotResult> {
  const spec = ADAPTERS[req.adapter];
  const a = await spec.create(baseContext(req));
  const out: HotResult = { opsPerSec: {}, trials: {}, errors: {} };
  for (const alg of req.params.algs) {
    if (!spec.algs.includes(alg)) {
      out.opsPerSec[alg] = null;
      out.errors[alg] = 'not supported';
      continue;
    }
    const tokens = pool(req, `hot-${alg}`);
    try {
      for (let i = 0; i < Math.min(200, tokens.length); i++) await a.verify(tokens[i]!);
    } catch (err) {
      out.opsPerSec[alg] = null;
      out.errors[alg] = errorCode(err);
      continue;
    }
    const trials: number[] = [];
    let i = 0;
    for (let t = 0; t < req.params.trials; t++) {
      const start = nowMs();
      const end = start + req.params.trialMs;
      let n = 0;
      while (nowMs() < end) {
        await a.verify(tokens[i++ % tokens.length]!);
        n++;
      }
      trials.push((n * 1000) / (nowMs() - start));
    }
    const sorted = [...trials].sort((x, y) => x - y);
    out.opsPerSec[alg] = Math.round(sorted[Math.floor(sorted.length / 2)]!);
    out.trials[alg] = trials.map(Math.round);
  }
  await a.close();
  return out;
}

async function warm(a: AdapterInstance, token: string): Promise<void> {
  try {
    await a.verify(token);
  } catch (err) {
    throw new Error(`warm-up verification failed: ${errorCode(err)} ${err instanceof Error ? err.message : ''}`);
  }
}

/** Scenario 2: random-kid tokens as fast as the process takes them. */
async function flood(req: RunRequest<'flood'>): Promise<FloodResult> {
  const control = new IdpControl(req.idp);
  const a = await ADAPTERS[req.adapter].create(baseContext(req));
  await warm(a, pool(req, 'old')[0]!);
  await control.reset();
  const rss = new RssSampler();
  rss.start();
  const cpu = process.cpuUsage();
  const origin = nowMs();
  const f = new MaxFlood(a, new AttackerTokens(), origin, req.params.maxInflight);
  f.start();
  await sleep(req.params.durationMs);
  f.stop();
  const durationMs = nowMs() - origin;
  const settledInWindow = f.stats.settled;
  const sent = f.stats.sent;
  await f.drain(req.params.drainMs);
  const cpuMs = cpuMsSince(cpu);
  const peakRssMb = rss.stop();
  const st = await control.state();
  const result: FloodResult = {
    durationMs: Math.round(durationMs),
    sent,
    settledInWindow,
    settled: f.stats.settled,
    accepted: f.stats.accepted,
    codes: f.stats.codes,
    peakInflight: f.stats.peakInflight,
    pendingAtEnd: f.pending,
    upstream: st.counters.jwks + st.counters.discovery,
    peakRssMb,
    cpuMs,
  };
  await withTimeout(a.close(), 2000);
  return result;
}

function latencies(recs: ValidRecord[]): number[] {
  return recs.filter((r) => !Number.isNaN(r.done)).map((r) => r.done - r.sent).sort((x, y) => x - y);
}

function countCodes(recs: ValidRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of recs) if (!r.ok && !Number.isNaN(r.done)) out[r.code ?? '?'] = (out[r.code ?? '?'] ?? 0) + 1;
  return out;
}

/** Scenario 3: a rotation (new key published, old removed, new used at once) under a flood. */
async function rotation(req: RunRequest<'rotation'>): Promise<RotationResult> {
  const p = req.params;
  const control = new IdpControl(req.idp);
  const a = await ADAPTERS[req.adapter].create(baseContext(req));
  const oldPool = pool(req, 'old');
  const newPool = pool(req, 'new');
  await warm(a, oldPool[0]!);
  await control.reset();
  const rss = new RssSampler();
  rss.start();
  const cpu = process.cpuUsage();
  const origin = nowMs();
  const wallOrigin = Date.now();
  const valid = new ValidStream(a, p.validPerSec, origin);
  valid.use('old', oldPool);
  const attack = new PacedFlood(a, new AttackerTokens(), origin, p.floodConcurrency, p.floodPerSec);
  valid.start();
  attack.start();
  await sleep(p.preMs);
  const rot = await control.rotate({
    publish: [p.newKid],
    afterFetch: p.phase.kind === 'after-fetch',
    delayMs: p.phase.kind === 'after-fetch' ? p.phase.delayMs : 0,
    maxWaitMs: p.maxWaitForFetchMs,
  });
  valid.use('new', newPool);
  const tRot = rot.appliedAt - wallOrigin;
  await sleep(Math.max(0, tRot + p.postMs - (nowMs() - origin)));
  valid.stop();
  attack.stop();
  const wallMs = nowMs() - origin;
  await valid.drain(p.drainMs);
  await attack.drain(Math.min(p.drainMs, 12_000));
  const cpuMs = cpuMsSince(cpu);
  const peakRssMb = rss.stop();
  const { log } = await control.log();

  const recs = valid.records;
  const rejected = recs.filter((r) => !r.ok && !Number.isNaN(r.done));
  const newRecs = recs.filter((r) => r.key === 'new');
  const firstNew = newRecs.filter((r) => r.ok).reduce((m, r) => Math.min(m, r.done), Infinity);
  const lastRej = rejected.reduce((m, r) => Math.max(m, r.done), -Infinity);
  const lat = latencies(recs);
  // latency of every valid request sent from the rotation on; one that never settled counts as the whole drain
  const afterRot = recs.filter((r) => r.sent >= tRot);
  const latAfter = afterRot.map((r) => (Number.isNaN(r.done) ? p.postMs + p.drainMs : r.done - r.sent)).sort((x, y) => x - y);
  const upTimes = log.filter((e) => e[1] !== 'other').map((e) => e[0] - wallOrigin);
  const fromSec = -Math.floor(tRot / 1000);
  const from = tRot + fromSec * 1000;
  const to = tRot + p.postMs + 1000;
  const series = {
    fromSec,
    validOk: buckets(
      recs.filter((r) => r.ok).map((r) => r.done),
      from,
      to,
    ),
    validRejected: buckets(
      rejected.map((r) => r.done),
      from,
      to,
    ),
    upstream: buckets(upTimes, from, to),
    attack: attack.stats.perSecond.slice(Math.max(0, Math.floor(from / 1000)), Math.ceil(to / 1000)),
  };
  const result: RotationResult = {
    phase: p.phase,
    rotatedAtSec: Math.round(tRot / 100) / 10,
    fetchToRotationMs: rot.fetchAt === undefined ? null : rot.appliedAt - rot.fetchAt,
    sawFetch: rot.fetchAt !== undefined,
    valid: recs.length,
    validAccepted: recs.filter((r) => r.ok).length,
    rejected: rejected.length,
    rejectedNew: rejected.filter((r) => r.key === 'new').length,
    rejectedOld: rejected.filter((r) => r.key === 'old').length,
    rejectCodes: countCodes(recs),
    firstNewAcceptMs: Number.isFinite(firstNew) ? Math.round(firstNew - tRot) : null,
    lastRejectMs: Number.isFinite(lastRej) ? Math.round(lastRej - tRot) : null,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    p99NewMs: percentile(latencies(newRecs), 99),
    p50AfterMs: percentile(latAfter, 50),
    p99AfterMs: percentile(latAfter, 99),
    over1sAfter: latAfter.filter((x) => x > 1000).length,
    unsettled: recs.filter((r) => Number.isNaN(r.done)).length,
    upstream: upTimes.length,
    upstreamAfterRotation: upTimes.filter((t) => t >= tRot).length,
    attackSent: attack.stats.sent,
    attackAccepted: attack.stats.accepted,
    attackCodes: attack.stats.codes,
    peakRssMb,
    cpuMs,
    wallMs: Math.round(wallMs),
    series,
  };
  await withTimeout(a.close(), 2000);
  return result;
}

/** Scenario 4: the new key is published ahead of use; the old one goes when the new one signs. */
async function announced(req: RunRequest<'announced'>): Promise<AnnouncedResult> {
  const p = req.params;
  const control = new IdpControl(req.idp);
  const a = await ADAPTERS[req.adapter].create(baseContext(req));
  const oldPool = pool(req, 'old');
  await warm(a, oldPool[0]!);
  await control.reset();
  const origin = nowMs();
  const wallOrigin = Date.now();
  const valid = new ValidStream(a, p.validPerSec, origin);
  valid.use('old', oldPool);
  valid.start();
  await sleep(p.publishAtMs);
  await control.publish([p.oldKid, p.newKid]);
  await sleep(Math.max(0, p.useAtMs - (nowMs() - origin)));
  await control.publish([p.newKid]);
  valid.use('new', pool(req, 'new'));
  const tUse = nowMs() - origin;
  await sleep(Math.max(0, p.endMs - (nowMs() - origin)));
  valid.stop();
  await valid.drain(15_000);
  const { log } = await control.log();
  const recs = valid.records;
  const rejected = recs.filter((r) => !r.ok && !Number.isNaN(r.done));
  const firstNew = recs.filter((r) => r.key === 'new' && r.ok).reduce((m, r) => Math.min(m, r.done), Infinity);
  const lastRej = rejected.reduce((m, r) => Math.max(m, r.done), -Infinity);
  const lat = latencies(recs);
  const up = log.filter((e) => e[1] !== 'other').map((e) => e[0] - wallOrigin);
  await withTimeout(a.close(), 2000);
  return {
    valid: recs.length,
    rejected: rejected.length,
    rejectCodes: countCodes(recs),
    firstNewAcceptMs: Number.isFinite(firstNew) ? Math.round(firstNew - tUse) : null,
    lastRejectMs: Number.isFinite(lastRej) ? Math.round(lastRej - tUse) : null,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    upstream: up.length,
    upstreamBeforeUse: up.filter((t) => t < tUse).length,
  };
}

/** Scenario 5: the IdP answers 503 for a simulated day; one valid token per simulated minute. */
async function outage(req: RunRequest<'outage'>): Promise<OutageResult> {
  const p = req.params;
  const spec = ADAPTERS[req.adapter];
  const control = new IdpControl(req.idp);
  const ctx = baseContext(req);
  let advance: (ms: number) => Promise<void>;
  if (spec.timeSimulation === 'manual-clock') {
    const { ManualClock } = await import('../../src/testing/index.js');
    const clock = new ManualClock(Date.now());
    ctx.manualClock = clock;
    advance = (ms) => clock.advance(ms);
  } else if (spec.timeSimulation === 'fake-date') {
    const { TimeWarp } = await import('./timewarp.js');
    const warp = new TimeWarp();
    warp.install();
    advance = async (ms) => warp.jump(ms);
  } else {
    throw new Error(`${req.adapter} has no simulated time`);
  }
  const a = await spec.create(ctx);
  const tokens = pool(req, 'old');
  await warm(a, tokens[0]!);
  await control.mode('503');
  await control.reset();
  const realStart = nowMs();
  const minutes = Math.round((p.hours * 3_600_000) / p.stepMs);
  const checkpoints = new Map(p.checkpointsHours.map((h) => [Math.round((h * 3_600_000) / p.stepMs), h]));
  const out: OutageResult = {
    timeSimulation: spec.timeSimulation,
    verifiesAt: {},
    upstreamAt: {},
    lastOkMinute: 0,
    firstFailMinute: null,
    failCode: null,
    realMs: 0,
  };
  for (let m = 1; m <= minutes; m++) {
    await advance(p.stepMs);
    let ok = false;
    const r = await withTimeout(
      a.verify(tokens[m % tokens.length]!).then(
        () => true,
        (err: unknown) => errorCode(err),
      ),
      5000,
    );
    if (r === true) ok = true;
    if (ok) out.lastOkMinute = (m * p.stepMs) / 60_000;
    else if (out.firstFailMinute === null) {
      out.firstFailMinute = (m * p.stepMs) / 60_000;
      out.failCode = r === 'timeout' ? 'timeout' : String(r);
    }
    // let background fetches reach the IdP and settle in real time
    await sleep(2);
    const h = checkpoints.get(m);
    if (h !== undefined) {
      out.verifiesAt[String(h)] = ok;
      const st = await control.state();
      out.upstreamAt[String(h)] = st.counters.jwks + st.counters.discovery;
    }
  }
  out.realMs = Math.round(nowMs() - realStart);
  await withTimeout(a.close(), 2000);
  return out;
}

/** Scenario 6: many concurrent first requests against a slow IdP. */
async function stampede(req: RunRequest<'stampede'>): Promise<StampedeResult> {
  const p = req.params;
  const control = new IdpControl(req.idp);
  await control.mode('slow', p.slowMs);
  await control.reset();
  const a = await ADAPTERS[req.adapter].create(baseContext(req));
  const tokens = pool(req, 'old');
  const codes: Record<string, number> = {};
  let accepted = 0;
  const start = nowMs();
  const all: Promise<void>[] = [];
  for (let i = 0; i < p.concurrent; i++) {
    all.push(
      a.verify(tokens[i % tokens.length]!).then(
        () => void accepted++,
        (err: unknown) => {
          const c = errorCode(err);
          codes[c] = (codes[c] ?? 0) + 1;
        },
      ),
    );
  }
  await withTimeout(Promise.all(all), 60_000);
  const settleMs = Math.round(nowMs() - start);
  const st = await control.state();
  await withTimeout(a.close(), 2000);
  return {
    concurrent: p.concurrent,
    accepted,
    rejected: p.concurrent - accepted,
    codes,
    upstream: st.counters.jwks + st.counters.discovery,
    settleMs,
  };
}

export async function runScenario(req: RunRequest): Promise<ResultOf[ScenarioId]> {
  switch (req.scenario) {
    case 'hot':
      return hot(req as RunRequest<'hot'>);
    case 'flood':
      return flood(req as RunRequest<'flood'>);
    case 'rotation':
      return rotation(req as RunRequest<'rotation'>);
    case 'announced':
      return announced(req as RunRequest<'announced'>);
    case 'outage':
      return outage(req as RunRequest<'outage'>);
    case 'stampede':
      return stampede(req as RunRequest<'stampede'>);
  }
}

export type { BenchAlg };
