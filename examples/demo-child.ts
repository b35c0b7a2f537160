/**
 * One library in the demo, in a process of its own: verifies the story's traffic (valid tokens
 * at a steady rate, and the attacker's flood when told), forwards jwks-keeper's events, reports
 * its counters a few times a second, and hands back every valid token's outcome at the end.
 * The demo (examples/demo.ts) conducts: it steers the IdPs and tells each child which key
 * signs and when the flood runs.
 */
import { ADAPTERS, type AdapterId } from '../bench/lib/adapters.js';
import { nowMs, PacedFlood, ValidStream } from '../bench/lib/drivers.js';
import type { IdpEndpoints } from '../bench/lib/idp-client.js';
import { AttackerTokens } from '../bench/lib/keys.js';

export interface DemoStart {
  type: 'start';
  adapter: AdapterId;
  idp: IdpEndpoints;
  pools: Record<string, string[]>;
  overrides: Record<string, unknown>;
  events: boolean;
  validPerSec: number;
  floodConcurrency: number;
  floodPerSec: number;
}

export type DemoCommand =
  | DemoStart
  | { type: 'go' }
  | { type: 'use'; pool: string }
  | { type: 'flood'; on: boolean }
  | { type: 'finish' }
  | { type: 'stop' };

export interface DemoStatus {
  type: 'status';
  ok: number;
  rejected: number;
  attackSent: number;
  attackAccepted: number;
}

/** Every valid token: [sent ms, settled ms (NaN: pending), accepted 1/0]. */
export interface DemoFinal {
  type: 'final';
  valid: [number, number, number][];
  codes: Record<string, number>;
  attackSent: number;
  attackAccepted: number;
}

export type DemoChildMessage = { type: 'ready' } | DemoStatus | DemoFinal | { type: 'event'; name: string; payload: unknown; t: number } | { type: 'error'; message: string };

const send = (m: DemoChildMessage): void => {
  process.send?.(m);
};

let valid: ValidStream | undefined;
let flood: PacedFlood | undefined;
let cfg: DemoStart | undefined;
let origin = nowMs();
let statusTimer: NodeJS.Timeout | undefined;

function status(): DemoStatus {
  const recs = valid?.records ?? [];
  let ok = 0;
  let rejected = 0;
  for (const r of recs) {
    if (Number.isNaN(r.done)) continue;
    if (r.ok) ok++;
    else rejected++;
  }
  return { type: 'status', ok, rejected, attackSent: flood?.stats.sent ?? 0, attackAccepted: flood?.stats.accepted ?? 0 };
}

async function handle(msg: DemoCommand): Promise<void> {
  switch (msg.type) {
    case 'start': {
      cfg = msg;
      const adapter = await ADAPTERS[msg.adapter].create({
        jwksUrl: msg.idp.jwksUrl,
        baseUrl: msg.idp.baseUrl,
        overrides: msg.overrides,
        onEvent: msg.events ? (name, payload) => send({ type: 'event', name, payload, t: nowMs() - origin }) : undefined,
      });
      // warm up: the first token loads the keys (as an application's readiness check would)
      await adapter.verify(msg.pools.k1![0]!);
      valid = new ValidStream(adapter, msg.validPerSec, 0);
      valid.use('k1', msg.pools.k1!);
      flood = new PacedFlood(adapter, new AttackerTokens(), 0, msg.floodConcurrency, msg.floodPerSec);
      send({ type: 'ready' });
      return;
    }
    case 'go': {
      if (!valid || !flood || !cfg) throw new Error('not started');
      origin = nowMs();
      valid = new ValidStream(valid.adapter, cfg.validPerSec, origin);
      valid.use('k1', cfg.pools.k1!);
      flood = new PacedFlood(flood.adapter, flood.tokens, origin, cfg.floodConcurrency, cfg.floodPerSec);
      valid.start();
      statusTimer = setInterval(() => send(status()), 200);
      return;
    }
    case 'use':
      valid?.use(msg.pool, cfg!.pools[msg.pool]!);
      return;
    case 'flood':
      if (msg.on) flood?.start();
      else flood?.stop();
      return;
    case 'finish': {
      valid?.stop();
      flood?.stop();
      await Promise.all([valid?.drain(12_000), flood?.drain(12_000)]);
      if (statusTimer) clearInterval(statusTimer);
      send(status());
      const codes: Record<string, number> = {};
      for (const r of valid?.records ?? []) if (!r.ok && r.code) codes[r.code] = (codes[r.code] ?? 0) + 1;
      send({
        type: 'final',
        valid: (valid?.records ?? []).map((r) => [Math.round(r.sent), Math.round(r.done), r.ok ? 1 : 0]),
        codes,
        attackSent: flood?.stats.sent ?? 0,
        attackAccepted: flood?.stats.accepted ?? 0,
      });
      return;
    }
    case 'stop':
      process.exit(0);
  }
}

process.on('message', (msg: DemoCommand) => {
  handle(msg).catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));
