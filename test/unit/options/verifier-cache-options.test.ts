/** Cross-option rule: cacheOptions configure the cache a verifier creates from jwksUri; with keys they would be silently ignored, so they are refused. */
import { test } from 'node:test';
import { createJwksCache, createVerifier } from '../../../src/index.js';
import { ISS, URI, refused } from './helpers.js';

test('cacheOptions together with keys is refused; with jwksUri it is accepted', async () => {
  const keys = createJwksCache({ jwksUri: URI });
  refused(() => createVerifier({ issuer: ISS, audience: 'api', keys, cacheOptions: { timeoutMs: 1_000 } }));
  await createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI, cacheOptions: { timeoutMs: 1_000 } }).close();
  await keys.close();
});
