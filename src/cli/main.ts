#!/usr/bin/env node
/**
 * `jwks-keeper`: the command-line entry (package.json `bin`). Commands: inspect, verify,
 * watch, demo, serve. Exit codes are {@link EXIT}; see docs/operations.md.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { inspectCommand, INSPECT_HELP } from './inspect.js';
import { verifyCommand, VERIFY_HELP } from './verify.js';
import { watchCommand, WATCH_HELP } from './watch.js';
import { demoCommand, DEMO_HELP } from './demo.js';
import { serveCommand, SERVE_HELP } from '../sidecar/serve.js';
import type { Io } from './output.js';
import { EXIT, UsageError, processIo } from './output.js';

const COMMANDS: Record<string, { run: (args: string[], io: Io) => Promise<number>; help: string; summary: string }> = {
  inspect: { run: inspectCommand, help: INSPECT_HELP, summary: 'discovery, keys, cache headers, 304 support and warnings for an issuer or JWKS URL' },
  verify: { run: verifyCommand, help: VERIFY_HELP, summary: 'verify a token and explain every check' },
  watch: { run: watchCommand, help: WATCH_HELP, summary: 'keep a cache running in the foreground and print refreshes and rotations' },
  demo: { run: demoCommand, help: DEMO_HELP, summary: 'a short offline story: rotation, an unknown-kid flood, an IdP outage' },
  serve: { run: serveCommand, help: SERVE_HELP, summary: 'the sidecar: JWKS mirror, /verify, rotation events, health, metrics' },
};

/** `jwks-keeper --help`. */
export const MAIN_HELP = `Usage: jwks-keeper <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`)
  .join('\n')}

Run 'jwks-keeper <command> --help' for a command's options.
Options: -h, --help (this help), -v, --version.

Exit codes: 0 success, 1 check failed (invalid token, issuer mismatch, no usable key),
2 bad arguments, 3 keys unavailable (IdP unreachable or failing), 70 internal error.
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Run the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[], io: Io = processIo(argv.includes('--no-color'))): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    if (name === 'help' && rest[0] && COMMANDS[rest[0]]) {
      io.out(COMMANDS[rest[0]]!.help);
      return EXIT.OK;
    }
    (name === undefined ? io.err : io.out)(MAIN_HELP);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '-v' || name === '--version') {
    io.out(`${version()}\n`);
    return EXIT.OK;
  }
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!cmd) {
    io.err(`jwks-keeper: unknown command '${name.slice(0, 40)}'. Commands: ${Object.keys(COMMANDS).join(', ')}. See 'jwks-keeper --help'.\n`);
    return EXIT.USAGE;
  }
  try {
    return await cmd.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`jwks-keeper ${name}: ${err.message}\nSee 'jwks-keeper ${name} --help'.\n`);
      return EXIT.USAGE;
    }
    io.err(`jwks-keeper ${name}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT.INTERNAL;
  }
}

function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`jwks-keeper: ${String(err)}\n`);
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
