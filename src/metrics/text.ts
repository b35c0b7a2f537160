/**
 * Prometheus text exposition (format 0.0.4) of the shared metrics, without prom-client: what
 * the sidecar's `GET /metrics` serves. Same names and labels as `jwks-keeper/prometheus`.
 */
import type { JwksCache } from '../index.js';
import type { MetricKey, Sample, VerifyOutcome } from './names.js';
import { CACHE_LABEL, METRICS, readCache } from './names.js';

/** Counts verification outcomes per cache name, for {@link renderPrometheusText}. */
export class VerifyTally {
  readonly #counts = new Map<string, { name: string; outcome: string; code: string; n: number }>();

  /** Count one outcome for the cache named `name`. */
  record(name: string, o: VerifyOutcome): void {
    const k = `${name}\u0000${o.outcome}\u0000${o.code}`;
    const e = this.#counts.get(k);
    if (e) e.n++;
    else this.#counts.set(k, { name, outcome: o.outcome, code: o.code, n: 1 });
  }

  /** Samples of `jwks_keeper_verifications_total`, with the `cache` label. */
  samples(): Sample[] {
    return [...this.#counts.values()].map((e) => ({ labels: { [CACHE_LABEL]: e.name, outcome: e.outcome, code: e.code }, value: e.n }));
  }
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function line(name: string, labels: Readonly<Record<string, string>>, value: number): string {
  const l = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',');
  const v = Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  return `${name}${l ? `{${l}}` : ''} ${v}`;
}

/**
 * Render every metric for the named caches (and the verification tally, if given).
 * @param nowMs - wall clock for staleness, ms since epoch. Default: `Date.now()`.
 */
export function renderPrometheusText(caches: Iterable<readonly [string, JwksCache]>, tally?: VerifyTally, nowMs: number = Date.now()): string {
  const read = [...caches].map(([name, c]) => [name, readCache(c, nowMs)] as const);
  const out: string[] = [];
  for (const [key, d] of Object.entries(METRICS) as [MetricKey, (typeof METRICS)[MetricKey]][]) {
    out.push(`# HELP ${d.promName} ${escapeHelp(d.description)}`, `# TYPE ${d.promName} ${d.kind}`);
    if (key === 'verifications') {
      for (const s of tally?.samples() ?? []) out.push(line(d.promName, s.labels, s.value));
      continue;
    }
    for (const [name, samples] of read) {
      for (const s of samples[key] ?? []) out.push(line(d.promName, { [CACHE_LABEL]: name, ...s.labels }, s.value));
    }
  }
  return `${out.join('\n')}\n`;
}

/** Content type of {@link renderPrometheusText}'s output. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
