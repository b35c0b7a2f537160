/**
 * The metric names shared by `jwks-keeper/otel`, `jwks-keeper/prometheus` and the sidecar's
 * `GET /metrics`, and the reading of a cache's public `stats()` / `snapshot()` / `health()`
 * into samples. No dependency: the OpenTelemetry and prom-client modules and the plain-text
 * renderer all build on this table, so the three can never disagree on a name.
 *
 * Naming: each metric has an OpenTelemetry name (dotted, unit in the `unit` field) and a
 * Prometheus name derived from it by the OpenTelemetry → Prometheus compatibility rules
 * (dots become underscores, the unit becomes a suffix such as `_seconds`, counters end in
 * `_total`, annotation units like `{request}` add nothing). An OpenTelemetry pipeline that
 * exports to Prometheus therefore produces the same series names as prom-client does.
 *
 * @packageDocumentation
 */
import type { JwksCache, UnknownKidDecision, Verifier, VerifyResult, LookupContext } from '../index.js';

/** Kind of a metric: a monotonic count or a value sampled at collection time. */
export type MetricKind = 'counter' | 'gauge';

/** One metric of the shared table. */
export interface MetricDefinition {
  /** OpenTelemetry instrument name, e.g. `jwks_keeper.fetches`. */
  readonly otelName: string;
  /** Prometheus series name, e.g. `jwks_keeper_fetches_total`. */
  readonly promName: string;
  /** `counter` (monotonic) or `gauge`. */
  readonly kind: MetricKind;
  /** UCUM unit or annotation, as OpenTelemetry expects (`s`, `{request}`). */
  readonly unit: string;
  /** One-line help text. */
  readonly description: string;
  /** Label (attribute) names, besides `cache`. */
  readonly labels: readonly string[];
}

/** Every metric key. */
export type MetricKey =
  | 'fetches'
  | 'notModified'
  | 'fetchFailures'
  | 'staleServes'
  | 'staleness'
  | 'keySetAge'
  | 'unknownKid'
  | 'waiters'
  | 'keys'
  | 'generation'
  | 'consecutiveFailures'
  | 'verifications';

/** Label naming the cache on every series. Its value is the name given to `observe()` (default: the JWKS URL). */
export const CACHE_LABEL = 'cache';

/**
 * Prometheus name from an OpenTelemetry name, unit and kind (the compatibility rules for the
 * units this table uses: `s` → `_seconds`, annotations in braces add nothing, counters get `_total`).
 */
export function prometheusName(otelName: string, unit: string, kind: MetricKind): string {
  let name = otelName.replace(/[^a-zA-Z0-9_:]/g, '_');
  const suffix = unit === 's' ? 'seconds' : unit.startsWith('{') || unit === '1' || unit === '' ? '' : unit;
  if (suffix && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  if (kind === 'counter') name += '_total';
  return name;
}

function def(otelName: string, kind: MetricKind, unit: string, description: string, labels: readonly string[] = []): MetricDefinition {
  return Object.freeze({ otelName, promName: prometheusName(otelName, unit, kind), kind, unit, description, labels: Object.freeze([...labels]) });
}

/** The shared metric table. */
export const METRICS: Readonly<Record<MetricKey, MetricDefinition>> = Object.freeze({
  fetches: def('jwks_keeper.fetches', 'counter', '{request}', 'JWKS requests sent to the IdP, whatever their outcome'),
  notModified: def('jwks_keeper.fetch.not_modified', 'counter', '{response}', 'JWKS requests answered 304 Not Modified'),
  fetchFailures: def('jwks_keeper.fetch.failures', 'counter', '{failure}', 'Failed JWKS requests (network, timeout, status, invalid content)'),
  staleServes: def('jwks_keeper.stale_serves', 'counter', '{lookup}', 'Lookups answered with keys past their freshness (last known good)'),
  staleness: def('jwks_keeper.staleness', 'gauge', 's', 'Seconds since the key set stopped being fresh; 0 while fresh'),
  keySetAge: def('jwks_keeper.key_set.age', 'gauge', 's', 'Seconds since the IdP last confirmed the key set (200 or 304)'),
  unknownKid: def('jwks_keeper.unknown_kid.decisions', 'counter', '{decision}', 'Decisions of the unknown-kid defence, by decision', ['decision']),
  waiters: def('jwks_keeper.waiters', 'gauge', '{lookup}', 'Lookups for an unknown kid waiting for a refresh now'),
  keys: def('jwks_keeper.keys', 'gauge', '{key}', 'Keys in the current key set'),
  generation: def('jwks_keeper.generation', 'gauge', '{generation}', 'Generation of the current key set (0 before the first load)'),
  consecutiveFailures: def('jwks_keeper.fetch.consecutive_failures', 'gauge', '{failure}', 'Failed JWKS requests since the last success'),
  verifications: def('jwks_keeper.verifications', 'counter', '{token}', 'Token verifications by outcome (valid, invalid, unavailable) and code (OK or the error code)', ['outcome', 'code']),
});

/** One value with its labels (without `cache`). */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Every unknown-kid decision, in a stable order. */
export const UNKNOWN_KID_DECISIONS: readonly UnknownKidDecision[] = Object.freeze([
  'refetch',
  'joined',
  'waited',
  'negative-hit',
  'pregate-reject',
  'capacity-reject',
  'evicted',
  'wait-timeout',
  'found',
  'not-found',
]);

/**
 * Read one cache into samples for every metric except `verifications` (which is counted by
 * {@link instrumentVerifier}). `staleness` and `keySetAge` are absent before the first load.
 * @param nowMs - wall clock, ms since epoch (for `staleness`). Default: `Date.now()`.
 */
export function readCache(cache: JwksCache, nowMs: number = Date.now()): Partial<Record<MetricKey, Sample[]>> {
  const s = cache.stats();
  const snap = cache.snapshot();
  const health = cache.health();
  const one = (value: number): Sample[] => [{ labels: {}, value }];
  const out: Partial<Record<MetricKey, Sample[]>> = {
    fetches: one(s.fetches),
    notModified: one(s.notModified),
    fetchFailures: one(s.failures),
    staleServes: one(s.staleServes),
    unknownKid: UNKNOWN_KID_DECISIONS.map((decision) => ({ labels: { decision }, value: s.unknownKid[decision] ?? 0 })),
    waiters: one(s.waiters),
    keys: one(s.keyCount),
    generation: one(s.generation),
    consecutiveFailures: one(s.consecutiveFailures),
  };
  if (snap) out.staleness = one(snap.status === 'fresh' ? 0 : Math.max(0, (nowMs - snap.freshUntil) / 1000));
  if (health.lastSuccessAgeMs !== undefined) out.keySetAge = one(health.lastSuccessAgeMs / 1000);
  return out;
}

/** How a verification ended, as counted by {@link instrumentVerifier}. */
export interface VerifyOutcome {
  /** `valid`, `invalid` (answer 401), `unavailable` (answer 503), or `error` for anything else. */
  readonly outcome: 'valid' | 'invalid' | 'unavailable' | 'error';
  /** `OK`, or the error's stable `code` (`UNKNOWN` if it has none). */
  readonly code: string;
}

/** Classify a verification's rejection. */
export function outcomeOf(err: unknown): VerifyOutcome {
  const e = err as { code?: unknown; httpStatus?: unknown } | null;
  const code = e && typeof e.code === 'string' ? e.code : 'UNKNOWN';
  const status = e?.httpStatus;
  return { outcome: status === 401 ? 'invalid' : status === 503 ? 'unavailable' : 'error', code };
}

/**
 * Wrap a verifier so every `verify` reports its outcome to `record`. The returned verifier
 * behaves exactly like the original (same results, same rejections, same `keys` and `close`);
 * a `record` that throws is ignored.
 */
export function instrumentVerifier(verifier: Verifier, record: (o: VerifyOutcome) => void): Verifier {
  const report = (o: VerifyOutcome): void => {
    try {
      record(o);
    } catch {
      // metrics observe, never steer
    }
  };
  const ok: VerifyOutcome = Object.freeze({ outcome: 'valid', code: 'OK' });
  return {
    verify: (async (token: string, ctx?: LookupContext): Promise<VerifyResult> => {
      let r: VerifyResult;
      try {
        r = await verifier.verify(token, ctx);
      } catch (err) {
        report(outcomeOf(err));
        throw err;
      }
      report(ok);
      return r;
    }) as Verifier['verify'],
    get keys() {
      return verifier.keys;
    },
    close: () => verifier.close(),
  };
}
