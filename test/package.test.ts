/**
 * The published package: `npm pack` produces compiled JavaScript and type declarations that
 * a consumer can `import`, `require()` (Node ≥ 20.19 loads ESM from require) and typecheck.
 * Runs against dist/, which `npm test` builds first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir = '';

before(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-pack-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root, stdio: 'ignore' });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const pkg = join(dir, 'node_modules', 'jwks-keeper');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, tgz), '-C', pkg, '--strip-components=1']);
  // the runtime dependency, as npm would install it
  symlinkSync(join(root, 'node_modules', 'jose'), join(dir, 'node_modules', 'jose'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds compiled JS and declarations, and no sources or tests', () => {
  const files = execFileSync('tar', ['tzf', join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!)], { encoding: 'utf8' }).split('\n');
  assert.ok(files.includes('package/dist/index.js'));
  assert.ok(files.includes('package/dist/index.d.ts'));
  assert.ok(files.includes('package/dist/testing/index.d.ts'));
  assert.ok(!files.some((f) => f.startsWith('package/test/') || f.startsWith('package/src/') || f.startsWith('package/bench/')));
});

test('import works', () => {
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', "import { createJwksCache, createVerifier, TokenInvalidError } from 'jwks-keeper'; import { ManualClock } from 'jwks-keeper/testing'; console.log(typeof createJwksCache, typeof createVerifier, typeof TokenInvalidError, typeof ManualClock)"],
    { cwd: dir, encoding: 'utf8' },
  );
  assert.equal(out.trim(), 'function function function function');
});

test('require() works', () => {
  const out = execFileSync(
    process.execPath,
    ['--no-warnings', '-e', "const k = require('jwks-keeper'); const e = new k.TokenInvalidError('KID_NOT_FOUND', 'x'); console.log(typeof k.createVerifier, e.code, e.httpStatus, e instanceof k.JwksKeeperError)"],
    { cwd: dir, encoding: 'utf8' },
  );
  assert.equal(out.trim(), 'function KID_NOT_FOUND 401 true');
});

test('a TypeScript consumer typechecks against the declarations', () => {
  writeFileSync(
    join(dir, 'consumer.ts'),
    `import { createJwksCache, createVerifier, isKeysUnavailable, type JwksEvents, type VerifyResult } from 'jwks-keeper';
const keys = createJwksCache({ jwksUri: 'https://idp.example/.well-known/jwks.json', unknownKid: { cooldownMs: 5000 } });
keys.on('keys.changed', (e: JwksEvents['keys.changed']) => { const added: string[] = e.added; void added; });
const v = createVerifier({ issuer: 'https://idp.example/', audience: 'api', keys });
export async function check(t: string): Promise<number> {
  try { const r: VerifyResult = await v.verify(t); return r.payload.exp ?? 0; }
  catch (err) { return isKeysUnavailable(err) ? 503 : 401; }
}
`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['consumer.ts'] }),
  );
  symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
  } catch (err) {
    assert.fail(`consumer does not typecheck:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
});
