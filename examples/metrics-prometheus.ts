import { Registry } from 'prom-client';
import { createJwksCache, createVerifier } from 'jwks-keeper';
import { createPrometheusMetrics } from 'jwks-keeper/prometheus';

const registry = new Registry(); // or prom-client's global `register`
const metrics = createPrometheusMetrics({ registry });

const keys = createJwksCache({ jwksUri: 'https://tenant.example/.well-known/jwks.json' });
metrics.observe(keys, { name: 'tenant' }); // the `cache` label
const verifier = metrics.instrumentVerifier(
  createVerifier({ issuer: 'https://tenant.example/', audience: 'api://orders', keys }),
  { name: 'tenant' },
); // use it like any verifier: outcomes are counted by code

// serve this at GET /metrics
const text = await registry.metrics();
console.log(text.split('\n').filter((l) => l.startsWith('jwks_keeper_keys')).join('\n'));

await verifier.close();
await keys.close();
