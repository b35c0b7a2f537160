/**
 * Multi-process fleet tests: N child processes (instance.ts, loaded through tsx) each running
 * a verifier, real sockets to the fake IdP (HTTP on 127.0.0.1) and to the test's
 * redis-server (unix socket). The parent mints tokens and counts the IdP's requests.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InstanceConfig, InstanceRequest, VerifyCounts } from './instance.js';

const script = fileURLToPath(new URL('./instance.ts', import.meta.url));

/** A `keys.changed` seen by an instance, with its install time (ms, shared machine clock). */
export interface InstallEvent {
  index: number;
  generation: number;
  added: string[];
  removed: string[];
  at: number;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Cmd<T extends InstanceRequest['cmd']> = Omit<Extract<InstanceRequest, { cmd: T }>, 'id'>;
type AnyCmd = { [K in InstanceRequest['cmd']]: Cmd<K> }[InstanceRequest['cmd']];

/** One child instance. */
export class Instance {
  readonly child: ChildProcess;
  readonly installs: InstallEvent[] = [];
  #seq = 0;
  #pending = new Map<number, Pending>();
  #installListeners = new Set<(e: InstallEvent) => void>();
  #exited = false;

  constructor(readonly index: number) {
    this.child = fork(script, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { id?: number; ok?: boolean; result?: unknown; error?: { code?: string; message: string }; ev?: string } & Partial<InstallEvent>) => {
      if (m.ev === 'keys.changed') {
        const e: InstallEvent = { index: m.index!, generation: m.generation!, added: m.added!, removed: m.removed!, at: m.at! };
        this.installs.push(e);
        for (const l of this.#installListeners) l(e);
        return;
      }
      const p = m.id === undefined ? undefined : this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id!);
      if (m.ok) p.resolve(m.result);
      else p.reject(Object.assign(new Error(m.error?.message ?? 'instance error'), { code: m.error?.code }));
    });
    this.child.on('exit', () => {
      this.#exited = true;
      for (const p of this.#pending.values()) p.reject(new Error(`instance ${index} exited`));
      this.#pending.clear();
    });
  }

  #call<T>(req: AnyCmd): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(`instance ${this.index} exited`));
    const id = ++this.#seq;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ ...req, id } as InstanceRequest);
    });
  }

  init(config: InstanceConfig): Promise<{ generation: number }> {
    return this.#call({ cmd: 'init', config } satisfies Cmd<'init'>);
  }

  verify(tokens: string[]): Promise<VerifyCounts> {
    return this.#call({ cmd: 'verify', tokens } satisfies Cmd<'verify'>);
  }

  flood(count: number, concurrency = 64): Promise<VerifyCounts> {
    return this.#call({ cmd: 'flood', count, concurrency } satisfies Cmd<'flood'>);
  }

  latency(tokens: string[]): Promise<{ p50: number; p99: number; count: number }> {
    return this.#call({ cmd: 'latency', tokens } satisfies Cmd<'latency'>);
  }

  refresh(): Promise<{ ok: boolean; generation: number; changed: boolean; code: string | undefined }> {
    return this.#call({ cmd: 'refresh' } satisfies Cmd<'refresh'>);
  }

  stats(): Promise<{ stats: Record<string, unknown>; health: { state: string; reasons: string[] } }> {
    return this.#call({ cmd: 'stats' } satisfies Cmd<'stats'>);
  }

  /** Resolve on the first install with `generation >= g` (or one already seen). */
  installed(g: number): Promise<InstallEvent> {
    const seen = this.installs.find((e) => e.generation >= g);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const l = (e: InstallEvent) => {
        if (e.generation < g) return;
        this.#installListeners.delete(l);
        resolve(e);
      };
      this.#installListeners.add(l);
    });
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.#call({ cmd: 'close' } satisfies Cmd<'close'>).catch(() => undefined);
    await exited;
  }

  kill(): void {
    if (!this.#exited) this.child.kill('SIGKILL');
  }
}

/** Fork `n` instances (not initialised). */
export function spawnInstances(n: number): Instance[] {
  return Array.from({ length: n }, (_, i) => new Instance(i));
}

/** (Re)initialise instances all at once (their first loads race); forgets earlier installs. */
export async function initAll(instances: readonly Instance[], config: (index: number) => InstanceConfig): Promise<void> {
  for (const i of instances) i.installs.length = 0;
  await Promise.all(instances.map((inst) => inst.init(config(inst.index))));
}

/** Start `n` instances and initialise them all at once (their first loads race). */
export async function startFleet(n: number, config: (index: number) => InstanceConfig): Promise<Instance[]> {
  const instances = spawnInstances(n);
  try {
    await initAll(instances, config);
  } catch (err) {
    for (const i of instances) i.kill();
    throw err;
  }
  return instances;
}

/** Close every instance (kill those that do not answer). */
export async function stopFleet(instances: readonly Instance[]): Promise<void> {
  await Promise.all(instances.map((i) => i.close().catch(() => i.kill())));
}

/** p-quantile (0..1) of a list of numbers. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
}
