/** Cross-option rule: a custom budget replaces the default bucket, so unknownKid.burst (which configures only that bucket) is refused with it. */
import { test } from 'node:test';
import { createJwksCache } from '../../../src/index.js';
import type { RefreshBudget } from '../../../src/index.js';
import { URI, refused } from './helpers.js';

const budget: RefreshBudget = { tryTake: () => ({ granted: true }), readyAt: (now) => now };

test('budget with unknownKid.burst is refused; a budget without tryTake/readyAt is refused; budget alone (with cooldownMs) is accepted', async () => {
  refused(() => createJwksCache({ jwksUri: URI, budget, unknownKid: { burst: 3 } }));
  refused(() => createJwksCache({ jwksUri: URI, budget: { tryTake: budget.tryTake } as RefreshBudget }));
  refused(() => createJwksCache({ jwksUri: URI, sharedLayer: {} as never }));
  await createJwksCache({ jwksUri: URI, budget, unknownKid: { cooldownMs: 5_000 } }).close();
});
