/**
 * Cross-option rule: a verifier takes at most one of jwksUri or keys; with neither, the JWKS
 * URL comes from the issuer's discovery document (issue 12: `issuer` alone is enough), which a
 * templated issuer cannot have.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJwksCache, createVerifier } from '../../../src/index.js';
import { ISS, URI, refused } from './helpers.js';

test('both of jwksUri and keys is refused; neither means discovery from the issuer', async () => {
  const keys = createJwksCache({ jwksUri: URI });
  refused(() => createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI, keys }));
  await createVerifier({ issuer: ISS, audience: 'api', keys }).close();
  await createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI }).close();
  const discovered = createVerifier({ issuer: ISS, audience: 'api' });
  assert.equal(discovered.keys.jwksUri, `${ISS.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  await discovered.close();
  refused(() => createVerifier({ issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: 'any', audience: 'api' }));
  await keys.close();
});
