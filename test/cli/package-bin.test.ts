/**
 * The packed tarball carries the CLI: `bin` points at dist/cli/main.js with a shebang, and the
 * binary runs from an installed package with only the runtime dependency (jose) present:
 * no prom-client, no OpenTelemetry, no tsx, no examples/ (so `demo` tells the built-in story).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOnce, root } from './helpers.js';

let dir = '';
let pkg = '';
before(() => {
  buildOnce();
  dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-bin-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root, stdio: 'ignore' });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  pkg = join(dir, 'node_modules', 'jwks-keeper');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, tgz), '-C', pkg, '--strip-components=1']);
  symlinkSync(join(root, 'node_modules', 'jose'), join(dir, 'node_modules', 'jose'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('package.json bin and exports name the built files, which are in the tarball', () => {
  const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as { bin: Record<string, string>; exports: Record<string, { types: string; default: string }>; peerDependenciesMeta: Record<string, { optional: boolean }> };
  assert.equal(manifest.bin['jwks-keeper'], './dist/cli/main.js');
  assert.match(readFileSync(join(pkg, 'dist/cli/main.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  for (const sub of ['./otel', './prometheus', './sidecar']) {
    const e = manifest.exports[sub]!;
    assert.ok(readFileSync(join(pkg, e.default), 'utf8').length > 0, sub);
    assert.ok(readFileSync(join(pkg, e.types), 'utf8').length > 0, sub);
  }
  assert.equal(manifest.peerDependenciesMeta['prom-client']?.optional, true);
  assert.equal(manifest.peerDependenciesMeta['@opentelemetry/api']?.optional, true);
});

test('the installed binary runs with jose alone: --version, --help, demo (built-in story)', () => {
  const bin = join(pkg, 'dist/cli/main.js');
  const v = spawnSync(process.execPath, [bin, '--version'], { cwd: dir, encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
  const h = spawnSync(process.execPath, [bin, 'serve', '--help'], { cwd: dir, encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  const d = spawnSync(process.execPath, [bin, 'demo', '--json'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  assert.equal(d.status, 0, d.stderr);
  assert.equal((JSON.parse(d.stdout) as { ok: boolean }).ok, true);
  // jwks-keeper/sidecar and the text metrics load without prom-client
  const s = spawnSync(process.execPath, ['--input-type=module', '-e', "import { createSidecar, verifyWebhookSignature } from 'jwks-keeper/sidecar'; console.log(typeof createSidecar, typeof verifyWebhookSignature)"], { cwd: dir, encoding: 'utf8' });
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.stdout.trim(), 'function function');
});
