/**
 * The published package: `npm pack` produces compiled JavaScript and type declarations that
 * a consumer can `import`, `require()` (Node ≥ 20.19 loads ESM from require) and typecheck.
 * Runs against dist/, which `npm test` builds first.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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
  // the runtime dependency and the optional peers, as npm would install them
  for (const dep of ['jose', 'express', 'fastify', 'fastify-plugin', 'koa', 'passport']) {
    symlinkSync(join(root, 'node_modules', dep), join(dir, 'node_modules', dep));
  }
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

const SUBPATHS = ['express', 'fastify', 'koa', 'passport'] as const;

test('package.json: no install-time script, build on prepack, repository links, optional framework peers', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    repository: { url: string };
    homepage: string;
    bugs: { url: string };
    dependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
    exports: Record<string, { types?: string; default?: string }>;
  };
  for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) assert.equal(pkg.scripts[hook], undefined, hook);
  assert.equal(pkg.scripts.prepack, 'npm run build');
  assert.match(pkg.repository.url, /github\.com\/jwks-keeper\/jwks-keeper/);
  assert.ok(pkg.homepage && pkg.bugs.url);
  assert.deepEqual(Object.keys(pkg.dependencies), ['jose']);
  for (const peer of ['express', 'fastify', 'fastify-plugin', 'koa', 'passport']) {
    assert.ok(pkg.peerDependencies[peer], peer);
    assert.equal(pkg.peerDependenciesMeta[peer]?.optional, true, peer);
  }
  for (const sub of SUBPATHS) {
    const e = pkg.exports[`./${sub}`];
    assert.ok(e?.types && e.default, sub);
  }
});

test('source maps carry their sources (src/ is not shipped); no declaration maps pointing at it', () => {
  const pkg = join(dir, 'node_modules', 'jwks-keeper');
  const files = execFileSync('find', [join(pkg, 'dist'), '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
  assert.ok(!files.some((f) => f.endsWith('.d.ts.map')), 'a .d.ts.map would point at src/');
  const maps = files.filter((f) => f.endsWith('.js.map'));
  assert.ok(maps.length >= 10);
  for (const m of maps) {
    const map = JSON.parse(readFileSync(m, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
    assert.equal(map.sourcesContent?.length, map.sources.length, m);
    assert.ok(map.sourcesContent.every((c) => typeof c === 'string' && c.length > 0), m);
  }
});

test('every adapter subpath loads with import and require()', () => {
  for (const sub of SUBPATHS) {
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', `import * as m from 'jwks-keeper/${sub}'; console.log(Object.keys(m).sort().join(','))`], { cwd: dir, encoding: 'utf8' });
    const cjs = execFileSync(process.execPath, ['--no-warnings', '-e', `console.log(Object.keys(require('jwks-keeper/${sub}')).filter((k) => k !== '__esModule' && k !== 'module.exports').sort().join(','))`], { cwd: dir, encoding: 'utf8' });
    assert.equal(cjs.trim(), esm.trim(), sub);
    assert.match(esm, sub === 'fastify' ? /jwksKeeper/ : sub === 'passport' ? /BearerStrategy/ : /bearerAuth/);
  }
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
    `import { createJwksCache, createVerifier, isKeysUnavailable, isVerifyError, type JwksEvents, type VerifyResult } from 'jwks-keeper';
const keys = createJwksCache({ jwksUri: 'https://idp.example/.well-known/jwks.json', unknownKid: { cooldownMs: 5000 } });
keys.on('keys.changed', (e: JwksEvents['keys.changed']) => { const added: string[] = e.added; void added; });
const v = createVerifier({ issuer: 'https://idp.example/', audience: 'api', keys });
export async function check(t: string): Promise<number> {
  try { const r: VerifyResult = await v.verify(t); return r.payload.exp ?? 0; }
  catch (err) { return isKeysUnavailable(err) ? 503 : 401; }
}
export async function typed(t: string): Promise<string> {
  try { const r = await v.verify<{ sub: string; tenant: string }>(t); return r.payload.tenant; }
  catch (err) { if (isVerifyError(err)) return err.httpStatus === 503 ? String(err.retryAfterMs) : err.code; throw err; }
}
`,
  );
  writeFileSync(
    join(dir, 'adapters.ts'),
    `import express from 'express';
import Fastify from 'fastify';
import passport from 'passport';
import { bearerAuth, requireScopes } from 'jwks-keeper/express';
import { jwksKeeper } from 'jwks-keeper/fastify';
import { BearerStrategy } from 'jwks-keeper/passport';
const options = { issuer: 'https://idp.example/', audience: 'api', jwksUri: 'https://idp.example/jwks' };
const app = express();
app.get('/me', bearerAuth(options), requireScopes('read'), (req, res) => { const sub: string | undefined = req.auth?.sub; res.json({ sub }); });
const f = Fastify();
await f.register(jwksKeeper, options);
f.get('/me', { onRequest: f.authenticate }, async (req) => req.auth?.sub);
passport.use(new BearerStrategy(options));
`,
  );
  // @types/koa does not compile against the content-disposition types npm installs next to
  // it (its own bug), so the Koa consumer is checked with skipLibCheck.
  writeFileSync(
    join(dir, 'koa.ts'),
    `import Koa from 'koa';
import { bearerAuth, requireScopes } from 'jwks-keeper/koa';
const auth = bearerAuth({ issuer: 'https://idp.example/', audience: 'api', jwksUri: 'https://idp.example/jwks', stateKey: 'user' });
new Koa().use(auth).use(requireScopes('read')).use((ctx) => { ctx.body = ctx.state.user; });
void auth.verifier.keys.ready();
`,
  );
  writeFileSync(
    join(dir, 'tsconfig.koa.json'),
    JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: true, types: ['node'] }, files: ['koa.ts'] }),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['consumer.ts', 'adapters.ts'] }),
  );
  symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.koa.json')], { cwd: dir, encoding: 'utf8' });
  } catch (err) {
    assert.fail(`consumer does not typecheck:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
});
