/** Cross-option rule: minRefreshIntervalMs ≤ maxRefreshIntervalMs. */
import { test } from 'node:test';
import { createJwksCache } from '../../../src/index.js';
import { URI, refused } from './helpers.js';

test('minRefreshIntervalMs > maxRefreshIntervalMs is refused; equal is accepted', async () => {
  refused(() => createJwksCache({ jwksUri: URI, minRefreshIntervalMs: 120_000, maxRefreshIntervalMs: 60_000 }));
  refused(() => createJwksCache({ jwksUri: URI, minRefreshIntervalMs: 3_600_001 }), 'against the default max');
  await createJwksCache({ jwksUri: URI, minRefreshIntervalMs: 60_000, maxRefreshIntervalMs: 60_000 }).close();
});
