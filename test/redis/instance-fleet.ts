/**
 * The fleet option of a multi-process test instance. Until the cache takes a `fleet` option
 * (core integration), fleet mode is refused here and only independent instances run.
 */
import type { JwksCacheOptions } from '../../src/options.js';
import type { InstanceConfig } from './instance.js';

export async function fleetOption(_c: InstanceConfig): Promise<{ cacheOptions: Partial<JwksCacheOptions>; close: () => Promise<void> }> {
  throw new Error('fleet mode needs the cache integration (createJwksCache({ fleet }))');
}
