/**
 * `jwks-keeper/prometheus`: the cache's counters and gauges, and verification outcomes, on a
 * prom-client `Registry` (`prom-client`, an optional peer dependency).
 *
 * ```ts
 * const metrics = createPrometheusMetrics({ registry: register });
 * metrics.observe(cache, { name: 'auth0' });
 * const verifier = metrics.instrumentVerifier(createVerifier({ ... keys: cache }), { name: 'auth0' });
 * ```
 *
 * Cache metrics are read from `stats()` when the registry is scraped; verifications are a
 * counter incremented by the wrapped verifier. Names are those of {@link METRICS}, the same
 * as the sidecar's `GET /metrics` and an OpenTelemetry → Prometheus pipeline.
 *
 * @packageDocumentation
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { JwksCache, Verifier } from '../index.js';
import { CACHE_LABEL, METRICS, instrumentVerifier as wrap, readCache } from './names.js';
import type { MetricKey } from './names.js';

export { METRICS, CACHE_LABEL } from './names.js';
export type { MetricDefinition, MetricKey, VerifyOutcome } from './names.js';

/** Options of {@link PrometheusMetrics.observe} and {@link PrometheusMetrics.instrumentVerifier}. */
export interface ObserveOptions {
  /** Value of the `cache` label on every series. Default: the cache's JWKS URL. */
  name?: string;
}

/** Options of {@link createPrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Registry to register on. Default: a new `Registry` (read it from the result's `registry`). */
  registry?: Registry;
  /** Wall clock for `jwks_keeper_staleness_seconds`, ms since epoch. Default: `Date.now`. */
  now?: () => number;
}

/** What {@link createPrometheusMetrics} returns. */
export interface PrometheusMetrics {
  /** The registry the metrics are on. */
  readonly registry: Registry;
  /** Report `cache` on every scrape until the returned function is called (call it when you close the cache). */
  observe(cache: JwksCache, options?: ObserveOptions): () => void;
  /** A verifier that counts each outcome in `jwks_keeper_verifications_total`; otherwise identical to `verifier`. */
  instrumentVerifier(verifier: Verifier, options?: ObserveOptions): Verifier;
  /** Remove every jwks-keeper metric from the registry. */
  shutdown(): void;
}

/** Register the shared metrics on a registry. Create one per registry and observe any number of caches. */
export function createPrometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = options.registry ?? new Registry();
  const now = options.now ?? Date.now;
  const caches = new Map<JwksCache, string>();
  const pulled = new Map<MetricKey, Counter | Gauge>();
  // each metric reads the caches when scraped (stats() is a few counters: cheap)
  const rows = (): [string, ReturnType<typeof readCache>][] => {
    const t = now();
    return [...caches].map(([c, name]) => [name, readCache(c, t)]);
  };
  for (const [key, d] of Object.entries(METRICS) as [MetricKey, (typeof METRICS)[MetricKey]][]) {
    if (key === 'verifications') continue;
    const labelNames = [CACHE_LABEL, ...d.labels];
    const fill = (m: Counter | Gauge): void => {
      m.reset();
      for (const [name, samples] of rows()) {
        for (const s of samples[key] ?? []) {
          if (m instanceof Counter) m.inc({ [CACHE_LABEL]: name, ...s.labels }, s.value);
          else m.set({ [CACHE_LABEL]: name, ...s.labels }, s.value);
        }
      }
    };
    const m =
      d.kind === 'counter'
        ? new Counter({ name: d.promName, help: d.description, labelNames, registers: [registry], collect() { fill(this); } })
        : new Gauge({ name: d.promName, help: d.description, labelNames, registers: [registry], collect() { fill(this); } });
    pulled.set(key, m);
  }
  const verifications = new Counter({
    name: METRICS.verifications.promName,
    help: METRICS.verifications.description,
    labelNames: [CACHE_LABEL, ...METRICS.verifications.labels],
    registers: [registry],
  });
  return {
    registry,
    observe(cache, o = {}) {
      caches.set(cache, o.name ?? cache.jwksUri);
      return () => {
        caches.delete(cache);
      };
    },
    instrumentVerifier(verifier, o = {}) {
      const name = o.name ?? verifier.keys.jwksUri;
      return wrap(verifier, (r) => verifications.inc({ [CACHE_LABEL]: name, outcome: r.outcome, code: r.code }));
    },
    shutdown() {
      for (const d of Object.values(METRICS)) registry.removeSingleMetric(d.promName);
      caches.clear();
    },
  };
}
