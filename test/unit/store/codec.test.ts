/** The record codec: authenticated, bound to the URL, versioned; records written before versions existed decode with version = fetchedAt. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { decodeRecord, encodeRecord, persistenceKey } from '../../../src/store/codec.js';

const key = persistenceKey('codec-secret-0123456789abcdef-0123456789');
const NOW = Date.UTC(2026, 0, 1);
const expect = { jwksUri: 'https://idp.test/jwks', nowWall: NOW, maxStaleMs: 86_400_000 };
const base = { jwksUri: 'https://idp.test/jwks', fetchedAt: NOW - 60_000, freshForMs: 600_000, version: NOW - 60_001, validators: { etag: '"x"' }, keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AA' }] };

test('round trip keeps every field, version included', () => {
  const r = decodeRecord(encodeRecord(base, key), key, expect);
  assert.deepEqual(r, base);
});

test('a record without a version (older format writer) decodes with version = fetchedAt', () => {
  const body = JSON.stringify({ jwksUri: base.jwksUri, fetchedAt: base.fetchedAt, freshForMs: base.freshForMs, validators: {}, keys: base.keys });
  const mac = createHmac('sha256', key).update('jwks-keeper/snapshot@1').update('\0').update(body).digest('base64url');
  const r = decodeRecord(JSON.stringify({ format: 'jwks-keeper/snapshot@1', body, mac }), key, expect);
  assert.equal(typeof r === 'object' && r.version, base.fetchedAt);
});

test('refusals: table', () => {
  const good = encodeRecord(base, key);
  const other = persistenceKey('another-secret-0123456789abcdef-012345');
  const rows: [string, unknown, Buffer, typeof expect, string][] = [
    ['not a string', 5, key, expect, 'malformed'],
    ['garbage', '{"x":1}', key, expect, 'malformed'],
    ['other secret', good, other, expect, 'tampered'],
    ['other URL', good, key, { ...expect, jwksUri: 'https://other.test/jwks' }, 'foreign'],
    ['too old', good, key, { ...expect, nowWall: NOW + 86_400_000 + 600_000 }, 'too-old'],
    ['from the future', encodeRecord({ ...base, fetchedAt: NOW + 60_001 }, key), key, expect, 'from-the-future'],
    ['non-finite version', encodeRecord({ ...base, version: Number.NaN }, key), key, expect, 'malformed'],
  ];
  for (const [label, data, k, e, refusal] of rows) assert.equal(decodeRecord(data, k, e), refusal, label);
});
