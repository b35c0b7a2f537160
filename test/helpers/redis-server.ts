/**
 * A real `redis-server` (the Debian binary; `.ci/run` installs it) for one test file: its own
 * temporary directory, a unix socket and a TCP port on 127.0.0.1, no persistence. It can be
 * paused (SIGSTOP), resumed, killed and restarted on the same socket and port for fault tests,
 * and it is killed when the test process exits, whatever happens.
 *
 *   const redis = await startRedisServer();
 *   after(() => redis.stop());
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running (or stopped, restartable) redis-server. */
export interface RedisServer {
  /** The unix socket path (node-redis: `createClient({ socket: { path } })`). */
  readonly socketPath: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  /** SIGSTOP: the server keeps its sockets open and answers nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL and wait for the exit: every connection drops, all data is lost. */
  kill(): Promise<void>;
  /** Start again on the same socket and port (after {@link RedisServer.kill}). */
  restart(): Promise<void>;
  /** Kill (resuming first if paused) and remove the directory. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 15_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function launch(dir: string, socketPath: string, port: number): Promise<ChildProcess> {
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--unixsocket', socketPath,
    '--unixsocketperm', '700',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--protected-mode', 'yes',
    '--loglevel', 'notice',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server not ready within ${READY_TIMEOUT_MS} ms:\n${out}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (is it installed? .ci/run installs it): ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Start a redis-server for this test file. */
export async function startRedisServer(): Promise<RedisServer> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'jwks-keeper-redis-'));
  const socketPath = join(dir, 'redis.sock');
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(dir, socketPath, port);
  let stopped = false;
  return {
    socketPath,
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async kill() {
      const c = child;
      child = undefined;
      if (!c) return;
      c.kill('SIGCONT');
      c.kill('SIGKILL');
      await waitExit(c);
    },
    async restart() {
      if (stopped) throw new Error('stopped');
      if (child) throw new Error('still running: kill() first');
      child = await launch(dir, socketPath, port);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const c = child;
      child = undefined;
      if (c) {
        c.kill('SIGCONT');
        c.kill('SIGKILL');
        await waitExit(c);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
