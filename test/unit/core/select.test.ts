/** The one key-selection rule, as a table. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeader, selectKeys } from '../../../src/core/select.js';
import type { SupportedAlg } from '../../../src/jwks/validate.js';
import { jwk, snap } from './fixtures.js';

test('selectKeys: kid + alg → found | kid-required | alg-mismatch | unknown-kid', () => {
  const one = snap(['a']);
  const two = snap(['a', 'b']);
  const dup = snap(['a', { ...jwk('a2'), kid: 'a' }]);
  const rsa = snap([jwk('r', 'RS256')]);
  const cases: [string, ReturnType<typeof snap>, string | undefined, SupportedAlg | undefined, string, number?][] = [
    ['known kid, its alg', two, 'a', 'ES256', 'found', 1],
    ['known kid, other alg', two, 'a', 'RS256', 'alg-mismatch'],
    ['unknown kid', two, 'zz', 'ES256', 'unknown-kid'],
    ['no kid, one usable key', one, undefined, 'ES256', 'found', 1],
    ['no kid, several keys', two, undefined, 'ES256', 'kid-required'],
    ['no kid, no usable key', rsa, undefined, 'ES256', 'kid-required'],
    ['kid-only lookup (alg undefined)', two, 'b', undefined, 'found', 1],
    ['kid-only, no kid, several', two, undefined, undefined, 'kid-required'],
    ['two keys under one kid: both candidates, set order', dup, 'a', 'ES256', 'found', 2],
  ];
  for (const [label, s, kid, alg, kind, n] of cases) {
    const r = selectKeys(s, kid, alg);
    assert.equal(r.kind, kind, label);
    if (r.kind === 'found') assert.equal(r.keys.length, n, label);
  }
});

test('checkHeader: alg first (ALG_NOT_ALLOWED), then kid (KID_INVALID)', () => {
  const allowed = new Set(['ES256']);
  const cases: [unknown, string | undefined][] = [
    [{ alg: 'ES256', kid: 'k' }, undefined],
    [{ alg: 'ES256' }, undefined],
    [{ alg: 'HS256', kid: 'k' }, 'ALG_NOT_ALLOWED'],
    [{ alg: 'HS256', kid: 5 }, 'ALG_NOT_ALLOWED'],
    [{ kid: 'k' }, 'ALG_NOT_ALLOWED'],
    [null, 'ALG_NOT_ALLOWED'],
    [{ alg: 'ES256', kid: '' }, 'KID_INVALID'],
    [{ alg: 'ES256', kid: 'x'.repeat(9) }, 'KID_INVALID'],
    [{ alg: 'ES256', kid: 7 }, 'KID_INVALID'],
  ];
  for (const [h, code] of cases) {
    if (code === undefined) assert.doesNotThrow(() => checkHeader(h as never, allowed, 8));
    else assert.throws(() => checkHeader(h as never, allowed, 8), (e: unknown) => (e as { code?: string }).code === code, JSON.stringify(h));
  }
});
