/**
 * `jwks-keeper/redis` is a subpath export with types, `redis` is an optional peer dependency,
 * and no entry loads the Redis client package when imported (so an application without `redis`
 * works); only the sidecar's fleet option loads src/redis, lazily.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildOnce } from '../cli/helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;

test('package.json: ./redis export with types and default; redis is an optional peer, not a dependency', () => {
  assert.deepEqual(pkg.exports!['./redis'], { types: './dist/redis/index.d.ts', default: './dist/redis/index.js' });
  assert.equal(typeof pkg.peerDependencies!.redis, 'string');
  assert.deepEqual(pkg.peerDependenciesMeta!.redis, { optional: true });
  assert.deepEqual(pkg.peerDependenciesMeta!.ioredis, { optional: true });
  assert.equal(pkg.dependencies!.ioredis, undefined);
  assert.equal(pkg.dependencies!.redis, undefined);
});

/** The one module outside src/redis that may load it: the sidecar's fleet option, lazily. */
const LAZY_LOADER = 'src/sidecar/fleet.ts';

test('only src/redis imports redis; outside it, src/redis is only imported for types, or lazily by the sidecar fleet option', () => {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  let lazy = 0;
  for (const file of walk(join(root, 'src'))) {
    const rel = file.slice(root.length);
    const text = readFileSync(file, 'utf8');
    const inRedis = rel.startsWith('src/redis/');
    if (!inRedis) {
      assert.doesNotMatch(text, /(from|^import) ['"](redis|ioredis|@redis\/client)['"]/m, `${rel}: no static import of a Redis client`);
      assert.doesNotMatch(text, /^import (?!type )[^\n]*from ['"][./]*redis\//m, `${rel}: no static value import of src/redis`);
      assert.doesNotMatch(text, /^export [^\n]*from ['"][./]*redis\//m, `${rel}: no re-export of src/redis`);
      const dynamic = /import\(['"](redis|ioredis|@redis\/client|[./]*redis\/[^'"]*)['"]\)/.test(text);
      if (dynamic) {
        assert.equal(rel, LAZY_LOADER, `${rel}: only ${LAZY_LOADER} loads Redis code, lazily`);
        lazy++;
      }
    } else {
      assert.doesNotMatch(text, /^import [^t][^\n]*from ['"]redis['"]/m, `${rel}: redis is loaded lazily, only for { url }`);
    }
  }
  assert.equal(lazy, 1, `${LAZY_LOADER} is the lazy loader`);
});

test('every export loads on a machine without the redis package (the fleet option loads it only when configured)', async () => {
  buildOnce();
  const noRedis = pathToFileURL(join(root, 'test/helpers/no-redis.mjs')).href;
  const entries = Object.values(pkg.exports!)
    .filter((e): e is { default: string } => typeof e === 'object' && e !== null)
    .map((e) => pathToFileURL(join(root, e.default)).href);
  assert.ok(entries.length > 5);
  const script = `for (const e of ${JSON.stringify(entries)}) await import(e);
let missing = false;
try { await import('redis'); } catch { missing = true; }
if (!missing) throw new Error('the hook did not hide redis');
console.log('loaded', ${entries.length});`;
  const r = spawnSync(process.execPath, ['--import', noRedis, '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `loaded ${entries.length}`);
});
