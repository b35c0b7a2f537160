/**
 * The file store lives at the subpath `jwks-keeper/file-store` so `node:fs` is not in the
 * main entry's import graph; the main entry's `fileSnapshotStore` still works (it loads the
 * subpath on first use).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSnapshotStore as fromMain } from '../../../src/index.js';
import { fileSnapshotStore as fromSubpath } from '../../../src/store/file.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Static imports (`import ... from`, `export ... from`, bare `import '...'`) of a module, resolved; dynamic `import()` excluded. */
async function staticGraph(entry: string): Promise<Set<string>> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.startsWith('/')) continue; // a package or builtin
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'/gms)) {
      const spec = (m[1] ?? m[2])!;
      if (/^\s*(import|export)\s+type\s/.test(m[0])) continue; // erased at compile time
      todo.push(spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : spec);
    }
  }
  return seen;
}

test('node:fs is not in the static import graph of the main entry, and is in the subpath', async () => {
  const main = await staticGraph(join(SRC, 'index.ts'));
  assert.ok(main.has(join(SRC, 'cache.ts')), 'the walker follows the graph');
  assert.deepEqual([...main].filter((m) => m.startsWith('node:fs') || m === 'fs' || m === 'fs/promises'), []);
  const sub = await staticGraph(join(SRC, 'store', 'file.ts'));
  assert.ok(sub.has('node:fs/promises'));
});

for (const [label, make] of [
  ['main entry (lazy)', fromMain],
  ['jwks-keeper/file-store', fromSubpath],
] as const) {
  test(`${label}: a missing file is no snapshot; save then load round-trips`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jwks-keeper-fs-'));
    try {
      const store = make(join(dir, 'a', 'snap'));
      assert.equal(await store.load(), undefined);
      await store.save('record-1');
      assert.equal(await store.load(), 'record-1');
      await store.save('record-2');
      assert.equal(await make(join(dir, 'a', 'snap')).load(), 'record-2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`${label}: an empty path is a ConfigError at once`, () => {
    assert.throws(() => make(''), (e: unknown) => (e as { code?: string }).code === 'CONFIG_INVALID');
  });
}
