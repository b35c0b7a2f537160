/** Cross-option rule: backoffInitialMs ≤ backoffMaxMs. */
import { test } from 'node:test';
import { createJwksCache } from '../../../src/index.js';
import { URI, refused } from './helpers.js';

test('backoffInitialMs > backoffMaxMs is refused (given or default max); equal is accepted', async () => {
  refused(() => createJwksCache({ jwksUri: URI, backoffInitialMs: 10_000, backoffMaxMs: 5_000 }));
  refused(() => createJwksCache({ jwksUri: URI, backoffInitialMs: 300_001 }), 'default max 5 min');
  await createJwksCache({ jwksUri: URI, backoffInitialMs: 5_000, backoffMaxMs: 5_000 }).close();
});
