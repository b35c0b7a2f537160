/**
 * The verifier's port into a cache: the hooks the verifier needs (synchronous lookup,
 * lookups through the unknown-kid gate, first-use tracking, pre-gate counting, the signature
 * recheck) that must not be on the public `JwksCache` type, where any caller could fire fake
 * `key.firstUsed` events or inflate stats.
 *
 * A module-private WeakMap from cache object to port: only code that imports this module
 * (the cache and the verifier; never re-exported from the package entry points) can reach a
 * port, and a cache that is garbage-collected takes its port with it.
 */
import type { JwksCache, LookupContext, ResolvedKeys } from './api.js';
import { ConfigError } from '../errors.js';
import type { SupportedAlg, ValidatedKey } from '../jwks/validate.js';
import type { Clock } from '../runtime/clock.js';

/** What the verifier may do with a cache. @internal */
export interface VerifierPort {
  /** The cache's clock: the verifier's claim clock unless it is given its own. */
  readonly clock: Clock;
  /**
   * Synchronous hot-path lookup: the candidates for `kid` + `alg` when the current set is
   * usable and has them, else `undefined` (then call `resolve`). Never waits, never fetches.
   */
  peek(kid: string | undefined, alg: SupportedAlg): ResolvedKeys | undefined;
  /** Every candidate key for `kid` + `alg`, through the unknown-kid gate when the kid is unknown. */
  resolve(kid: string | undefined, alg: SupportedAlg, ctx?: LookupContext): Promise<ResolvedKeys>;
  /** Record that a key verified a token (drives `key.firstUsed`). */
  markUsed(key: ValidatedKey, verified: boolean): void;
  /** Count a token refused by a cheap pre-check before any lookup (`pregate-reject`). */
  notePregateReject(kid: string | undefined, clientId?: string): void;
  /**
   * After a signature failed with every candidate of a known kid: refresh at most once per
   * generation (budgeted) in case the IdP replaced the material under the same kid. Resolves
   * with the kid's keys in the newer set, or `undefined` when no refresh was allowed or the
   * material did not change.
   */
  recheckAfterSignatureFailure(kid: string, alg: SupportedAlg, seenGeneration: number, ctx?: LookupContext): Promise<ResolvedKeys | undefined>;
}

const ports = new WeakMap<object, VerifierPort>();

/** Attach the port of a cache (called once, by the cache's constructor). @internal */
export function attachPort(cache: JwksCache, port: VerifierPort): void {
  ports.set(cache, port);
}

/** The port of a cache created by `createJwksCache`; a `ConfigError` for anything else. @internal */
export function portOf(cache: JwksCache): VerifierPort {
  const port = typeof cache === 'object' && cache !== null ? ports.get(cache) : undefined;
  if (port === undefined) throw new ConfigError('keys must be a cache created by createJwksCache');
  return port;
}
