/**
 * One API instance of a multi-process fleet test (run by fleet-harness.ts with `fork`): a
 * verifier on the fake IdP's JWKS URL, in fleet mode on the test's redis-server or as an
 * independent cache. Driven over the IPC channel; every answer is counts, never timings,
 * except the install timestamps used to print broadcast latency.
 */
import { createVerifier, isKeysUnavailable, isTokenInvalid, type Verifier } from '../../src/index.js';
import type { JwksCacheOptions } from '../../src/options.js';
import { attackerToken } from '../helpers/keys.js';
import { ISS, AUD } from '../helpers/keys.js';
import { fleetOption } from './instance-fleet.js';

/** Configuration sent by the parent. */
export interface InstanceConfig {
  index: number;
  jwksUri: string;
  mode: 'fleet' | 'independent';
  redisSocket: string;
  keyPrefix: string;
  secret: string;
  cacheOptions: Omit<JwksCacheOptions, 'jwksUri'>;
}

/** A request from the parent. */
export type InstanceRequest =
  | { id: number; cmd: 'init'; config: InstanceConfig }
  | { id: number; cmd: 'verify'; tokens: string[] }
  | { id: number; cmd: 'flood'; count: number; concurrency: number }
  | { id: number; cmd: 'latency'; tokens: string[] }
  | { id: number; cmd: 'refresh' }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'close' };

/** Outcome counts of a batch of verifications. */
export interface VerifyCounts {
  ok: number;
  invalid: Record<string, number>;
  unavailable: Record<string, number>;
}

let verifier: Verifier | undefined;
let closeFleet: (() => Promise<void>) | undefined;
let index = -1;

function send(msg: unknown): void {
  process.send?.(msg);
}

async function verifyAll(tokens: string[], concurrency: number): Promise<VerifyCounts> {
  const counts: VerifyCounts = { ok: 0, invalid: {}, unavailable: {} };
  let next = 0;
  const worker = async () => {
    while (next < tokens.length) {
      const t = tokens[next++]!;
      try {
        await verifier!.verify(t);
        counts.ok++;
      } catch (err) {
        const bucket = isTokenInvalid(err) ? counts.invalid : isKeysUnavailable(err) ? counts.unavailable : counts.invalid;
        const code = (err as { code?: string }).code ?? 'UNKNOWN';
        bucket[code] = (bucket[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return counts;
}

async function handle(req: InstanceRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'init': {
      // re-entrant: a pool of processes serves several scenarios, each with its own IdP and prefix
      await verifier?.close();
      await closeFleet?.();
      verifier = undefined;
      closeFleet = undefined;
      const c = req.config;
      index = c.index;
      const fleet = c.mode === 'fleet' ? await fleetOption(c) : undefined;
      closeFleet = fleet?.close;
      verifier = createVerifier({ issuer: ISS, audience: AUD, jwksUri: c.jwksUri, cacheOptions: { ...c.cacheOptions, ...fleet?.cacheOptions } });
      verifier.keys.on('keys.changed', (e) => {
        send({ ev: 'keys.changed', index, generation: e.generation, added: e.added, removed: e.removed, at: performance.timeOrigin + performance.now() });
      });
      await verifier.keys.ready();
      return { generation: verifier.keys.stats().generation };
    }
    case 'verify':
      return verifyAll(req.tokens, 16);
    case 'flood': {
      const now = Math.floor(Date.now() / 1000);
      const tokens = Array.from({ length: req.count }, () => attackerToken(`rnd-${index}-${Math.random().toString(36).slice(2)}`, now));
      return verifyAll(tokens, req.concurrency);
    }
    case 'latency': {
      // sequential verifications of cached keys: per-call time in µs (for the benchmark only)
      const times: number[] = [];
      for (const t of req.tokens) {
        const t0 = performance.now();
        await verifier!.verify(t);
        times.push((performance.now() - t0) * 1000);
      }
      times.sort((a, b) => a - b);
      const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? Number.NaN;
      return { p50: q(0.5), p99: q(0.99), count: times.length };
    }
    case 'refresh': {
      const r = await verifier!.keys.refresh();
      return { ok: r.ok, generation: r.generation, changed: r.changed, code: r.error?.code };
    }
    case 'stats':
      return { stats: verifier!.keys.stats(), health: verifier!.keys.health() };
    case 'close':
      await verifier?.close();
      await closeFleet?.();
      setImmediate(() => process.exit(0));
      return {};
  }
}

process.on('message', (req: InstanceRequest) => {
  handle(req).then(
    (result) => send({ id: req.id, ok: true, result }),
    (err: unknown) => send({ id: req.id, ok: false, error: { code: (err as { code?: string }).code, message: String((err as Error)?.message ?? err) } }),
  );
});
process.on('disconnect', () => process.exit(0));
