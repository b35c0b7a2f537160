/** Cross-option rule: a verifier takes exactly one of jwksUri or keys. */
import { test } from 'node:test';
import { createJwksCache, createVerifier } from '../../../src/index.js';
import { ISS, URI, refused } from './helpers.js';

test('neither or both of jwksUri and keys is refused', async () => {
  refused(() => createVerifier({ issuer: ISS, audience: 'api' }));
  const keys = createJwksCache({ jwksUri: URI });
  refused(() => createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI, keys }));
  await createVerifier({ issuer: ISS, audience: 'api', keys }).close();
  await createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI }).close();
  await keys.close();
});
