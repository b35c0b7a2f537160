import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/index.js';

export const URI = 'https://idp.test/jwks';
export const ISS = 'https://idp.test/';

/** Assert `fn` throws a ConfigError (code CONFIG_INVALID). */
export function refused(fn: () => unknown, label?: string): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID', label);
}
