/**
 * Fleet mode's wiring from the cache's resolved options: the lease covers the budget take,
 * the fetch (`timeoutMs`) and the publish; waits for another instance's record are bounded
 * by the unknown-kid `maxWaitMs`; the fleet budget has the local bucket's parameters.
 */
import type { SafeEmitter } from '../events.js';
import type { ValidateOptions } from '../jwks/validate.js';
import type { ResolvedCacheOptions } from '../options.js';
import { FleetCoordinator } from './coordinator.js';

/** Lease slack beyond `timeoutMs`, ms: the budget take and the publish. */
const LEASE_SLACK_MS = 2_000;
/** Longest lease asked for, ms (a store may refuse longer ones). */
const MAX_LEASE_MS = 60_000;

/** The cache's fleet coordinator, or `undefined` without the `fleet` option. @internal */
export function createFleet(o: ResolvedCacheOptions, validation: ValidateOptions, emitter: SafeEmitter): FleetCoordinator | undefined {
  if (!o.fleet) return undefined;
  return new FleetCoordinator({
    fleet: o.fleet,
    jwksUri: o.jwksUri.href,
    maxStaleMs: o.maxStaleMs,
    validation,
    clock: o.clock,
    scheduler: o.scheduler,
    emitter,
    lockTtlMs: Math.min(o.timeoutMs + LEASE_SLACK_MS, MAX_LEASE_MS),
    maxWaitMs: o.maxWaitMs,
    callTimeoutMs: o.timeoutMs,
    budget: { burst: o.burst, cooldownMs: o.cooldownMs },
  });
}
