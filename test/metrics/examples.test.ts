/**
 * The examples added for operations run (against the built package, imported by name) and
 * the README section's TypeScript block equals its example file (the README convention).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildOnce, root } from '../cli/helpers.js';

before(() => buildOnce());

for (const name of ['metrics-prometheus', 'metrics-otel', 'webhook-receiver']) {
  test(`examples/${name}.ts runs`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    if (name === 'metrics-prometheus') assert.match(r.stdout, /^jwks_keeper_keys\{cache="tenant"\} 0$/m);
  });
}

test('docs/README-ops-section.md: each TypeScript block is preceded by its example marker and equals the file', () => {
  const md = readFileSync(`${root}docs/README-ops-section.md`, 'utf8');
  const blocks = [...md.matchAll(/(<!-- example: (examples\/[\w-]+\.ts) -->\n)?```ts\n([\s\S]*?)```/g)];
  assert.ok(blocks.length >= 1);
  for (const b of blocks) {
    assert.ok(b[2], 'marker present');
    assert.equal(b[3], readFileSync(`${root}${b[2]}`, 'utf8'));
  }
});
