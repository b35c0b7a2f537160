/**
 * The examples added for operations run (against the built package, imported by name) and
 * the README's TypeScript blocks equal their example files (checked for the whole README by
 * test/examples/readme.test.ts).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildOnce, root } from '../cli/helpers.js';

before(() => buildOnce());

for (const name of ['metrics-prometheus', 'metrics-otel', 'webhook-receiver']) {
  test(`examples/${name}.ts runs`, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    if (name === 'metrics-prometheus') assert.match(r.stdout, /^jwks_keeper_keys\{cache="tenant"\} 0$/m);
  });
}
