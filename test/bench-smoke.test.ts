/**
 * Smoke test of the benchmark harness (bench/): its quickest mode, one library, one scenario
 * (rotation under flood, which exercises the IdP process, the library process, both traffic
 * drivers, a rotation and the report). Checks that it works and what must always hold; asserts
 * no timings.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runSuite } from '../bench/lib/orchestrator.js';
import { killChildren } from '../bench/lib/procs.js';
import { machineInfo, markdown, rotationSvg } from '../bench/lib/report.js';

after(() => killChildren());

test('bench harness: rotation under flood, smoke mode, jwks-keeper', { timeout: 60_000 }, async () => {
  const r = await runSuite({ mode: 'smoke', adapters: ['jwks-keeper'], scenarios: ['rotation'] });
  assert.equal(r.rotation.length, 1);
  const run = r.rotation[0]!.runs[0]!;
  assert.equal(run.error, undefined, run.error);
  const x = run.result!;
  assert.ok(x.valid > 0, 'valid traffic was sent');
  assert.ok(x.validAccepted > 0, 'valid tokens were accepted');
  assert.equal(x.validAccepted + x.rejected + x.unsettled, x.valid);
  assert.ok(x.attackSent > 0, 'the flood ran');
  assert.equal(x.attackAccepted, 0, 'no attacker token is ever accepted');
  assert.ok(x.upstream >= 1, 'the IdP counted the library’s requests');
  assert.ok(x.firstNewAcceptMs !== null, 'a token signed by the new key was accepted');
  assert.ok(x.series.validOk.length > 0 && x.series.upstream.length === x.series.validOk.length);

  const md = markdown(r, machineInfo(), 'img/x.svg');
  assert.match(md, /## 3\. Rotation under flood/);
  assert.match(md, /\| jwks-keeper \|/);
  assert.match(rotationSvg(r), /^<svg [^>]*>/);
});
