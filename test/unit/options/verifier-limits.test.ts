/** The verifier's numeric limits are validated like the cache's: finite numbers within declared bounds, else ConfigError. */
import { test } from 'node:test';
import { createVerifier } from '../../../src/index.js';
import { VERIFIER_NUMBERS } from '../../../src/options/defaults.js';
import { ISS, URI, refused } from './helpers.js';

const names = ['maxTokenBytes', 'maxHeaderBytes', 'maxKidLength', 'clockToleranceSec', 'maxTokenAgeSec'] as const;

test('each limit: NaN, ±Infinity, strings, below min and above max are refused; the bounds themselves are accepted', async () => {
  for (const name of names) {
    const spec = VERIFIER_NUMBERS[name];
    for (const bad of [Number.NaN, Infinity, -Infinity, '100', spec.min - 1, spec.max + 1, ...(name === 'maxTokenAgeSec' ? [0] : [])]) {
      if (typeof bad === 'number' && Number.isFinite(bad) && bad >= spec.min && bad <= spec.max) continue;
      refused(() => createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI, [name]: bad as number }), `${name} = ${String(bad)}`);
    }
    for (const ok of [spec.min, spec.max]) await createVerifier({ issuer: ISS, audience: 'api', jwksUri: URI, [name]: ok }).close();
  }
});
