/**
 * Child processes: every IdP and every library under test runs in a process of its own,
 * forked with tsx. Every child is tracked and killed (by its pid) when the parent exits, is
 * interrupted or fails; children also exit by themselves when their IPC channel closes.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { IdpControl, type IdpEndpoints } from './idp-client.js';
import type { IdpInit, IdpReady } from './idp-process.js';
import type { KeySpec } from './keys.js';

const live = new Set<ChildProcess>();
let cleanupInstalled = false;

/** Kill every child this process started and still runs. */
export function killChildren(): void {
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

/** Kill children on exit, SIGINT, SIGTERM and uncaught errors. Idempotent. */
export function installCleanup(onSignal?: () => void): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', killChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      killChildren();
      onSignal?.();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Fork a TypeScript module (a path relative to this folder, or a file URL) with tsx, IPC on, stdout/stderr inherited. */
export function forkTs(module: string | URL, opts: { silent?: boolean } = {}): ChildProcess {
  const file = fileURLToPath(typeof module === 'string' ? new URL(module, import.meta.url) : module);
  const child = fork(file, [], {
    execArgv: ['--import', 'tsx'],
    stdio: opts.silent ? ['ignore', 'ignore', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Wait for the first message of `type` from a child; fail if it exits first. */
export function waitForMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], timeoutMs = 60_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMsg = (m: { type?: string }) => {
      if (m && m.type === type) {
        done();
        resolve(m as T);
      } else if (m && m.type === 'error') {
        done();
        reject(new Error(`child failed: ${(m as { message?: string }).message ?? 'unknown error'}`));
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`child exited (code ${code}, signal ${signal}) before sending '${type}'`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${type}'`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

export interface IdpHandle extends IdpEndpoints {
  child: ChildProcess;
  control: IdpControl;
  stop(): Promise<void>;
}

/** Start an IdP process with the given key ring and published kids. */
export async function startIdp(keys: KeySpec[], published: string[], maxAgeSec?: number): Promise<IdpHandle> {
  const child = forkTs('./idp-process.ts');
  const init: IdpInit = { type: 'init', keys, published, maxAgeSec };
  child.send(init);
  const ready = await waitForMessage<IdpReady>(child, 'ready');
  const endpoints: IdpEndpoints = { jwksUrl: ready.jwksUrl, baseUrl: ready.baseUrl, controlUrl: ready.controlUrl };
  return {
    ...endpoints,
    child,
    control: new IdpControl(endpoints),
    stop: () => stopChild(child),
  };
}

/** Ask a child to stop, then kill it if it has not exited within `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    child.send({ type: 'stop' });
  } catch {
    // channel closed
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
