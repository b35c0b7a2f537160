/**
 * `jwks-keeper/redis` is a subpath export with types, `redis` is an optional peer dependency,
 * and the main entry never loads the Redis module (so an application without `redis` works).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

test('only src/redis imports redis, and nothing outside src/redis imports src/redis', () => {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  for (const file of walk(join(root, 'src'))) {
    const rel = file.slice(root.length);
    const text = readFileSync(file, 'utf8');
    const inRedis = rel.startsWith('src/redis/');
    if (!inRedis) {
      assert.doesNotMatch(text, /from ['"](redis|ioredis|@redis\/client)['"]|import\(['"]redis['"]\)/, rel);
      assert.doesNotMatch(text, /from ['"][./]*redis\//, rel);
    } else {
      assert.doesNotMatch(text, /^import [^t][^\n]*from ['"]redis['"]/m, `${rel}: redis is loaded lazily, only for { url }`);
    }
  }
});
