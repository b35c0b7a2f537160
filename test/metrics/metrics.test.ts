/**
 * jwks-keeper/otel and jwks-keeper/prometheus after one scripted run against the fake IdP
 * (ManualClock, in-memory fetch): an OpenTelemetry MeterProvider read by a MetricReader, a
 * prom-client Registry and the dependency-free text renderer all show the same series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, MetricReader, DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { createJwksCache, createVerifier } from '../../src/index.js';
import { ManualClock } from '../../src/testing/index.js';
import { createOtelMetrics } from '../../src/metrics/otel.js';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.js';
import { METRICS, prometheusName } from '../../src/metrics/names.js';
import { renderPrometheusText, VerifyTally } from '../../src/metrics/text.js';
import { instrumentVerifier } from '../../src/metrics/names.js';
import { FakeIdp } from '../helpers/fake-idp.js';
import { AUD, ISS, makeKey, mint } from '../helpers/keys.js';

class TestReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** name{sorted labels} → value, from Prometheus text. */
function parseText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of text.split('\n')) {
    if (!l || l.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
    assert.ok(m, `bad line ${l}`);
    const labels = m[2] ? [...m[2].matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => `${x[1]}=${x[2]}`).sort().join(',') : '';
    out.set(`${m[1]}{${labels}}`, Number(m[3]));
  }
  return out;
}

async function scriptedRun() {
  const clock = new ManualClock();
  const k1 = makeKey('k1');
  const idp = new FakeIdp(k1);
  const cache = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, clock, scheduler: clock });
  const reader = new TestReader();
  const provider = new MeterProvider({ readers: [reader] });
  const otel = createOtelMetrics(provider.getMeter('test'), { now: () => clock.wallNow() });
  const registry = new Registry();
  const prom = createPrometheusMetrics({ registry, now: () => clock.wallNow() });
  const tally = new VerifyTally();
  otel.observe(cache, { name: 'idp' });
  prom.observe(cache, { name: 'idp' });
  const base = createVerifier({ issuer: ISS, audience: AUD, keys: cache, clock });
  const verifier = instrumentVerifier(prom.instrumentVerifier(otel.instrumentVerifier(base, { name: 'idp' }), { name: 'idp' }), (o) => tally.record('idp', o));
  const nowSec = () => Math.floor(clock.wallNow() / 1000);

  await verifier.verify(await mint(k1, { nowSec: nowSec() }));
  const r = await cache.refresh(); // the IdP answers 304 to the conditional request
  assert.equal(r.ok, true);
  await assert.rejects(verifier.verify(await mint(makeKey('ghost'), { nowSec: nowSec() })), { code: 'KID_NOT_FOUND' });
  await assert.rejects(verifier.verify(await mint(k1, { nowSec: nowSec() - 7200, expSec: 60 })), { code: 'TOKEN_EXPIRED' });
  idp.mode = '503';
  await clock.advance(700_000); // past freshness (max-age=600): background refreshes fail, keys are served stale
  await verifier.verify(await mint(k1, { nowSec: nowSec() }));
  return { clock, cache, idp, reader, registry, tally, otel, prom };
}

test('the Prometheus names follow the OpenTelemetry → Prometheus rules and are unique', () => {
  const names = Object.values(METRICS).map((d) => d.promName);
  assert.equal(new Set(names).size, names.length);
  for (const d of Object.values(METRICS)) {
    assert.equal(d.promName, prometheusName(d.otelName, d.unit, d.kind));
    assert.match(d.promName, /^jwks_keeper_[a-z_]+$/);
    if (d.kind === 'counter') assert.match(d.promName, /_total$/);
  }
  assert.equal(METRICS.staleness.promName, 'jwks_keeper_staleness_seconds');
  assert.equal(METRICS.fetches.promName, 'jwks_keeper_fetches_total');
});

test('OpenTelemetry, prom-client and the text renderer show the scripted run', async () => {
  const { clock, cache, idp, reader, registry, tally } = await scriptedRun();
  const stats = cache.stats();
  assert.ok(stats.failures >= 1, 'the outage was counted');
  assert.equal(stats.notModified, 2, 'the manual refresh and the unknown-kid refetch were answered 304');
  assert.equal(idp.notModified, 2);

  // --- OpenTelemetry
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const metrics = new Map<string, MetricData>();
  for (const sm of resourceMetrics.scopeMetrics) for (const m of sm.metrics) metrics.set(m.descriptor.name, m);
  const point = (name: string, attrs: Record<string, string>): number => {
    const m = metrics.get(name);
    assert.ok(m, `missing ${name}`);
    const p = m.dataPoints.find((dp) => Object.entries(attrs).every(([k, v]) => dp.attributes[k] === v));
    assert.ok(p, `missing ${name} ${JSON.stringify(attrs)}`);
    return p.value as number;
  };
  const idpAttr = { cache: 'idp' };
  assert.equal(point('jwks_keeper.fetches', idpAttr), stats.fetches);
  assert.equal(point('jwks_keeper.fetch.not_modified', idpAttr), 2);
  assert.equal(point('jwks_keeper.fetch.failures', idpAttr), stats.failures);
  assert.ok(point('jwks_keeper.staleness', idpAttr) > 0, 'stale after the outage');
  assert.ok(point('jwks_keeper.stale_serves', idpAttr) >= 1);
  assert.equal(point('jwks_keeper.keys', idpAttr), 1);
  assert.equal(point('jwks_keeper.generation', idpAttr), 1);
  assert.equal(point('jwks_keeper.waiters', idpAttr), 0);
  assert.equal(point('jwks_keeper.unknown_kid.decisions', { cache: 'idp', decision: 'refetch' }), stats.unknownKid.refetch);
  assert.ok(stats.unknownKid.refetch >= 1);
  assert.equal(point('jwks_keeper.verifications', { cache: 'idp', outcome: 'valid', code: 'OK' }), 2);
  assert.equal(point('jwks_keeper.verifications', { cache: 'idp', outcome: 'invalid', code: 'KID_NOT_FOUND' }), 1);
  assert.equal(point('jwks_keeper.verifications', { cache: 'idp', outcome: 'invalid', code: 'TOKEN_EXPIRED' }), 1);
  assert.equal(metrics.get('jwks_keeper.staleness')!.descriptor.unit, 's');
  assert.equal(metrics.get('jwks_keeper.fetches')!.dataPointType, DataPointType.SUM);
  assert.equal(metrics.get('jwks_keeper.keys')!.dataPointType, DataPointType.GAUGE);

  // --- prom-client
  const promText = await registry.metrics();
  const prom = parseText(promText);
  assert.equal(prom.get('jwks_keeper_fetches_total{cache=idp}'), stats.fetches);
  assert.equal(prom.get('jwks_keeper_fetch_not_modified_total{cache=idp}'), 2);
  assert.equal(prom.get('jwks_keeper_fetch_failures_total{cache=idp}'), stats.failures);
  assert.ok(prom.get('jwks_keeper_staleness_seconds{cache=idp}')! > 0);
  assert.equal(prom.get('jwks_keeper_keys{cache=idp}'), 1);
  assert.equal(prom.get('jwks_keeper_generation{cache=idp}'), 1);
  assert.equal(prom.get('jwks_keeper_unknown_kid_decisions_total{cache=idp,decision=refetch}'), stats.unknownKid.refetch);
  assert.equal(prom.get('jwks_keeper_verifications_total{cache=idp,code=OK,outcome=valid}'), 2);
  assert.equal(prom.get('jwks_keeper_verifications_total{cache=idp,code=KID_NOT_FOUND,outcome=invalid}'), 1);
  assert.match(promText, /# TYPE jwks_keeper_fetches_total counter/);
  assert.match(promText, /# TYPE jwks_keeper_staleness_seconds gauge/);

  // --- the text renderer: the very same series and values
  const own = parseText(renderPrometheusText([['idp', cache]], tally, clock.wallNow()));
  assert.deepEqual(new Map([...own].sort()), new Map([...prom].sort()));
  await cache.close();
});

test('observe() stops reporting after its unobserve function; shutdown removes the prom metrics', async () => {
  const clock = new ManualClock();
  const idp = new FakeIdp(makeKey('k1'));
  const cache = createJwksCache({ jwksUri: 'https://idp.test/jwks', fetch: idp.fetch, clock, scheduler: clock });
  await cache.ready();
  const prom = createPrometheusMetrics();
  const stop = prom.observe(cache);
  assert.match(await prom.registry.metrics(), /jwks_keeper_keys\{cache="https:\/\/idp.test\/jwks"\} 1/);
  stop();
  assert.doesNotMatch(await prom.registry.metrics(), /jwks_keeper_keys\{/);
  prom.shutdown();
  assert.equal(prom.registry.getMetricsAsArray().length, 0);
  await cache.close();
});

test('instrumentVerifier keeps results and rejections, and a throwing recorder changes nothing', async () => {
  const clock = new ManualClock();
  const k1 = makeKey('k1');
  const idp = new FakeIdp(k1);
  const base = createVerifier({ issuer: ISS, audience: AUD, jwksUri: 'https://idp.test/jwks', cacheOptions: { fetch: idp.fetch, clock, scheduler: clock } });
  const v = instrumentVerifier(base, () => {
    throw new Error('recorder broke');
  });
  assert.equal(v.keys, base.keys);
  const r = await v.verify(await mint(k1, { nowSec: Math.floor(clock.wallNow() / 1000) }));
  assert.equal(r.payload.sub, 'user-1');
  await assert.rejects(v.verify('not-a-token'), { code: 'TOKEN_MALFORMED' });
  await v.close();
  assert.equal(base.keys.health().state, 'failing');
});
