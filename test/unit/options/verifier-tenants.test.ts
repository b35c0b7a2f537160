/** Cross-option rule: tenants go with a templated issuer ({tenantid}) and only with one. */
import { test } from 'node:test';
import { createVerifier } from '../../../src/index.js';
import { URI, refused } from './helpers.js';

const TEMPLATE = 'https://login.microsoftonline.com/{tenantid}/v2.0';

test('a templated issuer without tenants, or tenants without a template, is refused', async () => {
  refused(() => createVerifier({ issuer: TEMPLATE, audience: 'api', jwksUri: URI }));
  refused(() => createVerifier({ issuer: 'https://idp.test/', audience: 'api', jwksUri: URI, tenants: ['t1'] }));
  await createVerifier({ issuer: TEMPLATE, audience: 'api', jwksUri: URI, tenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47'] }).close();
  await createVerifier({ issuer: TEMPLATE, audience: 'api', jwksUri: URI, tenants: 'any' }).close();
});
