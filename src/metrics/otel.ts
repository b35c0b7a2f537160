/**
 * `jwks-keeper/otel`: the cache's counters and gauges, and verification outcomes, on an
 * OpenTelemetry `Meter` (`@opentelemetry/api`, an optional peer dependency).
 *
 * ```ts
 * const m = createOtelMetrics(metrics.getMeter('my-api')); // metrics from @opentelemetry/api
 * m.observe(cache, { name: 'auth0' });
 * const verifier = m.instrumentVerifier(createVerifier({ ... keys: cache }), { name: 'auth0' });
 * ```
 *
 * Cache metrics are observable instruments read from `stats()` at collection time (no cost
 * on the hot path); verifications are a counter incremented by the wrapped verifier.
 *
 * @packageDocumentation
 */
import type { Attributes, BatchObservableResult, Counter, Meter, Observable } from '@opentelemetry/api';
import type { JwksCache, Verifier } from '../index.js';
import { CACHE_LABEL, METRICS, instrumentVerifier as wrap, readCache } from './names.js';
import type { MetricKey } from './names.js';

export { METRICS, CACHE_LABEL } from './names.js';
export type { MetricDefinition, MetricKey, VerifyOutcome } from './names.js';

/** Options of {@link OtelMetrics.observe} and {@link OtelMetrics.instrumentVerifier}. */
export interface ObserveOptions {
  /** Value of the `cache` attribute on every data point. Default: the cache's JWKS URL. */
  name?: string;
}

/** What {@link createOtelMetrics} returns. */
export interface OtelMetrics {
  /** Report `cache` on every collection until the returned function is called (call it when you close the cache). */
  observe(cache: JwksCache, options?: ObserveOptions): () => void;
  /** A verifier that counts each outcome in `jwks_keeper.verifications`; otherwise identical to `verifier`. */
  instrumentVerifier(verifier: Verifier, options?: ObserveOptions): Verifier;
  /** Unregister the collection callback (the instruments stay, as OpenTelemetry has no way to delete them). */
  shutdown(): void;
}

/** Options of {@link createOtelMetrics}. */
export interface OtelMetricsOptions {
  /** Wall clock for `jwks_keeper.staleness`, ms since epoch. Default: `Date.now`. */
  now?: () => number;
}

/** Register the shared metrics on `meter`. Create one per meter and observe any number of caches. */
export function createOtelMetrics(meter: Meter, options: OtelMetricsOptions = {}): OtelMetrics {
  const now = options.now ?? Date.now;
  const caches = new Map<JwksCache, string>();
  const observables = new Map<MetricKey, Observable>();
  for (const [key, d] of Object.entries(METRICS) as [MetricKey, (typeof METRICS)[MetricKey]][]) {
    if (key === 'verifications') continue;
    const opts = { unit: d.unit, description: d.description };
    observables.set(key, d.kind === 'counter' ? meter.createObservableCounter(d.otelName, opts) : meter.createObservableGauge(d.otelName, opts));
  }
  const verifications: Counter = meter.createCounter(METRICS.verifications.otelName, {
    unit: METRICS.verifications.unit,
    description: METRICS.verifications.description,
  });
  const callback = (result: BatchObservableResult): void => {
    const t = now();
    for (const [cache, name] of caches) {
      const samples = readCache(cache, t);
      for (const [key, list] of Object.entries(samples) as [MetricKey, { labels: Attributes; value: number }[]][]) {
        const o = observables.get(key);
        if (!o) continue;
        for (const s of list) result.observe(o, s.value, { [CACHE_LABEL]: name, ...s.labels });
      }
    }
  };
  const list = [...observables.values()];
  meter.addBatchObservableCallback(callback, list);
  return {
    observe(cache, o = {}) {
      caches.set(cache, o.name ?? cache.jwksUri);
      return () => {
        caches.delete(cache);
      };
    },
    instrumentVerifier(verifier, o = {}) {
      const name = o.name ?? verifier.keys.jwksUri;
      return wrap(verifier, (r) => verifications.add(1, { [CACHE_LABEL]: name, outcome: r.outcome, code: r.code }));
    },
    shutdown() {
      meter.removeBatchObservableCallback(callback, list);
      caches.clear();
    },
  };
}
