/**
 * README convention: every TypeScript/JavaScript code block in README.md is immediately
 * preceded by `<!-- example: examples/<name>.ts -->` and its content equals that file, so
 * every snippet is type-checked (tsconfig.json includes examples/) and run (run.test.ts).
 * Shell blocks are exempt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './spawn.js';

const CODE = /^```(ts|typescript|tsx|js|javascript|mjs|cjs)\s*$/;
const MARKER = /^<!-- example: (examples\/[\w./-]+\.ts) -->$/;

/** Problems with a README text; `read` returns a file's content or undefined. */
export function checkReadme(text: string, read: (path: string) => string | undefined): { problems: string[]; examples: string[] } {
  const lines = text.split('\n');
  const problems: string[] = [];
  const examples: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('```') || line.trim() === '```') continue;
    let end = i + 1;
    while (end < lines.length && lines[end]!.trim() !== '```') end++;
    if (CODE.test(line)) {
      const marker = MARKER.exec(lines[i - 1] ?? '');
      if (!marker) {
        problems.push(`line ${i + 1}: code block without an <!-- example: examples/<name>.ts --> line right before it`);
      } else {
        const file = marker[1]!;
        examples.push(file);
        const content = read(file);
        const block = lines.slice(i + 1, end).join('\n');
        if (content === undefined) problems.push(`line ${i}: ${file} does not exist`);
        else if (content.replace(/\n$/, '') !== block) problems.push(`line ${i + 1}: block differs from ${file}`);
      }
    }
    i = end;
  }
  return { problems, examples };
}

const readRepo = (p: string) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : undefined);

test('README.md: every TypeScript block is a marked example file, verbatim', () => {
  const { problems, examples } = checkReadme(readFileSync(join(root, 'README.md'), 'utf8'), readRepo);
  assert.deepEqual(problems, []);
  assert.ok(examples.length >= 10, `${examples.length} examples`);
});

test('the checker catches an unmarked block, a missing file and a drifted copy; shell blocks are exempt', () => {
  const files: Record<string, string> = { 'examples/a.ts': 'const a = 1;\n' };
  const read = (p: string) => files[p];
  const ok = '<!-- example: examples/a.ts -->\n```ts\nconst a = 1;\n```\n\n```sh\nnpm test\n```\n';
  assert.deepEqual(checkReadme(ok, read).problems, []);
  assert.equal(checkReadme('text\n```ts\nconst a = 1;\n```\n', read).problems.length, 1);
  assert.equal(checkReadme('<!-- example: examples/b.ts -->\n```ts\nx\n```\n', read).problems.length, 1);
  assert.equal(checkReadme('<!-- example: examples/a.ts -->\n```ts\nconst a = 2;\n```\n', read).problems.length, 1);
  assert.equal(checkReadme('<!-- example: examples/a.ts -->\n\n```ts\nconst a = 1;\n```\n', read).problems.length, 1);
  assert.equal(checkReadme('```js\nx\n```\n', read).problems.length, 1);
});
