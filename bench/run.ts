/**
 * The benchmark suite: `npm run bench` (everything, < 15 min on 2 cores; rewrites
 * docs/benchmarks.md and docs/img/rotation-under-flood.svg) or `npm run bench:quick`
 * (`--quick`: shorter windows, < 2 min).
 *
 * Options:
 *   --quick | --smoke          shorter modes (smoke: seconds, for the test suite)
 *   --only a,b                 adapters (jwks-keeper, jose, jwks-rsa, jwks-rsa-ratelimit,
 *                              aws-jwt-verify, get-jwks, jose-static, node-crypto)
 *   --scenarios a,b            hot, flood, rotation, announced, outage, stampede
 *   --parallel N               paced runs at once (default 6)
 *   --write / --no-write       write docs/ (default: only for a full run of everything)
 *   --report-only              rebuild the markdown and SVG from .bench-out/results-<mode>.json
 *   --out FILE                 write the markdown of this run to FILE (and its SVG next to it,
 *                              under img/), e.g. `--scenarios rotation --out docs/benchmarks-rotation.md`
 *                              to publish one scenario without rewriting docs/benchmarks.md
 *
 * Results always go to .bench-out/results-<mode>.json (the previous run's to
 * results-<mode>-previous.json, for the run-to-run comparison); when docs/ is not written, the markdown and
 * SVG go to .bench-out/ too.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_ADAPTERS, type AdapterId } from './lib/adapters.js';
import { runSuite, SCENARIOS, type Mode, type SuiteResult } from './lib/orchestrator.js';
import { installCleanup } from './lib/procs.js';
import { machineInfo, markdown, rotationSvg, type MachineInfo } from './lib/report.js';
import type { ScenarioId } from './lib/types.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function parse(argv: string[]): { mode: Mode; only?: AdapterId[]; scenarios?: ScenarioId[]; parallel?: number; write?: boolean; reportOnly?: boolean; out?: string } {
  const out: ReturnType<typeof parse> = { mode: 'full' };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        out.mode = 'quick';
        break;
      case '--smoke':
        out.mode = 'smoke';
        break;
      case '--full':
        out.mode = 'full';
        break;
      case '--only': {
        const ids = value().split(',') as AdapterId[];
        for (const id of ids) if (!ALL_ADAPTERS.includes(id)) throw new Error(`unknown adapter ${id}; one of ${ALL_ADAPTERS.join(', ')}`);
        out.only = ids;
        break;
      }
      case '--scenarios': {
        const ids = value().split(',') as ScenarioId[];
        for (const id of ids) if (!SCENARIOS.includes(id)) throw new Error(`unknown scenario ${id}; one of ${SCENARIOS.join(', ')}`);
        out.scenarios = ids;
        break;
      }
      case '--parallel':
        out.parallel = Number(value());
        break;
      case '--write':
        out.write = true;
        break;
      case '--no-write':
        out.write = false;
        break;
      case '--report-only':
        out.reportOnly = true;
        break;
      case '--out':
        out.out = value();
        break;
      case '--help':
      case '-h':
        console.log(readmeOfThisFile());
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag} (see --help)`);
    }
  }
  return out;
}

function readmeOfThisFile(): string {
  return 'usage: npm run bench [-- --quick|--smoke] [--only a,b] [--scenarios a,b] [--parallel N] [--write|--no-write] [--out FILE]';
}

async function main(): Promise<void> {
  installCleanup();
  const args = parse(process.argv.slice(2));
  const everything = !args.only && !args.scenarios;
  const write = args.write ?? (args.mode === 'full' && everything && !args.reportOnly);
  const t0 = Date.now();
  const stamp = (): string => `[${String(Math.round((Date.now() - t0) / 1000)).padStart(4)} s]`;
  const outDir = join(root, '.bench-out');
  let r: SuiteResult;
  let m: MachineInfo;
  const resultsPath = join(outDir, `results-${args.mode}.json`);
  const prevPath = join(outDir, `results-${args.mode}-previous.json`);
  const readPrev = (path: string): SuiteResult | undefined => {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as SuiteResult;
    } catch {
      return undefined;
    }
  };
  let prev: SuiteResult | undefined;
  if (args.reportOnly) {
    prev = readPrev(prevPath);
    const saved = JSON.parse(readFileSync(resultsPath, 'utf8')) as SuiteResult & { machine: MachineInfo };
    r = saved;
    m = saved.machine;
  } else {
    r = await runSuite({
      mode: args.mode,
      adapters: args.only,
      scenarios: args.scenarios,
      parallel: args.parallel,
      log: (line) => console.log(`${stamp()} ${line}`),
    });
    m = machineInfo();
    mkdirSync(outDir, { recursive: true });
    // keep the last run of the same mode and selection, for the run-to-run comparison
    const last = readPrev(resultsPath);
    if (last && last.config.mode === r.config.mode && last.adapters.join() === r.adapters.join() && last.scenarios.join() === r.scenarios.join()) {
      renameSync(resultsPath, prevPath);
      prev = last;
    } else {
      prev = readPrev(prevPath);
      if (prev && (prev.config.mode !== r.config.mode || prev.adapters.join() !== r.adapters.join())) prev = undefined;
    }
    writeFileSync(resultsPath, JSON.stringify({ machine: m, ...r }, null, 1));
  }
  const outFile = args.out === undefined ? undefined : resolve(args.out);
  const mdPath = outFile ?? (write ? join(root, 'docs', 'benchmarks.md') : join(outDir, 'benchmarks.md'));
  const svgPath = outFile
    ? join(dirname(outFile), 'img', `${basename(outFile, '.md')}.svg`)
    : write
      ? join(root, 'docs', 'img', 'rotation-under-flood.svg')
      : join(outDir, 'rotation-under-flood.svg');
  mkdirSync(dirname(svgPath), { recursive: true });
  mkdirSync(dirname(mdPath), { recursive: true });
  const svg = rotationSvg(r);
  if (svg) writeFileSync(svgPath, svg);
  writeFileSync(mdPath, markdown(r, m, relative(dirname(mdPath), svgPath), prev));
  const failed = [...r.hot, ...r.flood, ...r.rotation.flatMap((p) => p.runs), ...r.announced, ...r.outage, ...r.stampede].filter((o) => o.error);
  console.log(`${stamp()} wrote ${relative(root, mdPath)}${svg ? ` and ${relative(root, svgPath)}` : ''} (${Math.round(r.durationMs / 1000)} s)`);
  if (failed.length > 0) {
    console.error(`${failed.length} run(s) failed:`);
    for (const f of failed) console.error(`  ${f.scenario} ${f.adapter}: ${f.error}`);
    process.exit(1);
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
