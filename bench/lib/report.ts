/**
 * Turns a suite's results into docs/benchmarks.md (one table per scenario) and the SVG
 * timeline of the rotation-under-flood scenario.
 */
import { execSync } from 'node:child_process';
import { cpus, platform, release, totalmem } from 'node:os';
import { ADAPTERS, type AdapterId } from './adapters.js';
import { phaseLabel, type RunOutcome, type SuiteResult } from './orchestrator.js';
import { PALETTE, timelineSvg, type Line } from './svg.js';
import type { BenchAlg } from './keys.js';
import type { RotationResult } from './types.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memGiB: number;
  os: string;
  node: string;
  commit: string;
}

export function machineInfo(): MachineInfo {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- src', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    if (dirty) commit += ' (src modified)';
  } catch {
    // not a git checkout
  }
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    commit,
  };
}

const label = (id: AdapterId): string => ADAPTERS[id].label;
const num = (v: number): string => v.toLocaleString('en-US');
const sec = (ms: number | null): string => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
const msf = (ms: number): string => (Number.isNaN(ms) ? '—' : ms < 10 ? `${ms.toFixed(1)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const pct = (cpuMs: number, wallMs: number): string => `${Math.round((100 * cpuMs) / wallMs)} %`;

function codes(c: Record<string, number>, max = 2): string {
  const e = Object.entries(c).sort((a, b) => b[1] - a[1]);
  if (e.length === 0) return '—';
  const shown = e.slice(0, max).map(([k, v]) => `${k.replace(/^FAST_JWT_KEY_FETCHING_ERROR\//, 'key fetch: ')} ${num(v)}`);
  return shown.join(', ') + (e.length > max ? ', …' : '');
}

function errRow(o: RunOutcome, cols: number): string {
  return `| ${label(o.adapter)} | error: ${(o.error ?? '').split('\n')[0]!.replace(/\|/g, '/')} ${'| '.repeat(cols - 1)}|`;
}

function hotTable(r: SuiteResult): string[] {
  const algs = r.config.hot.algs;
  const byId = new Map(r.hot.map((o) => [o.adapter, o]));
  const base = (id: AdapterId, alg: BenchAlg): number | null | undefined => byId.get(id)?.result?.opsPerSec[alg];
  const lines: string[] = [];
  lines.push(`| Library | ${algs.map((a) => `${a} ÷ jose static | ${a} ÷ node:crypto`).join(' | ')} | trial spread |`);
  lines.push(`|---|${algs.map(() => '---:|---:').join('|')}|---:|`);
  for (const o of r.hot) {
    if (!o.result) {
      lines.push(errRow(o, algs.length * 2 + 1));
      continue;
    }
    const cells: string[] = [];
    let spread = 0;
    for (const alg of algs) {
      const v = o.result.opsPerSec[alg];
      const t = o.result.trials[alg];
      if (t && t.length > 1) spread = Math.max(spread, (Math.max(...t) - Math.min(...t)) / Math.max(...t));
      if (v === null || v === undefined) {
        const why = o.result.errors[alg] ?? 'n/a';
        cells.push(why === 'not supported' ? 'n/a' : `n/a (${why})`, 'n/a');
        continue;
      }
      const js = base('jose-static', alg);
      const nc = base('node-crypto', alg);
      cells.push(js ? `${(v / js).toFixed(2)}×` : '—', nc ? `${(v / nc).toFixed(2)}×` : '—');
    }
    lines.push(`| ${label(o.adapter)} | ${cells.join(' | ')} | ±${Math.round(spread * 50)} % |`);
  }
  return lines;
}

function floodTable(r: SuiteResult): string[] {
  const lines = [
    '| Library | attacker tokens handled | … per second | attacker accepted | upstream requests | peak RSS | CPU | how attacker tokens ended |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const o of r.flood) {
    const f = o.result;
    if (!f) {
      lines.push(errRow(o, 7));
      continue;
    }
    lines.push(
      `| ${label(o.adapter)} | ${num(f.settledInWindow)} | ${num(Math.round((f.settledInWindow * 1000) / f.durationMs))} | **${f.accepted}** | ${num(f.upstream)} | ${f.peakRssMb} MiB | ${pct(f.cpuMs, f.durationMs)} | ${codes(f.codes, 3)} |`,
    );
  }
  return lines;
}

function rotationTable(runs: RunOutcome<'rotation'>[]): string[] {
  const lines = [
    '| Library | rotated at | valid rejected | first new-key token accepted | last rejection | valid p50 / p99 (whole run) | valid p50 / p99 after the rotation | > 1 s after the rotation | upstream requests (after rotation) | attacker accepted | peak RSS | CPU | rejection reasons |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const o of runs) {
    const x = o.result;
    if (!x) {
      lines.push(errRow(o, 12));
      continue;
    }
    const after = x.p99AfterMs === undefined ? '—' : `${msf(x.p50AfterMs)} / ${msf(x.p99AfterMs)}`;
    const at = `${x.rotatedAtSec} s${x.phase.kind === 'after-fetch' && !x.sawFetch ? ' (no refetch seen)' : ''}`;
    lines.push(
      `| ${label(o.adapter)} | ${at} | **${num(x.rejected)}** of ${num(x.valid)} | +${sec(x.firstNewAcceptMs)} | ${x.lastRejectMs === null ? '—' : `+${sec(x.lastRejectMs)}`} | ${msf(x.p50Ms)} / ${msf(x.p99Ms)} | ${after} | ${x.over1sAfter === undefined ? '—' : num(x.over1sAfter)} | ${num(x.upstream)} (${num(x.upstreamAfterRotation)}) | ${x.attackAccepted} | ${x.peakRssMb} MiB | ${pct(x.cpuMs, x.wallMs)} | ${codes(x.rejectCodes)} |`,
    );
  }
  return lines;
}

function announcedTable(r: SuiteResult): string[] {
  const lines = [
    '| Library | valid rejected | first new-key token accepted | last rejection | valid p50 / p99 | upstream requests | rejection reasons |',
    '|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const o of r.announced) {
    const x = o.result;
    if (!x) {
      lines.push(errRow(o, 6));
      continue;
    }
    lines.push(
      `| ${label(o.adapter)} | **${num(x.rejected)}** of ${num(x.valid)} | +${sec(x.firstNewAcceptMs)} | ${x.lastRejectMs === null ? '—' : `+${sec(x.lastRejectMs)}`} | ${msf(x.p50Ms)} / ${msf(x.p99Ms)} | ${x.upstream} | ${codes(x.rejectCodes)} |`,
    );
  }
  return lines;
}

const SIM: Record<string, string> = {
  'manual-clock': 'injected `ManualClock` (clock + scheduler)',
  'fake-date': 'fake `Date`, shifted `performance.now`/`hrtime`',
  none: '—',
};

function hm(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

function outageTable(r: SuiteResult): string[] {
  const cps = r.config.outage.checkpointsHours;
  const lines = [
    `| Library | time simulated by | ${cps.map((h) => `verifies after ${h} h`).join(' | ')} | first failed check | ${cps.map((h) => `upstream requests by ${h} h`).join(' | ')} | failure |`,
    `|---|---|${cps.map(() => ':---:').join('|')}|---:|${cps.map(() => '---:').join('|')}|---|`,
  ];
  for (const o of r.outage) {
    const x = o.result;
    if (!x) {
      lines.push(errRow(o, 3 + 2 * cps.length));
      continue;
    }
    const until = x.firstFailMinute === null ? `none in ${r.config.outage.hours} h` : `after ${hm(x.firstFailMinute)}`;
    lines.push(
      `| ${label(o.adapter)} | ${SIM[x.timeSimulation] ?? x.timeSimulation} | ${cps.map((h) => (x.verifiesAt[String(h)] ? '**yes**' : 'no')).join(' | ')} | ${until} | ${cps.map((h) => num(x.upstreamAt[String(h)] ?? 0)).join(' | ')} | ${x.failCode ?? '—'} |`,
    );
  }
  return lines;
}

function stampedeTable(r: SuiteResult): string[] {
  const lines = ['| Library | upstream requests | accepted | rejected | all settled after | rejection reasons |', '|---|---:|---:|---:|---:|---|'];
  for (const o of r.stampede) {
    const x = o.result;
    if (!x) {
      lines.push(errRow(o, 5));
      continue;
    }
    lines.push(`| ${label(o.adapter)} | **${x.upstream}** | ${num(x.accepted)} | ${num(x.rejected)} | ${sec(x.settleMs)} | ${codes(x.codes)} |`);
  }
  return lines;
}

/** The rotation-under-flood timeline for one phase. */
export function rotationSvg(r: SuiteResult, phaseIndex = 0): string {
  const ph = r.rotation[phaseIndex];
  if (!ph) return '';
  const ok: Line[] = [];
  const rej: Line[] = [];
  const up: Line[] = [];
  for (const o of ph.runs) {
    const s = o.result?.series;
    if (!s) continue;
    const color = PALETTE[o.adapter] ?? '#444';
    const name = label(o.adapter);
    ok.push({ name, color, values: s.validOk, x0: s.fromSec });
    rej.push({ name, color, values: s.validRejected, x0: s.fromSec });
    up.push({ name, color, values: s.upstream, x0: s.fromSec });
  }
  const c = r.config.rotation;
  return timelineSvg({
    title: `Rotation under an unknown-kid flood (${phaseLabel(ph.phase)})`,
    subtitle: `${c.validPerSec} valid tokens/s; flood of random kids (${c.floodConcurrency} in flight, ≤ ${c.floodPerSec}/s); at 0 the IdP publishes a new key, removes the old one and signs with the new one.`,
    xLabel: 'seconds from the rotation (counted when each verification settled)',
    xFrom: -Math.round(c.preMs / 1000),
    xTo: Math.round(c.postMs / 1000),
    markers: [{ x: 0, label: 'rotation' }],
    panels: [
      { title: 'valid tokens accepted per second', lines: ok },
      { title: 'valid tokens rejected per second', lines: rej },
      { title: 'upstream JWKS requests per second', log: true, lines: up },
    ],
    footer: [`Generated by npm run bench (${r.config.mode}) on ${r.startedAt.slice(0, 10)}; see docs/benchmarks.md.`],
  });
}

/** Compare with the previous run of the same mode: how much the numbers moved. */
function noiseSection(prev: SuiteResult, r: SuiteResult): string[] {
  const L: string[] = [];
  const rel = (a: number, b: number): number => (Math.max(a, b) === 0 ? 0 : Math.abs(a - b) / Math.max(a, b));
  // hot path ratios to jose static
  let worst = { d: 0, what: '' };
  const ratio = (x: SuiteResult, id: AdapterId, alg: BenchAlg): number | undefined => {
    const v = x.hot.find((o) => o.adapter === id)?.result?.opsPerSec[alg];
    const b = x.hot.find((o) => o.adapter === 'jose-static')?.result?.opsPerSec[alg];
    return v && b ? v / b : undefined;
  };
  for (const o of r.hot) {
    for (const alg of r.config.hot.algs) {
      const a = ratio(prev, o.adapter, alg);
      const b = ratio(r, o.adapter, alg);
      if (a === undefined || b === undefined || o.adapter === 'jose-static') continue;
      const d = rel(a, b);
      if (d > worst.d) worst = { d, what: `${label(o.adapter)} ${alg}: ${a.toFixed(2)}× then ${b.toFixed(2)}×` };
    }
  }
  if (worst.what) L.push(`- Hot-path ratios moved by up to ${Math.round(worst.d * 100)} % (${worst.what}).`);
  let floodRate = 0;
  let floodUp = { d: 0, what: '' };
  for (const o of r.flood) {
    const p = prev.flood.find((x) => x.adapter === o.adapter)?.result;
    if (!p || !o.result) continue;
    floodRate = Math.max(floodRate, rel(p.settledInWindow, o.result.settledInWindow));
    const d = rel(p.upstream, o.result.upstream);
    if (d >= floodUp.d) floodUp = { d, what: `${label(o.adapter)} ${num(p.upstream)} then ${num(o.result.upstream)}` };
  }
  if (r.flood.length) L.push(`- Flood: attacker tokens handled moved by up to ${Math.round(floodRate * 100)} %; upstream requests by up to ${Math.round(floodUp.d * 100)} % (${floodUp.what}).`);
  const same: string[] = [];
  const moved: string[] = [];
  for (let i = 0; i < r.rotation.length; i++) {
    for (const o of r.rotation[i]!.runs) {
      const p = prev.rotation[i]?.runs.find((x) => x.adapter === o.adapter)?.result;
      if (!p || !o.result) continue;
      const d = Math.abs(p.rejected - o.result.rejected);
      if (d <= Math.max(5, 0.02 * Math.max(p.rejected, o.result.rejected))) same.push(label(o.adapter));
      else moved.push(`${label(o.adapter)} ${phaseLabel(r.rotation[i]!.phase).replace(/ \(.*\)$/, '')}: ${num(p.rejected)} then ${num(o.result.rejected)}`);
    }
  }
  if (same.length + moved.length > 0) {
    L.push(
      `- Rotation under flood: valid rejections repeated (within 2 % or 5 tokens) in ${same.length} of ${same.length + moved.length} library × phase runs${moved.length ? `; they moved for ${moved.join('; ')}` : ''}.`,
    );
  }
  const outSame = r.outage.every((o) => {
    const p = prev.outage.find((x) => x.adapter === o.adapter)?.result;
    return !p || !o.result || JSON.stringify(p.verifiesAt) === JSON.stringify(o.result.verifiesAt);
  });
  if (r.outage.length) L.push(`- Long outage: who still verifies ${outSame ? 'was the same' : 'changed'} in both runs.`);
  return L;
}

export function markdown(r: SuiteResult, m: MachineInfo, svgPath: string, prev?: SuiteResult): string {
  const c = r.config;
  const L: string[] = [];
  const date = r.startedAt.slice(0, 16).replace('T', ' ') + ' UTC';
  L.push('# Benchmarks');
  L.push('');
  L.push(
    `Generated by \`npm run bench${c.mode === 'full' ? '' : ` -- --${c.mode}`}\` (${c.mode} mode) on ${date} in ${Math.round(r.durationMs / 1000)} s. Do not edit by hand: rerun the suite.`,
  );
  L.push('');
  L.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.os}`);
  L.push(`- Node ${m.node}; jwks-keeper at commit ${m.commit}`);
  L.push(`- Libraries: ${r.adapters.map((a) => `${label(a)} (${r.versions[a]})`).join('; ')}`);
  L.push('');
  L.push(
    'Numbers are ratios and counts from one run on a shared 2-core machine, not absolute claims. Counts that a library decides by design (upstream requests, rejections, who still verifies) repeat from run to run; rates, ratios, latencies, RSS and CPU move with whatever else the machine is doing. The section "Run-to-run noise" at the end compares this run with the previous one.',
  );
  L.push('');
  L.push('## How it runs');
  L.push('');
  L.push(
    '- **Processes.** `bench/run.ts` (the orchestrator) forks, per run, one **IdP process** (`bench/lib/idp-process.ts`: discovery and JWKS on a loopback port with `Cache-Control: max-age=600` and an `ETag`, 304 on a match; every request counted; a control port to rotate keys, publish ahead, fail in several ways, mint tokens) and one **library process** (`bench/lib/child.ts`) that loads only the library under test behind a common adapter (`bench/lib/adapters.ts`).',
  );
  L.push(
    '- **Load generator.** The traffic is generated inside the library process, so no IPC sits between a token and its verification. Valid tokens are minted once by the IdP (RS256 unless stated) and handed over as strings; attacker tokens (random `kid`, valid issuer, audience and expiry, a junk 256-byte signature) are built by string concatenation at about a microsecond each, and never repeat. "Peak RSS" is the whole library process, generator included.',
  );
  L.push(
    `- **Sharing two cores.** The hot path and the max-rate flood run one library at a time. The paced scenarios (3–6) run up to ${c.parallel} library processes at once (each with its own IdP): their load is a fixed ${c.rotation.validPerSec} valid tokens/s and a flood capped at ${c.rotation.floodPerSec} tokens/s with ${c.rotation.floodConcurrency} in flight, small enough that the CPU column stays well under a core per run.`,
  );
  L.push('- **Upstream requests** are requests the IdP received for discovery or the JWKS (control traffic excluded), counted after warm-up.');
  L.push('- **Defaults.** Every library runs with its documented defaults; the only departures:');
  for (const a of r.adapters) L.push(`  - ${label(a)}: ${ADAPTERS[a].notes}`);
  L.push('');

  if (r.scenarios.includes('hot')) {
    L.push('## 1. Hot path');
    L.push('');
    L.push(
      `Sequential \`await verify(token)\` over ${num(c.poolSizes.hot)} distinct valid tokens per algorithm, keys already cached; median of ${c.hot.trials} trials of ${c.hot.trialMs} ms. Each cell is the library's verifies/s divided by a baseline's: **jose static** (\`jwtVerify\` with a pre-imported key: issuer, audience and expiry checked) and **node:crypto** (\`crypto.verify\` with a prepared KeyObject after parsing; no claim checks). "n/a": the library cannot verify that algorithm from a JWKS. Trial spread: half the largest (max − min) ÷ max over the algorithms.`,
    );
    L.push('');
    L.push(...hotTable(r));
    L.push('');
  }
  if (r.scenarios.includes('flood')) {
    L.push('## 2. Unknown-kid flood at full speed');
    L.push('');
    L.push(
      `For ${c.flood.durationMs / 1000} s after warm-up, attacker tokens are sent open-loop as fast as the library process takes them (at most ${num(c.flood.maxInflight)} pending). "Handled" counts verifications that settled within the window; every one must be a rejection. A library that holds attacker lookups (a waiting room) handles fewer per second by design.`,
    );
    L.push('');
    L.push(...floodTable(r));
    L.push('');
  }
  if (r.scenarios.includes('rotation')) {
    L.push('## 3. Rotation under flood');
    L.push('');
    L.push(
      `${c.rotation.validPerSec} valid tokens/s (open loop) and the flood (${c.rotation.floodConcurrency} attacker requests in flight, ≤ ${c.rotation.floodPerSec}/s) run throughout. At the rotation the IdP publishes only the new key and the valid traffic switches to tokens signed by it at once. The phase is where the rotation falls relative to the library's own refetches: in the "after a refetch" phases the IdP is armed ${c.rotation.preMs / 1000} s in and rotates when it has just answered the library's next JWKS request (plus the delay); in the fixed phase it rotates at t = ${c.rotation.preMs / 1000} s whatever the library did. Right after a refetch is the worst case for a cooldown: the library has just spent its budget, usually on an attacker's kid. "No refetch seen": the library sent no request within ${c.rotation.maxWaitForFetchMs / 1000} s of arming, so the rotation happened then. Each run ends ${c.rotation.postMs / 1000} s after its rotation; times are from the rotation to when a verification settled. The whole-run p50/p99 cover all valid tokens of the run; "after the rotation" covers the valid requests sent from the rotation on (a request that never settled counts as the whole drain), the latency a user sees during the rotation. With several runs sharing two cores the p99 also carries some scheduling noise.`,
    );
    L.push('');
    for (const ph of r.rotation) {
      L.push(`### Phase: rotation ${phaseLabel(ph.phase)}`);
      L.push('');
      L.push(...rotationTable(ph.runs));
      L.push('');
    }
    L.push(`![Rotation under flood: valid tokens accepted and rejected per second, and upstream requests, per library](${svgPath})`);
    L.push('');
    const keeper = r.rotation.flatMap((p) => p.runs.filter((o) => o.adapter === 'jwks-keeper').map((o) => ({ p: p.phase, x: o.result })));
    if (keeper.length > 0) {
      const all0 = keeper.every((k) => k.x && k.x.rejected === 0);
      L.push(
        `jwks-keeper target (0 valid rejections at every phase): **${all0 ? 'met' : 'NOT met'}** (${keeper.map((k) => `${phaseLabel(k.p)}: ${k.x ? k.x.rejected : 'error'}`).join('; ')}).`,
      );
      L.push('');
      const fast = keeper.every((k) => k.x && k.x.p99AfterMs !== undefined && k.x.p99AfterMs < 1000 && k.x.upstream <= 40);
      L.push(
        `jwks-keeper target (p99 of valid requests after the rotation under 1 s, at most 40 JWKS requests per run, at every phase): **${fast ? 'met' : 'NOT met'}** (${keeper.map((k) => `${phaseLabel(k.p).replace(/ \(.*\)$/, '')}: ${k.x && k.x.p99AfterMs !== undefined ? `p99 ${msf(k.x.p99AfterMs)}, ${k.x.upstream} requests` : 'error'}`).join('; ')}). A new key's tokens are seen by many requests within milliseconds: once a kid is popular (3 lookups within 10 s, from 3 clients when \`clientId\`s are given) it may start a refresh from a small allowance of its own (2, then one per 20 s) instead of waiting for the next slot of the shared budget (at most the 10 s cooldown).`,
      );
      L.push('');
    }
  }
  if (r.scenarios.includes('announced')) {
    L.push('## 4. Announced rotation');
    L.push('');
    L.push(
      `${c.announced.validPerSec} valid tokens/s, no flood. The new key is published at t = ${c.announced.publishAtMs / 1000} s (alongside the old one), used from t = ${c.announced.useAtMs / 1000} s, when the old key is removed; the run ends at t = ${c.announced.endMs / 1000} s. Times are from the first use of the new key. Nobody refreshes within 15 s of a 10-minute \`max-age\`, so every library meets the new kid as unknown; what differs is whether it may refetch.`,
    );
    L.push('');
    L.push(...announcedTable(r));
    L.push('');
  }
  if (r.scenarios.includes('outage')) {
    const o = c.outage;
    L.push('## 5. Long IdP outage (simulated time)');
    L.push('');
    L.push(
      `After warm-up the IdP answers 503 to everything for ${o.hours} simulated hours. Time moves in steps of ${o.stepMs / 60_000} simulated minute(s), with one valid token verified per step (so a library that refetches on every lookup once expired sends about one request per step). Real time per run: a few seconds.`,
    );
    L.push('');
    L.push(
      '- **jwks-keeper** takes an injected `clock` and `scheduler`: the run uses `ManualClock` from `jwks-keeper/testing`, so its background refresh, retry backoff and staleness all run on simulated time.',
    );
    L.push(
      '- **Peers** take no clock. In their process `@sinonjs/fake-timers` fakes `Date` only (jose, jsonwebtoken, fast-jwt, aws-jwt-verify check `exp` with it; jose and jwks-rsa’s stale fallback age their caches with it), and `performance.now` and `process.hrtime` are shifted by the same amount (lru-cache TTLs under jwks-rsa and get-jwks; the token bucket of jwks-rsa’s `rateLimit`). Timers are not faked: none of these libraries needs a timer to fire to expire a cache (each checks on the next lookup), and sockets keep real timeouts. So every peer can be simulated; none is reported "cannot simulate".',
    );
    L.push('');
    L.push(...outageTable(r));
    L.push('');
  }
  if (r.scenarios.includes('stampede')) {
    L.push('## 6. Cold-start stampede');
    L.push('');
    L.push(
      `A fresh library instance receives ${num(c.stampede.concurrent)} concurrent valid tokens while the IdP takes ${c.stampede.slowMs / 1000} s to answer each request.`,
    );
    L.push('');
    L.push(...stampedeTable(r));
    L.push('');
  }
  if (prev && prev.config.mode === r.config.mode) {
    L.push('## Run-to-run noise');
    L.push('');
    L.push(`Compared with the previous ${r.config.mode} run on this machine (${prev.startedAt.slice(0, 16).replace('T', ' ')} UTC):`);
    L.push('');
    L.push(...noiseSection(prev, r));
    L.push('');
  }
  L.push('## Reproduce');
  L.push('');
  L.push('```sh');
  L.push('npm ci');
  L.push('npm run bench            # everything, < 15 min on 2 cores; rewrites this file and the SVG');
  L.push('npm run bench:quick      # shorter windows, < 2 min (writes .bench-out/ unless --write)');
  L.push('npm run bench -- --only jwks-keeper,jose --scenarios rotation   # a subset (writes .bench-out/)');
  L.push('```');
  L.push('');
  L.push(
    `Phase durations this run: ${Object.entries(r.scenarioMs)
      .map(([k, v]) => `${k} ${Math.round((v ?? 0) / 1000)} s`)
      .join(', ')}. Raw results: \`.bench-out/results-${r.config.mode}.json\`.`,
  );
  L.push('');
  return L.join('\n');
}

export type { RotationResult };
