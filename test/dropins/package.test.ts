/**
 * The drop-in subpaths from the packed tarball: ESM import, `require()` (jwks-rsa's callable
 * form included), and a strict TypeScript consumer written against jwks-rsa's and jose's
 * usage. Builds dist/ when it lacks the drop-ins.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir = '';

before(() => {
  if (!existsSync(join(root, 'dist', 'dropins', 'jwks-rsa', 'index.js')) || !existsSync(join(root, 'dist', 'discovery', 'index.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }
  dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-dropins-pack-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: root, stdio: 'ignore' });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const pkg = join(dir, 'node_modules', 'jwks-keeper');
  mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, tgz), '-C', pkg, '--strip-components=1']);
  symlinkSync(join(root, 'node_modules', 'jose'), join(dir, 'node_modules', 'jose'));
  symlinkSync(join(root, 'node_modules', '@types'), join(dir, 'node_modules', '@types'));
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SUBPATHS = ['jwks-keeper/jwks-rsa', 'jwks-keeper/jose', 'jwks-keeper/multi', 'jwks-keeper/discovery'];

test('import every drop-in subpath', () => {
  const src = `${SUBPATHS.map((s, i) => `import * as m${i} from '${s}';`).join(' ')} console.log([${SUBPATHS.map((_, i) => `Object.keys(m${i}).length > 0`).join(',')}].join(' '), typeof m0.default, typeof m1.createRemoteJWKSet, typeof m2.createMultiIssuerVerifier, typeof m3.createDiscoveredVerifier)`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', src], { cwd: dir, encoding: 'utf8' });
  assert.equal(out.trim(), 'true true true true function function function function');
});

test("require('jwks-keeper/jwks-rsa') is callable like require('jwks-rsa')", () => {
  const src = "const jwksClient = require('jwks-keeper/jwks-rsa'); const c = jwksClient({ jwksUri: 'https://idp.example/jwks' }); const { expressJwtSecret, SigningKeyNotFoundError } = require('jwks-keeper/jwks-rsa'); console.log(typeof jwksClient, c instanceof jwksClient.JwksClient, typeof expressJwtSecret, new SigningKeyNotFoundError('x').name, typeof require('jwks-keeper/jose').createRemoteJWKSet, typeof require('jwks-keeper/multi').createMultiIssuerVerifier, typeof require('jwks-keeper/discovery').createDiscovery)";
  const out = execFileSync(process.execPath, ['--no-warnings', '-e', src], { cwd: dir, encoding: 'utf8' });
  assert.equal(out.trim(), 'function true function SigningKeyNotFoundError function function function');
});

test("jwks-rsa's README, CommonJS as written (only the module name changed), endpoint mocked by nock", () => {
  if (!existsSync(join(dir, 'node_modules', 'nock'))) symlinkSync(join(root, 'node_modules', 'nock'), join(dir, 'node_modules', 'nock'));
  const { generateKeyPairSync } = require('node:crypto') as typeof import('node:crypto');
  const jwk = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' }), kid: 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg', use: 'sig', alg: 'RS256' };
  writeFileSync(
    join(dir, 'readme.cjs'),
    `const nock = require('nock');
nock.disableNetConnect();
nock('https://sandrino.auth0.com').get('/.well-known/jwks.json').reply(200, { keys: [${JSON.stringify(jwk)}] });
(async () => {
// --- jwks-rsa README, "Configure the client" and "Retrieve a key" ---
const jwksClient = require('jwks-keeper/jwks-rsa');

const client = jwksClient({
  jwksUri: 'https://sandrino.auth0.com/.well-known/jwks.json',
  requestHeaders: {}, // Optional
  timeout: 30000 // Defaults to 30s
});

const kid = 'RkI5MjI5OUY5ODc1N0Q4QzM0OUYzNkVGMTJDOUEzQkFCOTU3NjE2Rg';
const key = await client.getSigningKey(kid);
const signingKey = key.getPublicKey();
// ---
console.log(signingKey.startsWith('-----BEGIN PUBLIC KEY-----'), nock.isDone());
})();
`,
  );
  const out = execFileSync(process.execPath, ['--no-warnings', 'readme.cjs'], { cwd: dir, encoding: 'utf8' });
  assert.equal(out.trim(), 'true true');
});

test('a strict TypeScript consumer of the drop-ins typechecks against the declarations', () => {
  writeFileSync(
    join(dir, 'consumer.ts'),
    `import jwksClient, { SigningKeyNotFoundError, type SigningKey } from 'jwks-keeper/jwks-rsa';
import { createRemoteJWKSet, errors } from 'jwks-keeper/jose';
import { jwtVerify } from 'jose';
import { createMultiIssuerVerifier } from 'jwks-keeper/multi';
import { createDiscoveredVerifier } from 'jwks-keeper/discovery';
const client = jwksClient({ jwksUri: 'https://idp.example/jwks', requestHeaders: {}, timeout: 30000 });
const opts: jwksClient.Options = { jwksUri: 'https://idp.example/jwks', rateLimit: true };
export const helper = jwksClient.expressJwtSecret(opts);
export async function pem(kid: string): Promise<string> {
  const typed: jwksClient.SigningKey = await jwksClient(opts).getSigningKey(kid);
  void typed;
  const key: SigningKey = await client.getSigningKey(kid);
  client.getSigningKey(kid, (err, k) => { if (err instanceof SigningKeyNotFoundError) return; void k?.getPublicKey(); });
  return key.getPublicKey();
}
const JWKS = createRemoteJWKSet(new URL('https://idp.example/jwks'), { cooldownDuration: 30000 });
export async function check(t: string): Promise<boolean> {
  try { await jwtVerify(t, JWKS, { issuer: 'https://idp.example/', audience: 'api' }); return true; }
  catch (e) { return !(e instanceof errors.JWKSNoMatchingKey); }
}
export const multi = createMultiIssuerVerifier({ issuers: [{ issuer: 'https://idp.example/', audience: 'api' }] });
export const disc = createDiscoveredVerifier({ issuer: 'https://idp.example/', audience: 'api' });
`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['consumer.ts'] }),
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
  } catch (err) {
    assert.fail(`consumer does not typecheck:\n${(err as { stdout?: string }).stdout ?? String(err)}`);
  }
});
