#!/usr/bin/env node
// The README's test command (`npm test`): typecheck, build the package, then run every
// test file under test/ with Node's test runner (TypeScript loaded through tsx).
// Extra arguments are passed to the runner as file filters, e.g. `npm test -- fetch`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
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
  run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit']);
  run(process.execPath, [tsc, '-p', 'tsconfig.build.json']);
}
const files = walk(join(root, 'test'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
run(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=600000', ...files]);
