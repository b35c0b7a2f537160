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
    maxStaleMs: o.freshness.maxStaleMs,
    validation,
    clock: o.runtime.clock,
    scheduler: o.runtime.scheduler,
    emitter,
    lockTtlMs: Math.min(o.transport.timeoutMs + LEASE_SLACK_MS, MAX_LEASE_MS),
    maxWaitMs: o.unknownKid.maxWaitMs,
    callTimeoutMs: o.transport.timeoutMs,
    budget: { burst: o.budget.burst, cooldownMs: o.budget.cooldownMs },
  });
}
