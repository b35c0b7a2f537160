#!/usr/bin/env node
// The README's test command (`npm test`): typecheck, build the package, then run every
// test file under test/ with Node's test runner (TypeScript loaded through tsx).
// Extra arguments are passed to the runner as file filters, e.g. `npm test -- fetch`.
// When adversarial files ran, prints the suite's summary: threats of threats.md covered by
// test names, cases, forged/hostile inputs accepted (must be 0) and hits on token-supplied
// URLs (must be 0); a non-zero count fails the run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return r.status ?? 1;
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (/\.test\.(ts|mjs|cjs)$/.test(name)) out.push(relative(root, p));
  }
  return out;
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
if (filters.length === 0) {
  for (const project of ['tsconfig.json', 'tsconfig.build.json']) {
    const status = run(process.execPath, [tsc, '-p', project, ...(project === 'tsconfig.json' ? ['--noEmit'] : [])]);
    if (status !== 0) process.exit(status);
  }
}
const all = walk(join(root, 'test')).sort();
const files = all.filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const summaryDir = mkdtempSync(join(tmpdir(), 'jwks-keeper-summary-'));
let status = run(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=600000', ...files], { JWKS_KEEPER_SUMMARY_DIR: summaryDir });

const parts = readdirSync(summaryDir).map((f) => JSON.parse(readFileSync(join(summaryDir, f), 'utf8')));
rmSync(summaryDir, { recursive: true, force: true });
if (parts.length > 0) {
  // threats.md ids, and the ids named by test titles of the files that ran
  const counts = { A: 8, B: 6, C: 5, D: 6, E: 5, F: 7, R: 12 };
  const wanted = Object.entries(counts).flatMap(([letter, n]) => Array.from({ length: n }, (_, i) => `${letter}${i + 1}`));
  const covered = new Set();
  for (const f of files) {
    const src = readFileSync(join(root, f), 'utf8');
    for (const m of src.matchAll(/\b(?:test|it|describe)\(\s*(['"`])((?:(?!\1).)*)\1/g)) {
      for (const id of m[2].matchAll(/\b([A-FR]\d{1,2})\b/g)) covered.add(id[1]);
    }
  }
  const missing = wanted.filter((id) => !covered.has(id));
  const sum = (k) => parts.reduce((a, p) => a + (Number(p[k]) || 0), 0);
  const extra = (k) => parts.reduce((a, p) => a + (Number(p.extra?.[k]) || 0), 0);
  const accepted = sum('hostileAccepted') + extra('forgedAccepted');
  const urlHits = extra('tokenUrlHits');
  console.log('\n=== adversarial and fault suite ===');
  console.log(`threats and scenarios covered by test names: ${wanted.length - missing.length}/${wanted.length}${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`);
  console.log(`files: ${parts.length}, cases run: ${sum('cases')}, hostile inputs served: ${sum('hostileServed') + extra('forgedTokens')}`);
  console.log(`forged tokens / hostile JWKS accepted: ${accepted} (must be 0)`);
  console.log(`upstream hits from token-supplied URLs (jku/x5u): ${urlHits} (must be 0)`);
  if (accepted > 0 || urlHits > 0) status = status || 1;
}
process.exit(status);
