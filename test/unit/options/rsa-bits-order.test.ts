/** Cross-option rule: minRsaBits ≤ maxRsaBits. */
import { test } from 'node:test';
import { createJwksCache } from '../../../src/index.js';
import { URI, refused } from './helpers.js';

test('minRsaBits > maxRsaBits is refused; equal is accepted', async () => {
  refused(() => createJwksCache({ jwksUri: URI, minRsaBits: 4096, maxRsaBits: 3072 }));
  await createJwksCache({ jwksUri: URI, minRsaBits: 4096, maxRsaBits: 4096 }).close();
});
