/** Cross-option rule: unknownKid.maxWaitMs ≤ unknownKid.cooldownMs (a waiter must be able to get the next permitted refresh). */
import { test } from 'node:test';
import { createJwksCache } from '../../../src/index.js';
import { URI, refused } from './helpers.js';

test('maxWaitMs > cooldownMs is refused (given or default cooldown); equal and below are accepted', async () => {
  refused(() => createJwksCache({ jwksUri: URI, unknownKid: { cooldownMs: 5_000, maxWaitMs: 5_001 } }));
  refused(() => createJwksCache({ jwksUri: URI, unknownKid: { maxWaitMs: 10_001 } }), 'default cooldown 10 s');
  await createJwksCache({ jwksUri: URI, unknownKid: { cooldownMs: 5_000, maxWaitMs: 5_000 } }).close();
  await createJwksCache({ jwksUri: URI, unknownKid: { cooldownMs: 5_000, maxWaitMs: 0 } }).close();
});
