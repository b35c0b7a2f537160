/**
 * docs/migration.md and docs/dropins.md: every TypeScript block is preceded by
 * `<!-- example: examples/<name>.ts -->` and equals that file (which examples.test.ts runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

for (const doc of ['docs/migration.md', 'docs/dropins.md']) {
  test(`${doc}: TypeScript blocks are example files`, () => {
    const text = readFileSync(`${root}${doc}`, 'utf8');
    const blocks = [...text.matchAll(/(?:<!-- example: (examples\/[\w.-]+\.ts) -->\n)?```ts\n([\s\S]*?)```/g)];
    if (doc === 'docs/migration.md') assert.ok(blocks.length >= 6);
    for (const [, file, body] of blocks) {
      assert.ok(file, `a ts block in ${doc} has no example marker`);
      assert.equal(body, readFileSync(`${root}${file}`, 'utf8'), file);
    }
  });
}
