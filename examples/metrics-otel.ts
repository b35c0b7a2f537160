import { metrics as otel } from '@opentelemetry/api';
import { createJwksCache, createVerifier } from 'jwks-keeper';
import { createOtelMetrics } from 'jwks-keeper/otel';

// with a MeterProvider registered by your OpenTelemetry SDK setup
const metrics = createOtelMetrics(otel.getMeter('orders-api'));

const keys = createJwksCache({ jwksUri: 'https://tenant.example/.well-known/jwks.json' });
const unobserve = metrics.observe(keys, { name: 'tenant' });
const verifier = metrics.instrumentVerifier(
  createVerifier({ issuer: 'https://tenant.example/', audience: 'api://orders', keys }),
  { name: 'tenant' },
);

// ... serve requests with verifier.verify(token) ...

unobserve();
await verifier.close();
await keys.close();
