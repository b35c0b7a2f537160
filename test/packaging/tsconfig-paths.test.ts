// The examples and tests import the package by name ('jwks-keeper/<subpath>'). tsconfig.json's
// `paths` map each name to its source so a clean clone typechecks before dist/ exists; this
// test keeps that map equal to package.json's "exports" (a new subpath cannot be forgotten).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { exports: Record<string, string | { default: string }> };
// tsconfig.json is JSON without comments in this repo
const tsconfig = JSON.parse(readFileSync(new URL('tsconfig.json', root), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };

test('tsconfig paths map every package export to its source file, and nothing else', () => {
  const expected: Record<string, string[]> = {};
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string') continue; // ./package.json
    expected[`jwks-keeper${sub.slice(1)}`] = [`./${target.default.replace('./dist/', 'src/').replace(/\.js$/, '.ts')}`];
  }
  assert.deepEqual(tsconfig.compilerOptions.paths, expected);
  for (const [name, [file]] of Object.entries(expected)) {
    assert.doesNotThrow(() => readFileSync(new URL(file!, root)), `${name} → ${file} exists`);
  }
});
