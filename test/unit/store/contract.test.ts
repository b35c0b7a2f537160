/** The shared-store contract suite (exported from `jwks-keeper/testing`) against the built-in stores. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { memoryStore } from '../../../src/index.js';
import { fileStore } from '../../../src/store/file.js';
import { runSharedStoreContract } from '../../../src/testing/index.js';

runSharedStoreContract('memoryStore', () => memoryStore(), { test, assert });

const dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let i = 0;
runSharedStoreContract('fileStore', () => fileStore(join(dir, String(i++))), { test, assert });

test('contract suite can fail: a store that ignores versions is caught', async () => {
  const failures: string[] = [];
  const cases: Promise<unknown>[] = [];
  const lax = () => {
    const m = new Map<string, { version: number; value: string }>();
    return {
      get: async (k: string) => m.get(k),
      setIfNewer: async (k: string, version: number, value: string) => (m.set(k, { version, value }), true),
    };
  };
  runSharedStoreContract('lax', lax, {
    test: (name, fn) => cases.push(fn().catch(() => failures.push(name))),
    assert,
  });
  await Promise.all(cases);
  assert.ok(failures.some((f) => f.includes('older or equal version is refused')), JSON.stringify(failures));
});
