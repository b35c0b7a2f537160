/**
 * The fleet benchmark, runnable alone: `npm run bench:fleet` (or
 * `node --import tsx bench/fleet.ts [--quick] [--ns 1,2,4,8] [--modes fleet,independent] [--write]`).
 *
 * For N = 1, 2, 4, 8 API instances (child processes, each a verifier on one fake IdP over HTTP
 * on 127.0.0.1), in fleet mode (one redis-server on a unix socket, started here) and as N
 * independent caches: IdP requests for the first load, per refresh window (every instance
 * refreshes at once) and during a random-kid flood on every instance; and the valid-token
 * latency of each instance (sequential verifications with cached keys), reported as the ratio
 * fleet ÷ independent at the same N. `--write` replaces the "Benchmark" section of
 * docs/fleet.md; otherwise the table goes to .bench-out/fleet.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeIdp, HttpIdp } from '../test/helpers/fake-idp.js';
import { makeKey, mint } from '../test/helpers/keys.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { startFleet, stopFleet, type Instance } from '../test/redis/fleet-harness.js';
import type { InstanceConfig } from '../test/redis/instance.js';

type Mode = 'fleet' | 'independent';

interface Row {
  n: number;
  mode: Mode;
  initialLoad: number;
  perWindow: number[];
  flood: number;
  floodLookups: number;
  validRejected: number;
  p50us: number;
  p99us: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));
const SECRET = 'benchmark fleet secret, at least 32 bytes long';

function parse(argv: string[]): { quick: boolean; ns: number[]; modes: Mode[]; write: boolean } {
  const o = { quick: false, ns: [1, 2, 4, 8], modes: ['independent', 'fleet'] as Mode[], write: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--write') o.write = true;
    else if (a === '--ns') o.ns = argv[++i]!.split(',').map(Number);
    else if (a === '--modes') o.modes = argv[++i]!.split(',') as Mode[];
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const windows = args.quick ? 2 : 3;
  const floodPerInstance = args.quick ? 500 : 2_000;
  const latencyTokens = args.quick ? 500 : 2_000;
  const redis = await startRedisServer();
  const rows: Row[] = [];
  const t0 = Date.now();
  let runs = 0;
  try {
    for (const n of args.ns) {
      for (const mode of args.modes) {
        const key = makeKey('k1');
        const idp = new FakeIdp(key);
        const http = await new HttpIdp(idp).start();
        const keyPrefix = `bench${++runs}:`;
        const config = (index: number): InstanceConfig => ({
          index,
          jwksUri: http.url,
          mode,
          redisSocket: redis.socketPath,
          keyPrefix,
          secret: SECRET,
          cacheOptions: { allowInsecureHttp: true, unknownKid: { cooldownMs: 1_000, maxWaitMs: 1_000, burst: 2 } },
        });
        let fleet: Instance[] = [];
        try {
          fleet = await startFleet(n, config);
          const initialLoad = idp.requests;
          const perWindow: number[] = [];
          for (let w = 0; w < windows; w++) {
            const before = idp.requests;
            await Promise.all(fleet.map((i) => i.refresh()));
            perWindow.push(idp.requests - before);
          }
          const valid = await Promise.all(Array.from({ length: latencyTokens }, (_, i) => mint(key, { claims: { n: i } })));
          const beforeFlood = idp.requests;
          const [floods, checks] = await Promise.all([Promise.all(fleet.map((i) => i.flood(floodPerInstance))), Promise.all(fleet.map((i) => i.verify(valid.slice(0, 100))))]);
          const flood = idp.requests - beforeFlood;
          const validRejected = checks.reduce((a, c) => a + (100 - c.ok), 0);
          // one instance at a time: N processes measuring at once on a small machine measure the CPU contention
          const lat: { p50: number; p99: number }[] = [];
          for (const i of fleet) lat.push(await i.latency(valid));
          rows.push({
            n,
            mode,
            initialLoad,
            perWindow,
            flood,
            floodLookups: floods.reduce((a, f) => a + f.ok + Object.values(f.invalid).reduce((x, y) => x + y, 0) + Object.values(f.unavailable).reduce((x, y) => x + y, 0), 0),
            validRejected,
            p50us: Math.max(...lat.map((l) => l.p50)),
            p99us: Math.max(...lat.map((l) => l.p99)),
          });
          console.log(`N=${n} ${mode}: first load ${initialLoad}, per window ${perWindow.join('/')}, flood ${flood} upstream, valid p50 ${rows.at(-1)!.p50us.toFixed(0)} µs`);
        } finally {
          await stopFleet(fleet);
          await http.stop();
        }
      }
    }
  } finally {
    await redis.stop();
  }
  const md = report(rows, { windows, floodPerInstance, latencyTokens, durationS: Math.round((Date.now() - t0) / 1000), quick: args.quick });
  if (args.write) {
    const path = join(root, 'docs', 'fleet.md');
    const doc = readFileSync(path, 'utf8');
    const start = doc.indexOf('<!-- fleet-bench:start -->');
    const end = doc.indexOf('<!-- fleet-bench:end -->');
    if (start < 0 || end < 0) throw new Error('docs/fleet.md has no fleet-bench markers');
    writeFileSync(path, `${doc.slice(0, start)}<!-- fleet-bench:start -->\n${md}${doc.slice(end)}`);
    console.log('wrote docs/fleet.md');
  } else {
    mkdirSync(join(root, '.bench-out'), { recursive: true });
    writeFileSync(join(root, '.bench-out', 'fleet.md'), md);
    console.log(md);
  }
}

function report(rows: Row[], c: { windows: number; floodPerInstance: number; latencyTokens: number; durationS: number; quick: boolean }): string {
  const ratio = (r: Row, f: (x: Row) => number): string => {
    const base = rows.find((x) => x.n === r.n && x.mode === 'independent');
    return base && r.mode === 'fleet' ? `${(f(r) / f(base)).toFixed(2)}×` : '1.00×';
  };
  const lines = [
    `Generated by \`npm run bench:fleet${c.quick ? ' -- --quick' : ''}\` on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${c.durationS} s; ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Counts repeat from run to run; latencies move with the machine's load.`,
    '',
    `Each instance is a child process with a verifier on one fake IdP (HTTP, 127.0.0.1, \`max-age=600\`). "Per refresh window": every instance calls \`refresh()\` at once, ${c.windows} times. "Flood": ${c.floodPerInstance} random-kid tokens on every instance at once (budget: burst 2, one refresh per 1 s, waits ≤ 1 s), with 100 valid tokens per instance verified meanwhile. Latency: ${c.latencyTokens} sequential verifications of valid tokens (ES256, cached key) per instance, one instance at a time, after the flood; the slowest instance's p50 and p99.`,
    '',
    '| N | mode | IdP requests, first load | IdP requests per refresh window | IdP requests during the flood | valid tokens rejected | valid p50 | valid p99 | p50 ÷ independent | p99 ÷ independent |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.n} | ${r.mode} | ${r.initialLoad} | ${r.perWindow.join(' / ')} | ${r.flood} | ${r.validRejected} | ${r.p50us.toFixed(0)} µs | ${r.p99us.toFixed(0)} µs | ${ratio(r, (x) => x.p50us)} | ${ratio(r, (x) => x.p99us)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
