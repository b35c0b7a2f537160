/**
 * Helpers for tests that run the built CLI: an OIDC-ish IdP on 127.0.0.1 (discovery document
 * and JWKS, both answered by a FakeIdp), building dist/ once, spawning the binary and
 * reading its output line by line.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeIdp } from '../helpers/fake-idp.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${root}dist/cli/main.js`;

let built = false;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const stamp = `${root}node_modules/.jwks-keeper-tests-build-stamp`; // outside dist/, so never packed
const fresh = (): boolean => existsSync(stamp) && statSync(stamp).mtimeMs >= newestMtime(`${root}src`) && existsSync(BIN);

/**
 * Build dist/ (the tests run the binary a user would) unless it is newer than every file of
 * src/. Test files run in parallel processes: a lock directory makes one build while the
 * others wait, so no process runs a half-written dist/.
 */
export function buildOnce(): void {
  if (built) return;
  const lock = `${root}node_modules/.jwks-keeper-tests-build-lock`;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (waited > 180_000) rmSync(lock, { recursive: true, force: true }); // a crashed holder
      Atomics.wait(pause, 0, 0, 100);
    }
  }
  try {
    if (!fresh()) {
      execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
      writeFileSync(stamp, String(Date.now()));
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  built = true;
}

/** An IdP serving `/.well-known/openid-configuration` and `/jwks.json` from a FakeIdp. */
export class OidcIdp {
  readonly server: Server;
  readonly sockets = new Set<Socket>();
  base = '';
  /** The issuer the discovery document names (default: `base`). */
  issuerOverride: string | undefined;

  constructor(readonly idp: FakeIdp) {
    this.server = createServer((req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer: this.issuer, jwks_uri: this.jwksUrl, authorization_endpoint: `${this.base}/authorize` }));
        return;
      }
      if (req.url !== '/jwks.json') return void res.writeHead(404).end();
      const inm = req.headers['if-none-match'];
      const a = idp.answer(typeof inm === 'string' ? inm : null);
      if (a === 'refuse') return void req.socket.destroy();
      if (a === 'hang') return;
      res.writeHead(a.status, a.headers);
      res.end(a.status === 304 ? undefined : a.body);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get issuer(): string {
    return this.issuerOverride ?? this.base;
  }

  get jwksUrl(): string {
    return `${this.base}/jwks.json`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the built CLI to completion (asynchronously, so in-process servers keep answering). */
export function run(args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '', ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A long-running CLI process whose stdout is read as lines. */
export class Proc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  #buf = '';

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { cwd: root, env: { ...process.env, ...env } });
    this.child.stdout.on('data', (d: Buffer) => {
      this.#buf += d.toString();
      let i: number;
      while ((i = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolve with the first line (already seen or future) that passes `test`. */
  waitFor(test: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ test, resolve });
      void this.exited.then(() => reject(new Error(`process exited before the line; stderr: ${this.stderr}; stdout: ${this.lines.join('\n')}`)));
    });
  }

  /** Resolve with the parsed JSON line whose `event` (or `msg`) is `name` and that passes `test`. */
  async waitForJson(name: string, test: (o: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    const parse = (l: string): Record<string, unknown> | undefined => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    const line = await this.waitFor((l) => {
      const o = parse(l);
      return o !== undefined && (o.event === name || o.msg === name) && test(o);
    });
    return parse(line)!;
  }

  kill(sig: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
  }
}
