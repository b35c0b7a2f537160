/**
 * `npm run demo`: a one-minute story, fully offline, told by jwks-keeper and two peers at once.
 *
 * Three libraries (jwks-keeper, jose's createRemoteJWKSet, jwks-rsa) each run in their own
 * process against their own local IdP (bench/lib/idp-process.ts). This process conducts: it
 * steers the three IdPs through the same story (normal traffic, an announced rotation, an
 * attacker's flood of random kids, an emergency rotation during the flood, an IdP outage),
 * prints jwks-keeper's events as they happen under a live status line, then prints a
 * side-by-side table and writes an SVG timeline.
 *
 * Output: a redrawn status line on a TTY, periodic plain lines otherwise; colours unless
 * NO_COLOR is set or the output is not a TTY. Every child is killed on exit and on Ctrl-C.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { AdapterId } from '../bench/lib/adapters.js';
import { ADAPTERS } from '../bench/lib/adapters.js';
import { percentile } from '../bench/lib/drivers.js';
import { generateKeySpec } from '../bench/lib/keys.js';
import { forkTs, installCleanup, killChildren, startIdp, stopChild, waitForMessage, type IdpHandle } from '../bench/lib/procs.js';
import { PALETTE, timelineSvg, type Line } from '../bench/lib/svg.js';
import type { DemoChildMessage, DemoCommand, DemoFinal, DemoStart, DemoStatus } from './demo-child.js';

// ------------------------------------------------------------------ settings

const LIBS: AdapterId[] = ['jwks-keeper', 'jose', 'jwks-rsa'];
const CACHE_SEC = 10;
/** Per-library options: only the cache lifetime is shortened, so the outage outlasts it. */
const OVERRIDES: Record<string, Record<string, unknown>> = {
  'jwks-keeper': { minRefreshIntervalMs: 5_000 }, // lets the IdP's max-age=10 through (the default floor is 60 s)
  jose: { cacheMaxAge: CACHE_SEC * 1000 },
  'jwks-rsa': { cacheMaxAge: CACHE_SEC * 1000 },
};
const VALID_PER_SEC = 50;
const FLOOD = { concurrency: 64, perSec: 300 };
const END_SEC = 60;

interface Step {
  at: number;
  text: string;
  run?: () => Promise<void>;
}

// ------------------------------------------------------------------ output

const tty = process.stdout.isTTY === true;
const color = tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
const paint = (code: string) => (s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');
const yellow = paint('33');
const cyan = paint('36');
const n = (v: number): string => v.toLocaleString('en-US');

let statusLine = '';
function clearStatus(): void {
  if (tty && statusLine) process.stdout.write('\r\x1b[2K');
}
function drawStatus(): void {
  if (tty && statusLine) process.stdout.write(statusLine);
}
/** Print a line above the live status line. */
function say(line: string): void {
  clearStatus();
  process.stdout.write(`${line}\n`);
  drawStatus();
}

// ------------------------------------------------------------------ main

interface Lib {
  id: AdapterId;
  idp: IdpHandle;
  child: ChildProcess;
  status: DemoStatus;
  upstream: number;
  final?: DemoFinal;
}

let libs: Lib[] = [];
let t0 = 0;
const elapsed = (): number => (performance.now() - t0) / 1000;
const stamp = (t: number): string => dim(`${t.toFixed(1).padStart(5)}s`);

async function main(): Promise<void> {
  installCleanup(() => {
    clearStatus();
    process.stdout.write('\ninterrupted: stopped every IdP and library process\n');
  });
  const setupStart = performance.now();
  console.log(bold('jwks-keeper demo') + ' — one minute, offline, three libraries verifying the same story side by side.');
  console.log(
    dim(
      `Each library runs in its own process against its own local IdP: ${LIBS.map((l) => ADAPTERS[l].label).join(', ')}.\n` +
        `Cache lifetimes are ${CACHE_SEC} s for all three (the IdP sends max-age=${CACHE_SEC}; jose and jwks-rsa get cacheMaxAge ${CACHE_SEC} s),\n` +
        'so an outage longer than a cache lifetime fits in a minute. Cooldowns and rate limits are the libraries\' defaults.',
    ),
  );

  // keys k1..k3, IdPs, token pools
  const keys = ['k1', 'k2', 'k3'].map((kid) => generateKeySpec(kid, 'RS256'));
  const idps = await Promise.all(LIBS.map(() => startIdp(keys, ['k1'], CACHE_SEC)));
  const pools: Record<string, string[]> = {};
  for (const kid of ['k1', 'k2', 'k3']) pools[kid] = await idps[0]!.control.mint({ kid, n: 200 });

  libs = LIBS.map((id, i) => ({
    id,
    idp: idps[i]!,
    child: forkTs(new URL('./demo-child.ts', import.meta.url)),
    status: { type: 'status', ok: 0, rejected: 0, attackSent: 0, attackAccepted: 0 },
    upstream: 0,
  }));
  let lastWasFailure = false;
  const firstUsedShown = new Set<string>();
  for (const lib of libs) {
    lib.child.on('message', (m: DemoChildMessage) => {
      if (m.type === 'status') lib.status = m;
      else if (m.type === 'final') lib.final = m;
      else if (m.type === 'event') {
        if (m.name === 'key.firstUsed') {
          // once per kid: the moment a new key starts signing
          const kid = String((m.payload as { kid?: unknown }).kid);
          if (firstUsedShown.has(kid)) return;
          firstUsedShown.add(kid);
        }
        const line = describeEvent(m.name, m.payload, lastWasFailure);
        if (m.name === 'refresh.failed') lastWasFailure = true;
        else if (m.name === 'refresh.succeeded') lastWasFailure = false;
        if (line && t0 > 0) say(`${stamp(elapsed())}   ${cyan('jwks-keeper')}  ${line}`);
      } else if (m.type === 'error') {
        say(red(`${lib.id} failed: ${m.message}`));
      }
    });
    const start: DemoStart = {
      type: 'start',
      adapter: lib.id,
      idp: { jwksUrl: lib.idp.jwksUrl, baseUrl: lib.idp.baseUrl, controlUrl: lib.idp.controlUrl },
      pools,
      overrides: OVERRIDES[lib.id] ?? {},
      events: lib.id === 'jwks-keeper',
      validPerSec: VALID_PER_SEC,
      floodConcurrency: FLOOD.concurrency,
      floodPerSec: FLOOD.perSec,
    };
    lib.child.send(start);
  }
  await Promise.all(libs.map((l) => waitForMessage(l.child, 'ready', 30_000)));
  await Promise.all(libs.map((l) => l.idp.control.reset()));
  console.log(dim(`Ready in ${((performance.now() - setupStart) / 1000).toFixed(1)} s: 3 IdPs and 3 library processes, keys loaded.`));
  console.log(dim('Status: ✔ valid tokens accepted  ✘ valid tokens rejected  ↑ requests to the IdP  ⚔ attacker tokens sent (all must be refused)\n'));

  const all = (cmd: DemoCommand): void => libs.forEach((l) => l.child.send(cmd));
  const idpAll = (f: (i: IdpHandle) => Promise<unknown>) => Promise.all(libs.map((l) => f(l.idp))).then(() => undefined);
  const story: Step[] = [
    { at: 0, text: `Normal traffic: ${VALID_PER_SEC} valid tokens/s, signed with key k1.` },
    { at: 8, text: 'Announced rotation: the IdP publishes k2 next to k1 (not used yet).', run: () => idpAll((i) => i.control.publish(['k1', 'k2'])) },
    {
      at: 14,
      text: 'The IdP starts signing with k2 and drops k1.',
      run: async () => {
        await idpAll((i) => i.control.publish(['k2']));
        all({ type: 'use', pool: 'k2' });
      },
    },
    {
      at: 20,
      text: `Attack: a flood of tokens with random kids (${FLOOD.concurrency} in flight, up to ${FLOOD.perSec}/s).`,
      run: async () => all({ type: 'flood', on: true }),
    },
    {
      at: 30,
      text: 'Emergency rotation during the flood: k3 replaces k2 and signs at once.',
      run: async () => {
        await idpAll((i) => i.control.publish(['k3']));
        all({ type: 'use', pool: 'k3' });
      },
    },
    { at: 40, text: 'The flood stops.', run: async () => all({ type: 'flood', on: false }) },
    { at: 42, text: 'IdP outage: every discovery/JWKS request now gets a 503.', run: () => idpAll((i) => i.control.mode('503')) },
    { at: 57, text: 'The IdP is back.', run: () => idpAll((i) => i.control.mode('ok')) },
  ];

  // the story
  t0 = performance.now();
  const wallOrigin = Date.now();
  all({ type: 'go' });
  let chapter = '';
  const poll = setInterval(() => {
    void Promise.all(libs.map(async (l) => {
      const s = await l.idp.control.state().catch(() => undefined);
      if (s) l.upstream = s.counters.jwks + s.counters.discovery;
    }));
  }, 500);
  let lastPlain = 0;
  const render = setInterval(() => {
    const t = elapsed();
    statusLine = statusText(t, chapter);
    if (tty) {
      clearStatus();
      drawStatus();
    } else if (t - lastPlain >= 5) {
      lastPlain = Math.floor(t / 5) * 5;
      process.stdout.write(`${stamp(t)}   ${statusLine}\n`);
    }
  }, tty ? 100 : 250);
  for (const step of story) {
    await sleepUntil(step.at);
    chapter = step.text.split(':')[0]!.split('.')[0]!;
    say(`${stamp(elapsed())} ${yellow('▶')} ${bold(step.text)}`);
    await step.run?.();
  }
  await sleepUntil(END_SEC);
  clearInterval(render);
  clearInterval(poll);
  statusLine = statusText(END_SEC, 'done');
  clearStatus();
  process.stdout.write(`${stamp(END_SEC)}   ${statusLine}\n`);
  statusLine = '';

  // results
  all({ type: 'finish' });
  await Promise.all(libs.map((l) => waitForMessage(l.child, 'final', 20_000)));
  const logs = await Promise.all(libs.map((l) => l.idp.control.log()));
  console.log('');
  printTable(story, logs.map((l) => l.log.filter((e) => e[1] !== 'other').map((e) => (e[0] - wallOrigin) / 1000)));
  const svgPath = resolve(process.cwd(), '.bench-out', 'demo-timeline.svg');
  mkdirSync(resolve(svgPath, '..'), { recursive: true });
  writeFileSync(svgPath, demoSvg(story, logs.map((l) => l.log.filter((e) => e[1] !== 'other').map((e) => (e[0] - wallOrigin) / 1000))));
  console.log(`\nTimeline (valid accepted/rejected and upstream requests per second): ${svgPath}`);
  console.log(dim('Full benchmarks against more libraries: npm run bench (results in docs/benchmarks.md).'));

  await Promise.all(libs.map((l) => stopChild(l.child)));
  await Promise.all(libs.map((l) => l.idp.stop()));
}

async function sleepUntil(sec: number): Promise<void> {
  const ms = sec * 1000 - (performance.now() - t0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

function bar(frac: number, width: number): string {
  const full = Math.round(Math.max(0, Math.min(1, frac)) * width);
  return `${'█'.repeat(full)}${dim('░'.repeat(width - full))}`;
}

function statusText(t: number, chapter: string): string {
  const parts = libs.map((l) => {
    const name = l.id === 'jwks-keeper' ? cyan(ADAPTERS[l.id].label) : ADAPTERS[l.id].label;
    const rej = l.status.rejected > 0 ? red(`✘${n(l.status.rejected)}`) : green('✘0');
    const atk = l.status.attackSent > 0 ? ` ${l.status.attackAccepted > 0 ? red(`⚔${n(l.status.attackSent)}!`) : dim(`⚔${n(l.status.attackSent)}`)}` : '';
    return `${name} ${green(`✔${n(l.status.ok)}`)} ${rej} ↑${n(l.upstream)}${atk}`;
  });
  const line = `${bar(t / END_SEC, 16)} ${String(Math.min(END_SEC, Math.floor(t))).padStart(2)}/${END_SEC}s ${chapter ? dim(`[${chapter}]`) + ' ' : ''}│ ${parts.join(' │ ')}`;
  if (!tty) return line;
  return truncateVisible(line, (process.stdout.columns ?? 120) - 1);
}

/** Cut a string with ANSI codes to `width` visible characters. */
function truncateVisible(s: string, width: number): string {
  let out = '';
  let visible = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\x1b') {
      const j = s.indexOf('m', i);
      out += s.slice(i, j + 1);
      i = j;
      continue;
    }
    if (visible >= width) continue;
    out += s[i];
    visible++;
  }
  return color ? `${out}\x1b[0m` : out;
}

function describeEvent(name: string, p: unknown, afterFailure: boolean): string | undefined {
  const e = p as Record<string, unknown>;
  switch (name) {
    case 'keys.changed': {
      const added = (e.added as string[]).map((k) => green(`+${k}`));
      const removed = (e.removed as string[]).map((k) => red(`−${k}`));
      return `keys.changed      ${[...added, ...removed].join(' ')} ${dim(`(generation ${String(e.generation)})`)}`;
    }
    case 'key.firstUsed':
      return `key.firstUsed     ${String(e.kid)} verified its first token ${dim(`(in the key set for ${(Number(e.publishedForMs) / 1000).toFixed(1)} s)`)}`;
    case 'refresh.failed':
      return `refresh.failed    ${red(String(e.code))}${e.status ? ` ${String(e.status)}` : ''} ${dim(`(failure ${String(e.consecutiveFailures)}, next attempt in ${(Number(e.nextAttemptInMs) / 1000).toFixed(1)} s)`)}`;
    case 'keys.staleServed':
      return `keys.staleServed  ${yellow('serving last-known-good keys')} ${dim(`(stale for ${(Number(e.staleForMs) / 1000).toFixed(1)} s)`)}`;
    case 'refresh.succeeded':
      return afterFailure ? `refresh.succeeded ${green('the IdP answers again')} ${dim(`(${e.modified ? 'new key set' : 'keys unchanged'})`)}` : undefined;
    default:
      return undefined;
  }
}

function printTable(story: Step[], upstream: number[][]): void {
  const at = (i: number): number => story[i]!.at;
  const chapters: { label: string; from: number; to: number }[] = [
    { label: `normal traffic (0–${at(1)} s)`, from: 0, to: at(1) },
    { label: `announced rotation (${at(1)}–${at(3)} s)`, from: at(1), to: at(3) },
    { label: `flood + emergency rotation (${at(3)}–${at(6)} s)`, from: at(3), to: at(6) },
    { label: `IdP outage (${at(6)}–${at(7)} s) and after`, from: at(6), to: END_SEC + 1 },
  ];
  const rows: [string, ...string[]][] = [];
  const col = (f: (l: Lib, i: number) => string): string[] => libs.map(f);
  const finals = libs.map((l) => l.final!);
  rows.push(['', ...col((l) => ADAPTERS[l.id].label)]);
  rows.push(['valid tokens accepted', ...col((_l, i) => n(finals[i]!.valid.filter((v) => v[2] === 1).length))]);
  rows.push(['valid tokens rejected', ...col((_l, i) => n(finals[i]!.valid.filter((v) => v[2] === 0).length))]);
  for (const c of chapters) {
    rows.push([`  … sent during ${c.label}`, ...col((_l, i) => n(finals[i]!.valid.filter((v) => v[2] === 0 && v[0] / 1000 >= c.from && v[0] / 1000 < c.to).length))]);
  }
  rows.push(['attacker tokens accepted', ...col((_l, i) => n(finals[i]!.attackAccepted))]);
  rows.push(['upstream JWKS requests', ...col((_l, i) => n(upstream[i]!.length))]);
  rows.push([`  … during the flood (${at(3)}–${at(5)} s)`, ...col((_l, i) => n(upstream[i]!.filter((t) => t >= at(3) && t < at(5)).length))]);
  rows.push(['valid p50 / p99 latency', ...col((_l, i) => {
    const lat = finals[i]!.valid.filter((v) => !Number.isNaN(v[1])).map((v) => v[1] - v[0]).sort((a, b) => a - b);
    const f = (ms: number): string => (ms < 1000 ? `${Math.max(1, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`);
    return `${f(percentile(lat, 50))} / ${f(percentile(lat, 99))}`;
  })]);
  const widths = rows[0]!.map((_c, j) => Math.max(...rows.map((r) => r[j]!.length)));
  rows.forEach((r, i) => {
    const cells = r.map((c, j) => (j === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[j]!)));
    let line = cells.join('   ');
    if (i === 0) line = bold(line);
    else if (r[0].startsWith('valid tokens rejected') || r[0].startsWith('attacker')) {
      line = [cells[0], ...cells.slice(1).map((c) => (c.trim() === '0' ? green(c) : red(c)))].join('   ');
    }
    console.log(line);
  });
  const reasons = libs.map((l, i) => `${ADAPTERS[l.id].label}: ${Object.entries(finals[i]!.codes).map(([k, v]) => `${k} ${n(v)}`).join(', ') || 'none'}`);
  console.log(dim(`Rejection reasons — ${reasons.join('; ')}`));
}

function perSecond(times: number[]): number[] {
  const out = new Array<number>(END_SEC + 2).fill(0);
  for (const t of times) {
    const i = Math.floor(t);
    if (i >= 0 && i < out.length) out[i]!++;
  }
  return out;
}

function demoSvg(story: Step[], upstream: number[][]): string {
  const ok: Line[] = [];
  const rej: Line[] = [];
  const up: Line[] = [];
  libs.forEach((l, i) => {
    const f = l.final!;
    const name = ADAPTERS[l.id].label;
    const c = PALETTE[l.id] ?? '#444';
    ok.push({ name, color: c, values: perSecond(f.valid.filter((v) => v[2] === 1).map((v) => v[1] / 1000)), x0: 0 });
    rej.push({ name, color: c, values: perSecond(f.valid.filter((v) => v[2] === 0).map((v) => v[1] / 1000)), x0: 0 });
    up.push({ name, color: c, values: perSecond(upstream[i]!), x0: 0 });
  });
  const short = ['traffic', 'k2 published', 'k2 signs', 'flood', 'emergency k3', 'flood ends', 'outage', 'IdP back'];
  return timelineSvg({
    title: 'jwks-keeper demo: the same minute seen by three libraries',
    subtitle: `${VALID_PER_SEC} valid tokens/s; cache lifetimes ${CACHE_SEC} s for all; flood ${FLOOD.concurrency} in flight, ≤ ${FLOOD.perSec}/s.`,
    xLabel: 'seconds into the story (counted when each verification settled)',
    xFrom: 0,
    xTo: END_SEC,
    markers: story.slice(1).map((s, i) => ({ x: s.at, label: short[i + 1] ?? '' })),
    panels: [
      { title: 'valid tokens accepted per second', lines: ok },
      { title: 'valid tokens rejected per second', lines: rej },
      { title: 'upstream JWKS requests per second', log: true, lines: up },
    ],
    footer: [`npm run demo, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`],
  });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    clearStatus();
    console.error(red(`demo failed: ${err instanceof Error ? err.message : String(err)}`));
    killChildren();
    process.exit(1);
  },
);
