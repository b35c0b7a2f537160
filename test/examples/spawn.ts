/**
 * Run an example as a user would (`node --import tsx examples/<name>.ts`), with its
 * configuration in environment variables pointing at a fake IdP on 127.0.0.1.
 */
import { spawn, execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Target } from '../adapters/matrix.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const execFileP = promisify(execFile);

/** Run a script example to completion; resolves with its stdout and stderr. */
export async function runExample(name: string, env: Record<string, string>, args: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return execFileP(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 });
}

/** Start a server example on 127.0.0.1 port 0; resolves once it prints "listening on port N". */
export function startExample(name: string, env: Record<string, string>): Promise<Target & { output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}.ts`], {
    cwd: root,
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: '0', NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        child.stdout.off('data', onData);
        resolve({
          url: `http://127.0.0.1:${m[1]}`,
          output: () => out,
          close: async () => {
            child.kill('SIGTERM');
            await exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => reject(new Error(`example ${name} exited (${code}) before listening:\n${out}`)));
  });
}
